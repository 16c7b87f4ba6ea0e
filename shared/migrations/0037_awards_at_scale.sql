-- Issue 14's benchmark: a proposal of 10,000 nominees, a province's register of 10,000
-- decisions. A recipient's or a nominee's person is joined by its id alone (the key of people
-- is the unit's, then the person's: a join on person_id alone scanned the table per row).
SET LOCAL search_path = public;

CREATE INDEX people_person ON people (person_id);

-- The spans of days over which a unit reads another's decisions, as 0031's policy says: its
-- own always; an ancestor's while it was below that ancestor (published down to it); with a
-- reach below, a descendant's while that unit was below it. A few rows (one a unit and span),
-- joined to the decisions by their unit and day: the policy checks each row on its own, with
-- two probes of the closure (9 µs a row, 90 ms over a province's 10,000 decisions), and a join
-- on these spans reads each unit's rows by its index whatever the statistics say. A change to
-- the decisions' read policy must change this function with it (tests/awards/
-- test_counted_rules.py reads the register and the figures across a scheduled move).
CREATE FUNCTION thidua_decision_spans() RETURNS TABLE (unit text, valid_from date, valid_to date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH me AS (
        SELECT current_setting('thidua.tenant', true) AS unit,
               coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
                   AS below)
    SELECT me.unit, NULL::date, NULL::date FROM me WHERE me.unit IS NOT NULL
    UNION ALL
    SELECT c.ancestor, c.valid_from, c.valid_to FROM public.unit_closure c, me
     WHERE c.descendant = me.unit AND c.depth > 0
    UNION ALL
    SELECT c.descendant, c.valid_from, c.valid_to FROM public.unit_closure c, me
     WHERE c.ancestor = me.unit AND c.depth > 0 AND me.below
$$;
REVOKE ALL ON FUNCTION thidua_decision_spans() FROM PUBLIC;

-- The register's decisions of these units (and year) that the asker reads. The register's
-- pages, counts and sums read through this; the policy stays, the wall behind every other read.
-- Named columns, not the table's row type: a projection's rebuild swaps the table out.
CREATE FUNCTION thidua_readable_decisions(p_units text[], p_year integer)
RETURNS TABLE (tenant_id text, decision_id uuid, year integer, number integer, code text,
               title text, decided_on date, signer text, rule_set_version text,
               base_salary_vnd bigint, recipient_count integer, cash_total_vnd bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.tenant_id, d.decision_id, d.year, d.number, d.code, d.title, d.decided_on,
           d.signer, d.rule_set_version, d.base_salary_vnd, d.recipient_count, d.cash_total_vnd
      FROM public.thidua_decision_spans() s
      JOIN public.decisions d ON d.tenant_id = s.unit
           AND (s.valid_from IS NULL OR d.decided_on >= s.valid_from)
           AND (s.valid_to IS NULL OR d.decided_on < s.valid_to)
     WHERE s.unit = ANY (p_units) AND (p_year IS NULL OR d.year = p_year)
$$;
REVOKE ALL ON FUNCTION thidua_readable_decisions(text[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_readable_decisions(text[], integer) TO thidua_app;

-- The year's figures of a unit and the units below it (issue 14, point 14), over the
-- recipients of the decisions the asker reads (the same spans), for a unit the asker may read
-- (itself, or one below it with a reach below; anything else: no rows counted). Counts only:
-- the people they join are read for their gender and post, never returned.
CREATE FUNCTION thidua_award_year(p_unit text, p_year integer)
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
         given AS (
             SELECT r.award, r.subject, r.cash_vnd, r.person_id, r.unit_id
               FROM readable r
              WHERE (r.subject = 'person') OR (r.unit_id IN (SELECT unit FROM below))),
         -- Each person once, with what the shares count: one pass, not a sort per count.
         persons AS (
             SELECT DISTINCT g.person_id, p.direct_worker, p.gender = 'female' AS woman
               FROM given g JOIN public.people p ON p.person_id = g.person_id::uuid
              WHERE g.subject = 'person' AND p.tenant_id IN (SELECT unit FROM below)),
         counted AS (
             SELECT g.* FROM given g
              WHERE g.subject = 'collective' OR g.person_id IN (SELECT person_id FROM persons))
    SELECT award,
           count(DISTINCT person_id) FILTER (WHERE subject = 'person'),
           count(*) FILTER (WHERE subject = 'collective'),
           coalesce(sum(cash_vnd), 0),
           NULL::bigint, NULL::bigint
      FROM counted GROUP BY award
    UNION ALL
    SELECT NULL,
           (SELECT count(*) FROM persons),
           (SELECT count(*) FROM counted WHERE subject = 'collective'),
           (SELECT coalesce(sum(cash_vnd), 0) FROM counted),
           (SELECT count(*) FROM persons WHERE direct_worker),
           (SELECT count(*) FROM persons WHERE woman)
$$;
REVOKE ALL ON FUNCTION thidua_award_year(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_award_year(text, integer) TO thidua_app;
