-- The roll-ups of the large subtrees kept ready (services/reporting/rollups.py): which unit and
-- period a keeper reads, so that a user's first read of the union's summary after a rebuild,
-- or after a move of a unit with a history, finds its roll-up kept instead of reading 2.5
-- million rows (5.7 s at 5 million events).
SET LOCAL search_path = public;

-- Each unit with at least rollup_units units below it on p_on (the units whose roll-ups are
-- kept, 0059), largest first, with each period worth keeping: p_on's year and the last, and the
-- periods of the reports asked for that have not ended before last year (2020–2025, 2025–2030).
-- Units and periods only, no figure: granted to the app's role, which reads each as the unit.
CREATE FUNCTION thidua_report_rollups_to_keep(p_on date)
RETURNS TABLE (unit_id text, first_year integer, last_year integer)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH large AS (
        SELECT c.ancestor AS unit, count(*) AS below FROM public.unit_closure c
         WHERE c.valid_from <= p_on AND (c.valid_to IS NULL OR c.valid_to > p_on)
         GROUP BY c.ancestor
        HAVING count(*) >= (SELECT s.value FROM public.report_settings s
                             WHERE s.name = 'rollup_units')),
    this AS (SELECT extract(year FROM p_on)::integer AS y),
    periods AS (
        SELECT y AS first_year, y AS last_year FROM this
        UNION SELECT y - 1, y - 1 FROM this
        UNION SELECT q.first_year, q.last_year FROM public.report_requests q, this
         WHERE q.last_year >= y - 1 AND q.first_year <= y)
    SELECT l.unit, p.first_year, p.last_year FROM large l CROSS JOIN periods p
     ORDER BY l.below DESC, l.unit, p.last_year DESC, p.first_year DESC
$$;
REVOKE ALL ON FUNCTION thidua_report_rollups_to_keep(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_rollups_to_keep(date) TO thidua_app;
