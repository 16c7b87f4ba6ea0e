-- The typical collectives' prizes and campaign indicators with what the units merged into them
-- did: 0073 gave a survivor the figures of the units merged into it, dated before each one's
-- merge, but its prizes and its campaigns' indicators were still its own log's alone, so the
-- template's row for a survivor showed the benefit of a merged unit's initiatives beside none
-- of the awards and campaigns of the same years.
SET LOCAL search_path = public;

-- (survivor, a unit merged into it or into one merged into it, the day that unit's own history
-- ends) for each of p_units the caller may read, over the tree as known at p_as_of, of the
-- merges on or before the last day of p_last (0073's, for a list of units): the prizes of
-- those units decided before that day are the survivor's (the caller reads them in the
-- awards' register, within its own reach).
CREATE FUNCTION thidua_report_absorbed(p_units text[], p_first integer, p_last integer,
                                       p_as_of timestamptz)
RETURNS TABLE (unit text, source text, until date)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE asked AS (SELECT least(make_date(p_last, 12, 31), public.thidua_today()) AS day),
    merged AS MATERIALIZED (
        SELECT m.tenant_id, m.parent_id, m.valid_from
          FROM public.thidua_tree_parents(p_as_of) m, asked a
         WHERE m.kind = 'merged' AND m.valid_from <= a.day),
    absorbed (unit, source, until) AS (
        SELECT m.parent_id, m.tenant_id, m.valid_from FROM merged m
        UNION
        SELECT m.parent_id, a.source, least(a.until, m.valid_from)
          FROM absorbed a JOIN merged m ON m.tenant_id = a.unit)
    SELECT a.unit, a.source, max(a.until) FROM absorbed a
     WHERE a.unit = ANY (p_units) AND public.thidua_report_allowed(a.unit, p_first, p_last, NULL)
     GROUP BY a.unit, a.source
$$;
REVOKE ALL ON FUNCTION thidua_report_absorbed(text[], integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_absorbed(text[], integer, integer, timestamptz)
    TO thidua_app;

-- Each unit's campaigns launched in p_first..p_last, with their indicators and how many are met
-- by now (0063's), and those of the units merged into it launched before their merges: the
-- campaign's own figures, read by the survivor's reader as the survivor's history.
CREATE FUNCTION thidua_report_indicators_absorbed(p_units text[], p_first integer,
                                                  p_last integer, p_as_of timestamptz)
RETURNS TABLE (unit text, indicators bigint, met bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH logs AS (
        SELECT u.unit, u.unit AS source, NULL::date AS until
          FROM unnest(p_units) AS u (unit)
         WHERE public.thidua_report_allowed(u.unit, p_first, p_last, NULL)
        UNION ALL
        SELECT a.unit, a.source, a.until
          FROM public.thidua_report_absorbed(p_units, p_first, p_last, p_as_of) a)
    SELECT l.unit, count(*), count(*) FILTER (WHERE i.actual >= i.target)
      FROM logs l
      JOIN public.campaigns c ON c.tenant_id = l.source
      JOIN public.campaign_indicators i ON i.tenant_id = c.tenant_id
                                       AND i.campaign_id = c.campaign_id
     WHERE c.launched_on >= make_date(p_first, 1, 1)
       AND c.launched_on < make_date(p_last + 1, 1, 1)
       AND (l.until IS NULL OR c.launched_on < l.until)
     GROUP BY l.unit
$$;
REVOKE ALL ON FUNCTION thidua_report_indicators_absorbed(text[], integer, integer, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_indicators_absorbed(text[], integer, integer, timestamptz)
    TO thidua_app;

-- 0063's, which counted each unit's own campaigns alone: replaced by the one above.
DROP FUNCTION thidua_report_indicators(text[], integer, integer);
