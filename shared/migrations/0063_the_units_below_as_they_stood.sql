-- The units directly below a unit in a period, as the tree stood (summary.below,
-- services/reporting/schema.py). It listed the units below today, whatever the period or moment
-- asked: in 2024's breakdown a unit that came below in 2025 showed its 2024 figures, counted under
-- another parent, and the children's figures added up to more than the parent's own.
SET LOCAL search_path = public;

-- Each unit that stood directly below p_unit on some day of p_first..p_last, over the tree as the
-- log held it at p_as_of (NULL: now), with the first and the last day of the period it stood
-- below; nothing where the caller may not read p_unit's summary (the callers check each unit's
-- own reach: the reach is today's). A merged unit stands below until its merge (its history
-- counts under its survivor as well, as in every roll-up).
CREATE FUNCTION thidua_report_below(p_unit text, p_first integer, p_last integer,
                                    p_as_of timestamptz, p_most integer)
RETURNS TABLE (unit text, first_day date, last_day date)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.tenant_id,
           min(greatest(p.valid_from, make_date(p_first, 1, 1))),
           max(least(coalesce(p.valid_to, 'infinity'::date), make_date(p_last + 1, 1, 1))) - 1
      FROM public.thidua_tree_parents(p_as_of) p
     WHERE p.parent_id = p_unit AND p.kind = 'child'
       AND p.valid_from < make_date(p_last + 1, 1, 1)
       AND (p.valid_to IS NULL OR p.valid_to > make_date(p_first, 1, 1))
       AND public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of)
     GROUP BY p.tenant_id
     ORDER BY p.tenant_id
     LIMIT p_most
$$;
REVOKE ALL ON FUNCTION thidua_report_below(text, integer, integer, timestamptz, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_below(text, integer, integer, timestamptz, integer)
    TO thidua_app;

-- A unit's former children, as the log held them at a moment, found by their parent.
CREATE INDEX unit_parents_known_parent ON unit_parents_known (parent_id);
