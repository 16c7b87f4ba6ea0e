-- The typical individuals of a period read from each author's share of the initiatives, kept as
-- changes by day and moment (report_authored), not from the initiatives' items: over the union
-- (261,510 recognised initiatives of 2025-2030 in the bench's 5.1 million events) 0074 read
-- every item's facts, expanded their authors and carried their places and titles through the
-- sum by person: about 0.9 s now, 1.05 s as of a moment (the latest version of each item
-- first). A share is written with the initiative's item, by the rule of figures.authored: one
-- initiative and its benefit for each author who is a person of a register, on its day, while
-- it counts (recognised, not withdrawn); setting it anew takes back what it counted and adds
-- what it counts now, known from the same moment as its figures. So a period's, or a moment's,
-- sums are those the items' states gave; the places and titles are read from the items of the
-- few authors ranked first.
SET LOCAL search_path = public;

-- No runner of the code before this migration writes an initiative's state between the copy
-- below and the commit (a state whose share would be missing).
LOCK TABLE report_item_versions IN SHARE MODE;

-- A rebuild of reporting begun before: its tables are without this one. Begun anew by the next
-- `thidua reports rebuild`.
DELETE FROM projection_checkpoints WHERE name = 'reporting'
   AND version IN (SELECT version FROM projection_versions
                    WHERE name = 'reporting' AND state = 'building');
DELETE FROM projection_versions WHERE name = 'reporting' AND state = 'building';
DROP SCHEMA IF EXISTS thidua_next_reporting CASCADE;

CREATE TABLE report_authored (
    unit_id     text        NOT NULL,
    item        text        NOT NULL,  -- the initiative's: 'initiative:<its stream>'
    person      text        NOT NULL,
    day         date        NOT NULL,
    known_at    timestamptz NOT NULL,
    initiatives bigint      NOT NULL,
    benefit     bigint      NOT NULL
);
ALTER TABLE report_authored ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON report_authored TO thidua_projector;
CREATE POLICY report_authored_projector ON report_authored FOR ALL
    TO thidua_projector USING (true) WITH CHECK (true);

-- Every state an initiative had (0066: each from the moment the log held it), as the change it
-- made to its authors' shares: its own, less the one before it.
WITH states AS (
    SELECT unit_id, item, known_at, day, figures, facts,
           lag(day) OVER w AS day_before, lag(figures) OVER w AS figures_before,
           lag(facts) OVER w AS facts_before
      FROM report_item_versions
     WHERE item LIKE 'initiative:%'
    WINDOW w AS (PARTITION BY unit_id, item ORDER BY known_at))
INSERT INTO report_authored (unit_id, item, person, day, known_at, initiatives, benefit)
SELECT unit_id, item, person, day, known_at, sum(initiatives), sum(benefit)
  FROM (SELECT s.unit_id, s.item, a.person, s.day, s.known_at, 1 AS initiatives,
               coalesce((s.facts->>'benefit')::bigint, 0) AS benefit
          FROM states s
         CROSS JOIN LATERAL jsonb_array_elements_text(
               CASE WHEN jsonb_typeof(s.facts->'authors') = 'array' THEN s.facts->'authors' END)
               AS a (person)
         WHERE s.day IS NOT NULL AND s.figures <> '[]'
        UNION ALL
        SELECT s.unit_id, s.item, a.person, s.day_before, s.known_at, -1,
               -coalesce((s.facts_before->>'benefit')::bigint, 0)
          FROM states s
         CROSS JOIN LATERAL jsonb_array_elements_text(
               CASE WHEN jsonb_typeof(s.facts_before->'authors') = 'array'
                    THEN s.facts_before->'authors' END) AS a (person)
         WHERE s.day_before IS NOT NULL AND s.figures_before <> '[]') c
 GROUP BY unit_id, item, person, day, known_at
HAVING sum(initiatives) <> 0 OR sum(benefit) <> 0;

-- a unit's shares of a period, by day (the sums by person); an author's own, by person (the
-- places and titles of the few ranked first)
CREATE INDEX report_authored_unit ON report_authored (unit_id, day)
    INCLUDE (known_at, person, initiatives, benefit);
CREATE INDEX report_authored_person ON report_authored (person);
ANALYZE report_authored;

-- 0074's, but the sums by person from the shares, and each ranked author's initiatives (those
-- whose shares still count) read as they stood: $1 p_unit, $2 p_first, $3 p_last, $4 p_limit,
-- $5 p_as_of.
CREATE OR REPLACE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
                                                   p_limit integer,
                                                   p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[],
              titles text[])
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q constant text := $q$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed($1, $2, $3, $5)),
    members AS MATERIALIZED (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members($1, $2, $3, NULL, $5) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    -- each author's recognised initiatives of the period, and their benefit, as the log held
    -- them
    top AS MATERIALIZED (
        SELECT a.person, sum(a.initiatives)::bigint AS n, sum(a.benefit) AS benefit
          FROM members m JOIN public.report_authored a ON a.unit_id = m.unit
         WHERE a.day >= make_date($2, 1, 1) AND a.day < make_date($3 + 1, 1, 1)
           AND (m.whole OR m.days @> a.day) AND ($5 IS NULL OR a.known_at <= $5)
         GROUP BY a.person
        HAVING sum(a.initiatives) > 0
         ORDER BY sum(a.benefit) DESC, a.person
         LIMIT $4),
    -- the initiatives of those ranked, found by author, that count for them
    theirs AS (
        SELECT a.person, a.unit_id, a.item
          FROM top t JOIN public.report_authored a ON a.person = t.person
          JOIN members m ON m.unit = a.unit_id
         WHERE a.day >= make_date($2, 1, 1) AND a.day < make_date($3 + 1, 1, 1)
           AND (m.whole OR m.days @> a.day) AND ($5 IS NULL OR a.known_at <= $5)
         GROUP BY a.person, a.unit_id, a.item
        HAVING sum(a.initiatives) > 0),
    -- each as it stood: now, or its latest state known by then
    stood AS (
        SELECT w.person, i.facts
          FROM theirs w JOIN public.report_items i ON i.unit_id = w.unit_id AND i.item = w.item
         WHERE $5 IS NULL
        UNION ALL
        SELECT w.person, v.facts
          FROM theirs w
         CROSS JOIN LATERAL (
               SELECT v.facts FROM public.report_item_versions v
                WHERE v.unit_id = w.unit_id AND v.item = w.item AND v.known_at <= $5
                ORDER BY v.known_at DESC LIMIT 1) v
         WHERE $5 IS NOT NULL),
    -- an initiative's places as one text ('; ' between them), each such text once an author;
    -- the initiatives' titles, each once
    applied AS (
        SELECT s.person, array_agg(DISTINCT p.applied ORDER BY p.applied)
                             FILTER (WHERE p.applied IS NOT NULL) AS applied,
               array_agg(DISTINCT s.facts->>'title' ORDER BY s.facts->>'title')
                   FILTER (WHERE s.facts->>'title' IS NOT NULL AND s.facts->>'title' <> '')
                   AS titles
          FROM stood s
         CROSS JOIN LATERAL (SELECT string_agg(v, '; ') AS applied
                               FROM jsonb_array_elements_text(s.facts->'applied_at') v) p
         GROUP BY s.person)
    SELECT x.person, x.n, x.benefit, x.applied, x.titles FROM (
        SELECT t.person, t.n, t.benefit, coalesce(a.applied, '{}') AS applied,
               coalesce(a.titles, '{}') AS titles
          FROM top t LEFT JOIN applied a ON a.person = t.person
        -- a row of nulls when the caller may read p_unit at all (none: it may not)
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM allowed)) x
     ORDER BY x.person IS NULL, x.benefit DESC, x.person
    $q$;
BEGIN
    RETURN QUERY EXECUTE public.thidua_report_members_for(q, p_unit, p_first, p_last)
        USING p_unit, p_first, p_last, p_limit, p_as_of;
END $fn$;
