-- The year's figures (0037's thidua_award_year), the same counts found with fewer steps per
-- recipient: each person's register row looked up once (not once per award they received),
-- the people of the units below read by their key and matched by hash, and each award's
-- distinct persons found by grouping (a hash) instead of sorting every recipient. A province's
-- 20,000 recipients: 128 ms to about half (tests/perf/bench_awards.py, AWARDS_EXPLAIN=1 shows
-- the plan).
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION thidua_award_year(p_unit text, p_year integer)
RETURNS TABLE (award text, persons bigint, collectives bigint, cash numeric,
               direct_workers bigint, women bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH spans AS (SELECT * FROM public.thidua_decision_spans()),
         allowed AS (  -- the asker itself, or a unit below it now with a reach below
             SELECT 1 WHERE p_unit = current_setting('thidua.tenant', true)
                 OR (coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'),
                              false)
                     AND EXISTS (SELECT 1 FROM public.unit_closure c
                                  WHERE c.ancestor = current_setting('thidua.tenant', true)
                                    AND c.descendant = p_unit AND c.valid_to IS NULL
                                    AND c.valid_from <= public.thidua_today()))),
         below AS (SELECT DISTINCT descendant AS unit FROM public.unit_closure
                    WHERE ancestor = p_unit UNION SELECT p_unit),
         readable AS (
             SELECT r.* FROM spans s
               JOIN public.decision_recipients r ON r.tenant_id = s.unit
                    AND (s.valid_from IS NULL OR r.decided_on >= s.valid_from)
                    AND (s.valid_to IS NULL OR r.decided_on < s.valid_to)
              WHERE r.year = p_year AND r.revoked_on IS NULL AND EXISTS (SELECT 1 FROM allowed)),
         -- A person's id as a uuid: compared byte for byte, where its text sorted by the
         -- collation's rules.
         given AS MATERIALIZED (
             SELECT r.award, r.subject, r.cash_vnd, r.person_id::uuid AS person_id, r.unit_id
               FROM readable r
              WHERE (r.subject = 'person') OR (r.unit_id IN (SELECT unit FROM below))),
         awarded AS MATERIALIZED (  -- each person once
             SELECT DISTINCT g.person_id FROM given g WHERE g.subject = 'person'),
         -- Each person once, with what the shares count: one pass, not a sort per count.
         persons AS MATERIALIZED (
             SELECT DISTINCT a.person_id, p.direct_worker, p.gender = 'female' AS woman
               FROM awarded a JOIN public.people p ON p.person_id = a.person_id
              WHERE p.tenant_id IN (SELECT unit FROM below)),
         counted AS MATERIALIZED (
             SELECT g.* FROM given g
              WHERE g.subject = 'collective' OR g.person_id IN (SELECT person_id FROM persons)),
         -- An award's recipients, each person once (their rows' cash summed): a hash, no sort.
         grouped AS (
             SELECT c.award, c.subject, c.person_id, count(*) AS items, sum(c.cash_vnd) AS cash
               FROM counted c GROUP BY c.award, c.subject, c.person_id)
    SELECT award,
           count(*) FILTER (WHERE subject = 'person'),
           coalesce(sum(items) FILTER (WHERE subject = 'collective'), 0)::bigint,
           coalesce(sum(cash), 0),
           NULL::bigint, NULL::bigint
      FROM grouped GROUP BY award
    UNION ALL
    SELECT NULL,
           (SELECT count(*) FROM persons),
           (SELECT count(*) FROM counted WHERE subject = 'collective'),
           (SELECT coalesce(sum(cash_vnd), 0) FROM counted),
           (SELECT count(*) FROM persons WHERE direct_worker),
           (SELECT count(*) FROM persons WHERE woman)
$$;
