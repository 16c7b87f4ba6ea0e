-- Issue 12, finding 7: a registration's own contents (nội dung đặc thù the unit builds itself)
-- in a column of their own, so that `contents` means one thing: what the unit picked from the
-- campaign's contents (services/campaign/projections.py writes both).
--
-- Before this column, interim code kept an own content inside `contents` as {"own": text},
-- after the picked ones. Such rows are split here, each list keeping its order; a database that
-- never ran that code has no object in any `contents` and no row changes.
SET LOCAL search_path = public;

ALTER TABLE campaign_registrations ADD COLUMN own_contents jsonb NOT NULL DEFAULT '[]';

-- `@> '[{}]'`: the array holds at least one object, the only shape an own content had.
UPDATE campaign_registrations r
   SET contents = (SELECT coalesce(jsonb_agg(item ORDER BY n), '[]')
                     FROM jsonb_array_elements(r.contents) WITH ORDINALITY AS x(item, n)
                    WHERE jsonb_typeof(item) <> 'object'),
       own_contents = (SELECT coalesce(jsonb_agg(item -> 'own' ORDER BY n), '[]')
                         FROM jsonb_array_elements(r.contents) WITH ORDINALITY AS x(item, n)
                        WHERE jsonb_typeof(item) = 'object')
 WHERE jsonb_typeof(r.contents) = 'array' AND r.contents @> '[{}]';
