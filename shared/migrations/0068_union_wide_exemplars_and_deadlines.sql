-- The typical individuals (thidua_report_exemplars) and the deadline compliance
-- (thidua_report_compliance) of a large subtree in about a second: before, the union's took 2 to
-- 8 s. Two causes, both about the union's 130,000 members:
-- * the planner took a subtree's members for 1,000 rows (a function's estimate), and so probed
--   the items unit by unit, 130,000 times, or joined every member to every item again;
-- * the items of a kind were found among all of a unit's items (pledges and works are most).
-- So the items of the kinds these read have indexes of their own, and a subtree of more than
-- `many_units` units (report_settings) has its members read through a function that tells the
-- planner so (thidua_report_members_many): its plan hashes them. Both functions run the same
-- statement as before either way (0066's), planned for each call with its values (EXECUTE), so a
-- read now (p_as_of NULL) plans the read of the items alone, an asOf that of their versions.
SET LOCAL search_path = public;

-- A rebuild of reporting begun before: its tables have 0067's indexes, not these. Begun anew by
-- the next `thidua reports rebuild`.
DELETE FROM projection_versions WHERE name = 'reporting' AND state = 'building';
DROP SCHEMA IF EXISTS thidua_next_reporting CASCADE;

CREATE INDEX report_items_initiatives ON report_items (unit_id) WHERE item LIKE 'initiative:%';
CREATE INDEX report_items_deadlines ON report_items (unit_id)
    WHERE split_part(item, ':', 1) IN ('campaign', 'review', 'appraisal');
-- the typical collectives' ranking (thidua_report_ranked_units)
CREATE INDEX report_changes_initiatives ON report_changes (unit_id, day)
    INCLUDE (known_at, metric, delta) WHERE metric IN ('initiatives', 'initiative_benefit_vnd');

-- thidua_report_members, for the planner of a statement over a large subtree's members.
CREATE FUNCTION thidua_report_members_many(p_unit text, p_first integer, p_last integer,
                                           p_only text[] DEFAULT NULL,
                                           p_known timestamptz DEFAULT NULL)
RETURNS TABLE (unit text, whole boolean, days datemultirange)
LANGUAGE sql STABLE ROWS 100000
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM public.thidua_report_members(p_unit, p_first, p_last, p_only, p_known)
$$;
REVOKE ALL ON FUNCTION thidua_report_members_many(text, integer, integer, text[], timestamptz)
    FROM PUBLIC;

-- Whether more than many_units units stand below p_unit at some time in p_first..p_last (today's
-- tree: a plan's choice, not a figure), as thidua_report_figures decides (0065).
CREATE FUNCTION thidua_report_many(p_unit text, p_first integer, p_last integer)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH many AS (SELECT s.value FROM public.report_settings s WHERE s.name = 'many_units')
    SELECT count(*) > (SELECT value FROM many) FROM (
        SELECT 1 FROM public.unit_closure c
         WHERE c.ancestor = p_unit AND c.valid_from < make_date(p_last + 1, 1, 1)
           AND (c.valid_to IS NULL OR c.valid_to > make_date(p_first, 1, 1))
         LIMIT (SELECT value FROM many) + 1) x
$$;
REVOKE ALL ON FUNCTION thidua_report_many(text, integer, integer) FROM PUBLIC;

-- p_statement over p_unit's members in p_first..p_last as the planner should see them. The
-- statement names `public.thidua_report_members(` once (tests/reporting/test_large_subtrees.py
-- checks that each one does).
CREATE FUNCTION thidua_report_members_for(p_statement text, p_unit text, p_first integer,
                                          p_last integer)
RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN public.thidua_report_many(p_unit, p_first, p_last)
                THEN replace(p_statement, 'public.thidua_report_members(',
                             'public.thidua_report_members_many(')
                ELSE p_statement END
$$;
REVOKE ALL ON FUNCTION thidua_report_members_for(text, text, integer, integer) FROM PUBLIC;

-- 0066's, planned for each call, over a large subtree's members as such: $1 p_unit, $2 p_first,
-- $3 p_last, $4 p_limit, $5 p_as_of. An initiative carries its member's days from the first join
-- (0066 joined the members again: every member to every initiative, under a wrong estimate).
CREATE OR REPLACE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
                                                   p_limit integer,
                                                   p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[])
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
    known AS (
        SELECT i.day, i.figures, i.facts, m.whole, m.days
          FROM members m JOIN public.report_items i ON i.unit_id = m.unit
         WHERE $5 IS NULL AND i.item LIKE 'initiative:%'
        UNION ALL
        SELECT v.day, v.figures, v.facts, v.whole, v.days FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.day, v.figures, v.facts, m.whole, m.days
              FROM members m JOIN public.report_item_versions v ON v.unit_id = m.unit
             WHERE $5 IS NOT NULL AND v.item LIKE 'initiative:%' AND v.known_at <= $5
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    recognised AS (
        SELECT k.facts FROM known k
         WHERE k.figures <> '[]' AND k.facts ? 'authors'
           AND k.day >= make_date($2, 1, 1) AND k.day < make_date($3 + 1, 1, 1)
           AND (k.whole OR k.days @> k.day)),
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
         LIMIT $4)
    SELECT person, n, benefit, applied FROM top
    -- a row of nulls when the caller may read p_unit at all (none: it may not)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM allowed)
    $q$;
