-- The five-year terms before last year's kept ready too, back to the earliest year any figure is
-- dated in (thidua_report_rollups_to_keep, 0064's): before, a union-wide first read of a period
-- with a year no kept roll-up enclosed (2018–2019, read in 2026) read every unit's rows, 5–8 s at
-- 5 million events. report_years holds the years the figures' changes are dated in, kept by the
-- projection, so that the keeper asks a table of a few rows, not 5 million changes. The earliest
-- is the union's, not each subtree's: a term a subtree has nothing in costs one read, of nothing.
-- The older terms rank after every other period, so a unit that keeps few periods keeps the
-- recent ones first.
SET LOCAL search_path = public;

-- No runner of the code before this migration writes a change between the copy below and the
-- commit (its year would be left out).
LOCK TABLE report_changes IN SHARE MODE;

-- A rebuild of reporting begun before: its tables are 0066's, without report_years. Begun anew by
-- the next `thidua reports rebuild`.
DELETE FROM projection_versions WHERE name = 'reporting' AND state = 'building';
DROP SCHEMA IF EXISTS thidua_next_reporting CASCADE;

CREATE TABLE report_years (year integer PRIMARY KEY);
ALTER TABLE report_years ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON report_years TO thidua_projector;
CREATE POLICY report_years_projector ON report_years FOR ALL
    TO thidua_projector USING (true) WITH CHECK (true);
INSERT INTO report_years SELECT DISTINCT extract(year FROM day)::integer FROM report_changes;

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
    -- every term from the one enclosing the earliest year dated, up to last year's
    older AS (
        SELECT 5 * k AS first_year, 5 * k + 5 AS last_year
          FROM this t,
               generate_series((SELECT min(r.year) FROM public.report_years r) / 5,
                               (t.y - 1) / 5) AS k
         WHERE 5 * k + 5 < t.y - 1),
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
        SELECT l.unit, l.below, m.first_year, m.last_year, 3 FROM large l, terms m
        UNION
        SELECT l.unit, l.below, o.first_year, o.last_year, 4 FROM large l, older o),
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
