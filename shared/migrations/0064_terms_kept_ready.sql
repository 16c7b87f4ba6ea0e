-- The five-year terms kept ready too (thidua_report_rollups_to_keep, 0060's): the term of this
-- year and of the last (2020–2025 and 2025–2030 in 2026: each 5k to 5k + 5, a boundary year in
-- both), asked for or not. Every year of them, and each term, is then read from a kept roll-up
-- (0062: a period inside a kept one is that roll-up's years): before, the union's 2022 or its
-- 2025–2030 so far was read in full at its first read, 5–8 s at 5 million events, unless a
-- report of an enclosing period had been asked for. They rank after the periods asked for: a
-- unit that keeps few periods keeps this year's and last year's first.
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION thidua_report_rollups_to_keep(p_on date)
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
    terms AS (
        SELECT DISTINCT 5 * k AS first_year, 5 * k + 5 AS last_year
          FROM this t, (VALUES (0), (1)) AS back (n),
               generate_series((t.y - back.n - 5) / 5, (t.y - back.n) / 5) AS k
         WHERE 5 * k <= t.y - back.n AND t.y - back.n <= 5 * k + 5),
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
           AND q.unit_id = a.ancestor AND q.last_year >= t.y - 1 AND q.first_year <= t.y
        UNION
        SELECT l.unit, l.below, m.first_year, m.last_year, 3 FROM large l, terms m),
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
