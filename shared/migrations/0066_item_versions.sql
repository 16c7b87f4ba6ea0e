-- The typical individuals and collectives of a period (thidua_report_exemplars, and the prizes of
-- exemplaryUnits) as the log held them at a moment, as every figure already is (0058, 0061).
-- They are read from items, not from changes: an initiative's authors, benefit and places, and
-- whether an award stood. report_items holds each item as it is now; report_item_versions holds
-- every state the initiatives' and the awards' items had, each from the moment the log held it
-- (the known_at of its changes), so a moment's is the latest known by then. Only these two kinds:
-- no other read needs an item's past, and every other kind would be written twice for nothing.
SET LOCAL search_path = public;

CREATE TABLE report_item_versions (
    unit_id  text        NOT NULL,
    item     text        NOT NULL,
    known_at timestamptz NOT NULL,
    day      date,
    figures  jsonb       NOT NULL DEFAULT '[]',
    facts    jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (unit_id, item, known_at)
);
ALTER TABLE report_item_versions ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON report_item_versions TO thidua_projector;
CREATE POLICY report_item_versions_projector ON report_item_versions FOR ALL
    TO thidua_projector USING (true) WITH CHECK (true);

-- What the items are now, from when they were: the states before are not in any table (a
-- `thidua reports rebuild` writes them from the log). An item from before 0058 (no moment) has
-- been known since always, as its changes are.
INSERT INTO report_item_versions (unit_id, item, known_at, day, figures, facts)
SELECT unit_id, item, coalesce(known_at, '-infinity'), day, figures, facts FROM report_items
 WHERE item LIKE 'initiative:%' OR item LIKE 'award:%';

DROP FUNCTION thidua_report_exemplars(text, integer, integer, integer);

-- 0058's, as the log held it at p_as_of (NULL: now): each initiative as it was known then, over
-- the tree as known then (thidua_report_members with p_known), with the same reach as
-- thidua_report_figures at that moment (a report's addressee reads it as sent).
CREATE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
                                        p_limit integer, p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[])
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of)),
    members AS MATERIALIZED (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members(p_unit, p_first, p_last, NULL, p_as_of) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    known AS (
        SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.day, v.figures, v.facts
          FROM members m JOIN public.report_item_versions v ON v.unit_id = m.unit
         WHERE v.item LIKE 'initiative:%' AND v.known_at <= coalesce(p_as_of, 'infinity')
         ORDER BY v.unit_id, v.item, v.known_at DESC),
    recognised AS (
        SELECT k.facts FROM known k JOIN members m ON m.unit = k.unit_id
         WHERE k.figures <> '[]' AND k.facts ? 'authors'
           AND k.day >= make_date(p_first, 1, 1) AND k.day < make_date(p_last + 1, 1, 1)
           AND (m.whole OR m.days @> k.day)),
    top AS (
        SELECT a.person, count(*) AS n, sum((r.facts->>'benefit')::bigint) AS benefit,
               array(SELECT DISTINCT p FROM unnest(array_agg(x.applied)) AS p
                      WHERE p IS NOT NULL ORDER BY p) AS applied
          FROM recognised r
         CROSS JOIN LATERAL jsonb_array_elements_text(r.facts->'authors') AS a (person)
          LEFT JOIN LATERAL (SELECT string_agg(v, '; ') AS applied
                               FROM jsonb_array_elements_text(r.facts->'applied_at') v) x ON true
         GROUP BY a.person
         ORDER BY sum((r.facts->>'benefit')::bigint) DESC, a.person
         LIMIT p_limit)
    SELECT person, n, benefit, applied FROM top
    -- a row of nulls when the caller may read p_unit at all (none: it may not)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM allowed)
$$;
REVOKE ALL ON FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz)
    TO thidua_app;

-- Whether a decision's award to one recipient stood at p_as_of: the log held the decision then,
-- and not the award's revocation. The caller finds the recipients in the awards' read model
-- under its own reach (decision_recipients' policies) and asks only of those; this says nothing
-- of who was awarded.
CREATE FUNCTION thidua_report_award_stood(p_unit text, p_decision uuid, p_item text,
                                          p_as_of timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT v.figures <> '[]' FROM public.report_item_versions v
                      WHERE v.unit_id = p_unit
                        AND v.item = 'award:' || p_decision::text || ':' || p_item
                        AND v.known_at <= p_as_of
                      ORDER BY v.known_at DESC LIMIT 1), false)
$$;
REVOKE ALL ON FUNCTION thidua_report_award_stood(text, uuid, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_award_stood(text, uuid, text, timestamptz)
    TO thidua_app;