BEGIN
    RETURN QUERY EXECUTE public.thidua_report_members_for(q, p_unit, p_first, p_last)
        USING p_unit, p_first, p_last, p_limit, p_as_of;
END $fn$;

-- 0066's, the same way: $1 p_unit, $2 p_year, $3 p_as_of.
CREATE OR REPLACE FUNCTION thidua_report_compliance(p_unit text, p_year integer,
                                                    p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (kind text, on_time bigint, late bigint, missing bigint, pending bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q constant text := $q$
    WITH allowed AS (
        SELECT 1 WHERE public.thidua_report_allowed($1, $2, $2, $3)),
    asked AS (
        SELECT least((($3 AT TIME ZONE 'UTC') + interval '7 hours')::date,
                     public.thidua_today()) AS today),
    below AS MATERIALIZED (
        SELECT m.unit, m.whole, m.days
          FROM public.thidua_report_members($1, $2, $2, NULL, $3) m
         WHERE EXISTS (SELECT 1 FROM allowed)),
    items AS MATERIALIZED (
        SELECT i.unit_id, i.item, i.day, i.facts
          FROM below b JOIN public.report_items i ON i.unit_id = b.unit
         WHERE $3 IS NULL AND split_part(i.item, ':', 1) IN ('campaign', 'review', 'appraisal')
        UNION ALL
        SELECT * FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.unit_id, v.item, v.day, v.facts
              FROM below b JOIN public.report_item_versions v ON v.unit_id = b.unit
             WHERE $3 IS NOT NULL
               AND split_part(v.item, ':', 1) IN ('campaign', 'review', 'appraisal')
               AND v.known_at <= $3
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    campaigns AS (
        SELECT i.unit_id, substr(i.item, 10) AS campaign, i.facts
          FROM items i JOIN below b ON b.unit = i.unit_id
         WHERE i.item LIKE 'campaign:%' AND i.day IS NOT NULL
           AND extract(year FROM i.day) = $2
           AND (b.whole OR b.days @> i.day)),
    registered AS (
        SELECT r.facts->>'campaign' AS campaign, r.figures, r.facts
          FROM campaigns c JOIN public.report_items r
               ON r.facts->>'campaign' = replace(c.campaign, '-', '') AND r.facts ? 'campaign'
         WHERE $3 IS NULL AND r.item LIKE 'registration:%'
        UNION ALL
        SELECT v.campaign, v.figures, v.facts FROM (
            SELECT DISTINCT ON (v.unit_id, v.item) v.facts->>'campaign' AS campaign, v.figures,
                   v.facts
              FROM campaigns c JOIN public.report_item_versions v
                   ON v.facts->>'campaign' = replace(c.campaign, '-', '') AND v.facts ? 'campaign'
             WHERE $3 IS NOT NULL AND v.item LIKE 'registration:%' AND v.known_at <= $3
             ORDER BY v.unit_id, v.item, v.known_at DESC) v),
    registrations AS (
        SELECT (SELECT count(*) FROM public.thidua_tree_closure($3) k
                 WHERE k.ancestor = c.unit_id AND k.depth = 1
                   AND k.valid_from <= (c.facts->>'due')::date
                   AND (k.valid_to IS NULL OR k.valid_to > (c.facts->>'due')::date)) AS expected,
               (c.facts->>'due')::date AS due,
               count(r.*) FILTER (WHERE r.figures <> '[]' AND r.facts->>'late' = 'false')
                   AS on_time,
               count(r.*) FILTER (WHERE r.figures <> '[]' AND r.facts->>'late' = 'true') AS late
          FROM campaigns c
          LEFT JOIN registered r ON r.campaign = replace(c.campaign, '-', '')
         WHERE c.facts->>'due' IS NOT NULL
         GROUP BY c.unit_id, c.campaign, c.facts),
    phases AS (
        SELECT (p.value #>> '{}')::date + coalesce((c.facts->>'report_days')::int, 0) AS due,
               rv.facts AS review
          FROM campaigns c
          CROSS JOIN LATERAL jsonb_each(coalesce(c.facts->'phases', '{}')) p
          LEFT JOIN items rv ON rv.unit_id = c.unit_id
               AND rv.item = 'review:' || c.campaign || ':' || p.key
         WHERE c.facts->>'report_days' IS NOT NULL),
    appraisals AS (
        SELECT a.facts->>'concluded' AS concluded,
               (pr.facts->'dues'->>split_part(a.item, ':', 3))::date AS due
          FROM items a JOIN below b ON b.unit = a.unit_id
          LEFT JOIN LATERAL (
              SELECT i.facts FROM public.report_items i
               WHERE $3 IS NULL AND i.unit_id = a.facts->>'proposer'
                 AND i.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
              UNION ALL
              SELECT * FROM (
                  SELECT v.facts FROM public.report_item_versions v
                   WHERE $3 IS NOT NULL AND v.unit_id = a.facts->>'proposer'
                     AND v.item = 'proposal:' || (a.facts->>'proposal')::uuid::text
                     AND v.known_at <= $3
                   ORDER BY v.known_at DESC LIMIT 1) v) pr ON true
         WHERE a.item LIKE 'appraisal:%' AND a.day IS NOT NULL
           AND extract(year FROM a.day) = $2
           AND (b.whole OR b.days @> a.day)),
    requested AS (
        SELECT q.unit_id, q.first_year, q.last_year, b.whole, b.days,
               CASE WHEN $3 IS NULL THEN q.due_on
                    ELSE (SELECT (d->>'due')::date FROM jsonb_array_elements(q.dues) d
                           WHERE (d->>'at')::timestamptz <= $3
                           ORDER BY (d->>'at')::timestamptz DESC LIMIT 1) END AS due_on
          FROM below b JOIN public.report_requests q ON q.unit_id = b.unit),
    -- a request not yet asked at the moment has no due day then
    requests AS (
        SELECT q.unit_id, q.due_on, q.first_year, q.last_year FROM requested q
         WHERE extract(year FROM q.due_on) = $2 AND (q.whole OR q.days @> q.due_on)),
    period_reports AS (
        SELECT q.due_on, r.first_late
          FROM requests q
          JOIN public.thidua_tree_closure($3) k ON k.ancestor = q.unit_id AND k.depth = 1
               AND k.valid_from <= q.due_on AND (k.valid_to IS NULL OR k.valid_to > q.due_on)
          LEFT JOIN public.reports r ON r.unit_id = k.descendant AND r.to_unit = q.unit_id
               AND r.first_year = q.first_year AND r.last_year = q.last_year
               AND CASE WHEN $3 IS NULL THEN r.first_sent_on IS NOT NULL
                        ELSE r.first_sent_at <= $3 END)
    SELECT * FROM (
        SELECT 'registrations', coalesce(sum(on_time), 0)::bigint, coalesce(sum(late), 0)::bigint,
               coalesce(sum(greatest(expected - on_time - late, 0))
                        FILTER (WHERE due < (SELECT today FROM asked)), 0)::bigint,
               coalesce(sum(greatest(expected - on_time - late, 0))
                        FILTER (WHERE due >= (SELECT today FROM asked)), 0)::bigint
          FROM registrations
        UNION ALL
        SELECT 'phase_reports',
               count(*) FILTER (WHERE review IS NOT NULL AND review->>'late' = 'false'),
               count(*) FILTER (WHERE review IS NOT NULL AND review->>'late' = 'true'),
               count(*) FILTER (WHERE review IS NULL AND due < (SELECT today FROM asked)),
               count(*) FILTER (WHERE review IS NULL AND due >= (SELECT today FROM asked))
          FROM phases
        UNION ALL
        SELECT 'appraisals',
               count(*) FILTER (WHERE concluded IS NOT NULL
                                  AND (due IS NULL OR concluded::date <= due)),
               count(*) FILTER (WHERE concluded IS NOT NULL AND concluded::date > due),
               count(*) FILTER (WHERE concluded IS NULL AND due < (SELECT today FROM asked)),
               count(*) FILTER (WHERE concluded IS NULL
                                  AND (due IS NULL OR due >= (SELECT today FROM asked)))
          FROM appraisals
        UNION ALL
        SELECT 'period_reports',
               count(*) FILTER (WHERE first_late = false),
               count(*) FILTER (WHERE first_late = true),
               count(*) FILTER (WHERE first_late IS NULL AND due_on < (SELECT today FROM asked)),
               count(*) FILTER (WHERE first_late IS NULL AND due_on >= (SELECT today FROM asked))
          FROM period_reports
    ) x WHERE EXISTS (SELECT 1 FROM allowed)
    $q$;
BEGIN
    RETURN QUERY EXECUTE public.thidua_report_members_for(q, p_unit, p_year, p_year)
        USING p_unit, p_year, p_as_of;
END $fn$;

-- The typical collectives of a period (exemplaryUnits): p_limit units of those below p_unit on
-- the last day of p_last that has passed (thidua_report_units' units, over the tree as known at
-- p_as_of), by their own initiatives' benefit, then their initiatives, then their id (in code
-- point order), each with its own figures of p_metrics; rank 1 first, and a row of nulls when
-- the caller may read p_unit and it or a unit below it stood on that day (none: not found). Before, the application read every unit's
-- figures below (130,000 rows for the union) and ranked them itself. A large subtree's scores
-- are summed over every unit's initiatives of the period at once, then matched to its units (the
-- other way, unit by unit, is 130,000 probes); a small one's, unit by unit.
CREATE FUNCTION thidua_report_ranked_units(p_unit text, p_first integer, p_last integer,
                                           p_metrics text[], p_limit integer,
                                           p_as_of timestamptz)
RETURNS TABLE (unit text, rank bigint, metric text, value numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY EXECUTE format($q$
    WITH asked AS (SELECT least(make_date($3, 12, 31), public.thidua_today()) AS day),
    allowed AS (SELECT 1 WHERE public.thidua_report_allowed($1, $2, $3, NULL)),
    below AS MATERIALIZED (
        SELECT DISTINCT c.descendant AS unit
          FROM public.thidua_tree_closure($6) c, asked a
         WHERE c.ancestor = $1 AND c.descendant <> $1 AND c.valid_from <= a.day
           AND (c.valid_to IS NULL OR c.valid_to > a.day) AND EXISTS (SELECT 1 FROM allowed)
           AND NOT EXISTS (SELECT 1 FROM public.thidua_tree_parents($6) m
                            WHERE m.tenant_id = c.descendant AND m.kind = 'merged'
                              AND m.valid_from <= a.day)),
    scores AS (
        SELECT c.unit_id AS unit,
               sum(c.delta) FILTER (WHERE c.metric = 'initiative_benefit_vnd') AS benefit,
               sum(c.delta) FILTER (WHERE c.metric = 'initiatives') AS initiatives
          FROM public.report_changes c
         WHERE c.metric IN ('initiatives', 'initiative_benefit_vnd')
           AND c.day >= make_date($2, 1, 1) AND c.day < make_date($3 + 1, 1, 1)
           AND ($6 IS NULL OR c.known_at <= $6) %s
         GROUP BY c.unit_id),
    top AS (
        SELECT b.unit, coalesce(s.benefit, 0) AS benefit,
               coalesce(s.initiatives, 0) AS initiatives
          FROM below b LEFT JOIN scores s ON s.unit = b.unit
         ORDER BY 2 DESC, 3 DESC, b.unit COLLATE "C"
         LIMIT $5),
    ranked AS (
        SELECT t.unit, row_number() OVER (ORDER BY t.benefit DESC, t.initiatives DESC,
                                                   t.unit COLLATE "C") AS n
          FROM top t)
    SELECT r.unit, r.n, o.metric, o.value FROM ranked r
      LEFT JOIN LATERAL (
          SELECT c.metric, sum(c.delta) AS value FROM public.report_changes c
           WHERE c.unit_id = r.unit AND c.metric = ANY ($4)
             AND c.day >= make_date($2, 1, 1) AND c.day < make_date($3 + 1, 1, 1)
             AND ($6 IS NULL OR c.known_at <= $6)
           GROUP BY c.metric HAVING sum(c.delta) <> 0) o ON true
    -- a row of nulls when the caller may read p_unit and it or a unit stood below it then
    -- (none: it may not, or nothing stood)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM allowed) AND (
        EXISTS (SELECT 1 FROM below) OR EXISTS (
            SELECT 1 FROM public.thidua_tree_closure($6) c, asked a
             WHERE c.ancestor = $1 AND c.descendant = $1 AND c.valid_from <= a.day
               AND (c.valid_to IS NULL OR c.valid_to > a.day)
               AND NOT EXISTS (SELECT 1 FROM public.thidua_tree_parents($6) m
                                WHERE m.tenant_id = $1 AND m.kind = 'merged'
                                  AND m.valid_from <= a.day)))
    $q$, CASE WHEN public.thidua_report_many(p_unit, p_first, p_last) THEN ''
              ELSE 'AND c.unit_id IN (SELECT unit FROM below)' END)
        USING p_unit, p_first, p_last, p_metrics, p_limit, p_as_of;
END $fn$;
REVOKE ALL ON FUNCTION thidua_report_ranked_units(text, integer, integer, text[], integer,
                                                  timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_ranked_units(text, integer, integer, text[], integer,
                                                     timestamptz) TO thidua_app;
