-- The year's figures (0040's thidua_award_year) in one pass over the recipients, joined by hash
-- to their persons' register rows and grouped once by award and person and once by person
-- (grouping sets: the distinct counts without a sort or a materialised step). The join is on a
-- uuid column: casting 20,000 text ids was a fifth of the time. A province's 20,000 recipients:
-- about 80 ms to 50 (tests/perf/bench_awards.py). No recipient in reach: no row at all (0040
-- gave a total of zeros; the caller reads none as zeros).
SET LOCAL search_path = public;

-- A person's text that is no uuid (an event written by hand, a test's "person:x") makes no uuid,
-- never a failed insert: that would stop the projection of its unit at every retry, and this
-- migration on a database holding one.
ALTER TABLE decision_recipients
    ADD COLUMN person_uuid uuid GENERATED ALWAYS AS (
        CASE WHEN person_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
             THEN person_id::uuid END) STORED;

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
         counted AS (
             SELECT r.award, r.subject, r.cash_vnd, r.person_uuid, p.direct_worker,
                    p.woman
               FROM spans s
               JOIN public.decision_recipients r ON r.tenant_id = s.unit
                    AND (s.valid_from IS NULL OR r.decided_on >= s.valid_from)
                    AND (s.valid_to IS NULL OR r.decided_on < s.valid_to)
               -- Each person once, though a transfer may leave a row in two units of the subtree.
               LEFT JOIN (SELECT q.person_id, bool_or(q.direct_worker) AS direct_worker,
                                 bool_or(q.gender = 'female') AS woman
                            FROM public.people q WHERE q.tenant_id IN (SELECT unit FROM below)
                           GROUP BY q.person_id) p
                    ON r.subject = 'person' AND p.person_id = r.person_uuid
              WHERE r.year = p_year AND r.revoked_on IS NULL AND EXISTS (SELECT 1 FROM allowed)
                AND CASE WHEN r.subject = 'person' THEN p.person_id IS NOT NULL
                         ELSE r.unit_id IN (SELECT unit FROM below) END),
         -- Each award's persons, and each person once (the total's counts): no sort.
         grouped AS (
             SELECT c.award, c.subject, c.person_uuid, bool_or(c.direct_worker) AS direct_worker,
                    bool_or(c.woman) AS woman, count(*) AS items, sum(c.cash_vnd) AS cash
               FROM counted c
              GROUP BY GROUPING SETS ((c.award, c.subject, c.person_uuid),
                                      (c.subject, c.person_uuid)))
    SELECT award,
           count(*) FILTER (WHERE subject = 'person'),
           coalesce(sum(items) FILTER (WHERE subject = 'collective'), 0)::bigint,
           coalesce(sum(cash), 0),
           CASE WHEN award IS NULL
                THEN count(*) FILTER (WHERE subject = 'person' AND direct_worker) END,
           CASE WHEN award IS NULL THEN count(*) FILTER (WHERE subject = 'person' AND woman) END
      FROM grouped GROUP BY award
$$;
