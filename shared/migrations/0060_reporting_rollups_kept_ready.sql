-- The roll-ups of the large subtrees kept ready (services/reporting/rollups.py): which unit and
-- period a keeper reads, so that a user's first read of the union's summary after a rebuild,
-- or after a move of a unit with a history, finds its roll-up kept instead of reading 2.5
-- million rows (5.7 s at 5 million events).
SET LOCAL search_path = public;

-- Each unit with at least rollup_units units below it on p_on (the units whose roll-ups are
-- kept, 0059), largest first, with the periods worth keeping: p_on's year, the last, then the
-- periods of the reports the unit or a unit above it asked for that have not ended before last
-- year (2020–2025, 2025–2030), the latest first. At most half of kept_periods a unit: a unit
-- keeps its kept_periods latest, and a keeper that asked for more would let go at every round
-- what the same round reads next (every period read in full, every round), and push out the
-- periods its users read. Units and periods only, no figure, and only to a session that reads
-- as no unit (the keeper's): a user's session gets nothing.
CREATE FUNCTION thidua_report_rollups_to_keep(p_on date)
RETURNS TABLE (unit_id text, first_year integer, last_year integer)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH large AS (
        SELECT c.ancestor AS unit, count(*) AS below FROM public.unit_closure c
         WHERE coalesce(current_setting('thidua.tenant', true), '') = ''
           AND c.valid_from <= p_on AND (c.valid_to IS NULL OR c.valid_to > p_on)
         GROUP BY c.ancestor
        HAVING count(*) >= (SELECT s.value FROM public.report_settings s
                             WHERE s.name = 'rollup_units')),
    this AS (SELECT extract(year FROM p_on)::integer AS y),
    periods AS (
        SELECT l.unit, l.below, t.y AS first_year, t.y AS last_year, 0 AS rank
          FROM large l, this t
        UNION
        SELECT l.unit, l.below, t.y - 1, t.y - 1, 1 FROM large l, this t
        UNION
        SELECT l.unit, l.below, q.first_year, q.last_year, 2
          FROM large l, this t, public.unit_closure a, public.report_requests q
         WHERE a.descendant = l.unit AND a.valid_from <= p_on
           AND (a.valid_to IS NULL OR a.valid_to > p_on)
           AND q.unit_id = a.ancestor AND q.last_year >= t.y - 1 AND q.first_year <= t.y),
    ranked AS (
        SELECT p.unit, p.below, p.first_year, p.last_year,
               row_number() OVER (PARTITION BY p.unit ORDER BY min(p.rank),
                                       p.last_year DESC, p.first_year DESC) AS n
          FROM periods p GROUP BY p.unit, p.below, p.first_year, p.last_year)
    SELECT r.unit, r.first_year, r.last_year FROM ranked r
     WHERE r.n <= greatest(1, (SELECT s.value FROM public.report_settings s
                                WHERE s.name = 'kept_periods') / 2)
     ORDER BY r.below DESC, r.unit, r.n
$$;
REVOKE ALL ON FUNCTION thidua_report_rollups_to_keep(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_rollups_to_keep(date) TO thidua_app;
