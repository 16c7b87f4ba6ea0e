-- A person sent back to a unit they left under the same staff number (A → B → A) is received
-- into their old record there (PersonReturned), so one record may now send a person more than
-- once. Which of its transfers an arrival took is no longer told by the two records' ids alone:
-- an arrival now carries the sending record's version (the version of its PersonTransferred),
-- read from the row the receiver takes, and each arrival is kept as a row of its own. The
-- runner projects each unit's log on its own, in either order (a rebuild), so each side finds
-- the other here: the transfer, the arrival that took that very transfer; the arrival, the
-- record still standing at that transfer.
SET LOCAL search_path = public;

CREATE TABLE person_arrivals (
    tenant_id    text    NOT NULL,  -- the receiving unit
    person_id    uuid    NOT NULL,  -- the record that received them
    from_unit    text    NOT NULL,
    from_person  uuid    NOT NULL,
    from_version integer            -- NULL: an arrival from before versions were carried,
                                    -- from a record that could send only once
);
CREATE INDEX person_arrivals_from ON person_arrivals (from_unit, from_person);
ALTER TABLE person_arrivals ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON person_arrivals TO thidua_projector;
CREATE POLICY person_arrivals_projector ON person_arrivals FOR ALL TO thidua_projector
    USING (true) WITH CHECK (true);

INSERT INTO person_arrivals (tenant_id, person_id, from_unit, from_person, from_version)
SELECT tenant_id, person_id, arrived_from, arrived_from_person, NULL
  FROM people WHERE arrived_from_person IS NOT NULL;

-- 0038's function, now also answering the version the sending record stands at.
DROP FUNCTION thidua_take_transfer(uuid, uuid);
CREATE FUNCTION thidua_take_transfer(p_person uuid, p_new uuid)
RETURNS TABLE (from_unit text, key_id uuid, staff_number text, full_name text,
               birth_year integer, contacts text, gender text, ethnic_minority boolean,
               post text, direct_worker boolean, cadre text, cadre_since date,
               employed_since date, version integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH sent AS (
        UPDATE public.people p SET received_as = p_new
         WHERE p.person_id = p_person
           AND p.transfer_to = current_setting('thidua.tenant', true)
           AND current_setting('thidua.reach', true) IN ('subtree', 'audit')
           AND p.status = 'transferred' AND p.received_as IS NULL
        RETURNING p.*),
         moved AS (
        UPDATE public.person_keys k SET tenant_id = current_setting('thidua.tenant', true)
          FROM sent WHERE k.key_id = sent.key_id RETURNING k.key_id)
    SELECT s.tenant_id, s.key_id, s.staff_number, s.full_name, s.birth_year, s.contacts::text,
           s.gender, s.ethnic_minority, s.post, s.direct_worker, s.cadre, s.cadre_since,
           s.employed_since, s.version
      FROM sent s JOIN moved m ON m.key_id = s.key_id
$$;
REVOKE ALL ON FUNCTION thidua_take_transfer(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_take_transfer(uuid, uuid) TO thidua_app;
