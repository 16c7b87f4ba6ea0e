-- The typical collectives (exemplaryUnits) with the history of the units merged into them: a
-- merged unit's history stays under the unit that absorbed it, as the summaries count it, but
-- 0068 ranked each unit by its own log's figures alone, so a survivor of a merge showed none of
-- what its merged units did before the merge (0 where its summary said 3.1 billion), and the
-- merged units, gone on the period's last day, were not ranked either.
-- Now each unit ranked counts, beside its own figures, those of each unit merged into it (and
-- into those, in turn) dated before that unit's merge, over the tree as known at p_as_of.
-- Otherwise 0068's, unchanged.
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION thidua_report_ranked_units(p_unit text, p_first integer, p_last integer,
                                                      p_metrics text[], p_limit integer,
                                                      p_as_of timestamptz)
RETURNS TABLE (unit text, rank bigint, metric text, value numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY EXECUTE format($q$
    WITH RECURSIVE asked AS (SELECT least(make_date($3, 12, 31), public.thidua_today()) AS day),
    allowed AS (SELECT 1 WHERE public.thidua_report_allowed($1, $2, $3, NULL)),
    below AS MATERIALIZED (
        SELECT DISTINCT c.descendant AS unit
          FROM public.thidua_tree_closure($6) c, asked a
         WHERE c.ancestor = $1 AND c.descendant <> $1 AND c.valid_from <= a.day
           AND (c.valid_to IS NULL OR c.valid_to > a.day) AND EXISTS (SELECT 1 FROM allowed)
           AND NOT EXISTS (SELECT 1 FROM public.thidua_tree_parents($6) m
                            WHERE m.tenant_id = c.descendant AND m.kind = 'merged'
                              AND m.valid_from <= a.day)),
    -- (survivor, a unit merged into it or into one merged into it, the day that unit's own
    -- history ends): few rows, whatever the subtree's size. A merge after the day asked is not
    -- one yet: the unit stands below on its own then, ranked with its own figures.
    merged AS MATERIALIZED (
        SELECT m.tenant_id, m.parent_id, m.valid_from
          FROM public.thidua_tree_parents($6) m, asked a
         WHERE m.kind = 'merged' AND m.valid_from <= a.day),
    absorbed (unit, source, until) AS (
        SELECT m.parent_id, m.tenant_id, m.valid_from FROM merged m
        UNION
        SELECT m.parent_id, a.source, least(a.until, m.valid_from)
          FROM absorbed a JOIN merged m ON m.tenant_id = a.unit),
    -- each unit below that absorbed others, with their logs and the day each one's ends
    own AS MATERIALIZED (
        SELECT a.unit, a.source, max(a.until) AS until FROM absorbed a
         WHERE a.unit IN (SELECT unit FROM below)
         GROUP BY a.unit, a.source),
    scores AS (
        SELECT c.unit_id AS unit,
               sum(c.delta) FILTER (WHERE c.metric = 'initiative_benefit_vnd') AS benefit,
               sum(c.delta) FILTER (WHERE c.metric = 'initiatives') AS initiatives
          FROM public.report_changes c
         WHERE c.metric IN ('initiatives', 'initiative_benefit_vnd')
           AND c.day >= make_date($2, 1, 1) AND c.day < make_date($3 + 1, 1, 1)
           AND ($6 IS NULL OR c.known_at <= $6) %s
         GROUP BY c.unit_id),
    absorbed_scores AS (
        SELECT o.unit,
               sum(c.delta) FILTER (WHERE c.metric = 'initiative_benefit_vnd') AS benefit,
               sum(c.delta) FILTER (WHERE c.metric = 'initiatives') AS initiatives
          FROM own o JOIN public.report_changes c ON c.unit_id = o.source AND c.day < o.until
         WHERE c.metric IN ('initiatives', 'initiative_benefit_vnd')
           AND c.day >= make_date($2, 1, 1) AND c.day < make_date($3 + 1, 1, 1)
           AND ($6 IS NULL OR c.known_at <= $6)
         GROUP BY o.unit),
    top AS (
        SELECT b.unit, coalesce(s.benefit, 0) + coalesce(x.benefit, 0) AS benefit,
               coalesce(s.initiatives, 0) + coalesce(x.initiatives, 0) AS initiatives
          FROM below b LEFT JOIN scores s ON s.unit = b.unit
          LEFT JOIN absorbed_scores x ON x.unit = b.unit
         ORDER BY 2 DESC, 3 DESC, b.unit COLLATE "C"
         LIMIT $5),
    ranked AS (
        SELECT t.unit, row_number() OVER (ORDER BY t.benefit DESC, t.initiatives DESC,
                                                   t.unit COLLATE "C") AS n
          FROM top t)
    SELECT r.unit, r.n, o.metric, o.value FROM ranked r
      LEFT JOIN LATERAL (
          SELECT c.metric, sum(c.delta) AS value
            FROM (SELECT r.unit AS source, NULL::date AS until
                  UNION ALL
                  SELECT w.source, w.until FROM own w WHERE w.unit = r.unit) w
            JOIN public.report_changes c ON c.unit_id = w.source
           WHERE (w.until IS NULL OR c.day < w.until) AND c.metric = ANY ($4)
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
