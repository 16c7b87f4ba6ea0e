-- The typical individuals with their initiatives' titles: seed 002's template asks of each
-- "nêu nội dung sáng kiến" beside where applied and the benefit, and the answer had no title.
-- The function's answer gains a column, so it and its wrapper (0071) are made again: 0070's and
-- 0071's otherwise, unchanged.
SET LOCAL search_path = public;

DROP FUNCTION thidua_report_typical_individuals(text, integer, integer, integer, timestamptz);
DROP FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz);

CREATE FUNCTION thidua_report_exemplars(p_unit text, p_first integer, p_last integer,
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
    -- each recognised initiative of the period once for each of its authors
    authored AS MATERIALIZED (
        SELECT a.person, (k.facts->>'benefit')::bigint AS benefit, k.facts->'applied_at' AS places,
               k.facts->>'title' AS title
          FROM known k
         CROSS JOIN LATERAL jsonb_array_elements_text(k.facts->'authors') AS a (person)
         WHERE k.figures <> '[]' AND k.facts ? 'authors'
           AND k.day >= make_date($2, 1, 1) AND k.day < make_date($3 + 1, 1, 1)
           AND (k.whole OR k.days @> k.day)),
    top AS MATERIALIZED (
        SELECT w.person, count(*) AS n, sum(w.benefit) AS benefit
          FROM authored w
         GROUP BY w.person
         ORDER BY sum(w.benefit) DESC, w.person
         LIMIT $4),
    -- an initiative's places as one text ('; ' between them), each such text once an author;
    -- the initiatives' titles, each once
    applied AS (
        SELECT w.person, array_agg(DISTINCT p.applied ORDER BY p.applied)
                             FILTER (WHERE p.applied IS NOT NULL) AS applied,
               array_agg(DISTINCT w.title ORDER BY w.title)
                   FILTER (WHERE w.title IS NOT NULL AND w.title <> '') AS titles
          FROM authored w JOIN top t ON t.person = w.person
         CROSS JOIN LATERAL (SELECT string_agg(v, '; ') AS applied
                               FROM jsonb_array_elements_text(w.places) v) p
         GROUP BY w.person)
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

REVOKE ALL ON FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz)
    FROM PUBLIC;

CREATE FUNCTION thidua_report_typical_individuals(p_unit text, p_first integer, p_last integer,
                                                  p_limit integer,
                                                  p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[],
              titles text[])
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM public.thidua_report_exemplars(p_unit, p_first, p_last, p_limit, p_as_of)
     WHERE public.thidua_report_below_readable()
$$;
REVOKE ALL ON FUNCTION thidua_report_typical_individuals(text, integer, integer, integer,
                                                         timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_typical_individuals(text, integer, integer, integer,
                                                            timestamptz) TO thidua_app;
