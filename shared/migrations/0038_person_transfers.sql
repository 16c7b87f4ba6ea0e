-- Issue 14, point 1: a person moved between units (chuyển sinh hoạt công đoàn). The unit they
-- leave closes their record (PersonTransferred, naming the unit they go to); that unit receives
-- them in its own log (PersonArrived) with the same key, which moves to it, so the person's
-- personal data has one key wherever their records are, and an erasure reaches them all.
--
-- The receiving unit reads nothing of the sending unit's register: these two functions answer
-- for transfers addressed to the caller's own unit only, and nothing else.
SET LOCAL search_path = public;

ALTER TABLE people ADD COLUMN transfer_to text,
                   ADD COLUMN transferred_on date,
                   ADD COLUMN received_as uuid,     -- the person's id in the unit they went to
                   ADD COLUMN arrived_from text,    -- where a received person came from
                   ADD COLUMN arrived_from_person uuid;  -- and their id there
CREATE INDEX people_incoming ON people (transfer_to) WHERE transfer_to IS NOT NULL;
-- The runner projects each unit's log on its own: an arrival may be projected before the
-- transfer it closes (a rebuild), so each side looks for the other.
CREATE INDEX people_arrived ON people (arrived_from_person) WHERE arrived_from_person IS NOT NULL;

-- The people sent to the caller's unit and not yet received: who, from where, since when. Read
-- as the register is (0025): with a reach below, never by a member's token.
CREATE FUNCTION thidua_incoming_people()
RETURNS TABLE (person_id uuid, from_unit text, staff_number text, full_name text, gender text,
               transferred_on date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.person_id, p.tenant_id, p.staff_number, p.full_name, p.gender, p.transferred_on
      FROM public.people p
     WHERE p.transfer_to = current_setting('thidua.tenant', true)
       AND current_setting('thidua.reach', true) IN ('subtree', 'audit')
       AND p.status = 'transferred' AND p.received_as IS NULL
     ORDER BY p.transferred_on, p.person_id
$$;
REVOKE ALL ON FUNCTION thidua_incoming_people() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_incoming_people() TO thidua_app;

-- A person sent to the caller's unit, taken as ``p_new`` there: the record they were sent with
-- is marked received at once (its row locked: of two receivers at once, the second finds it
-- taken), their key now belongs to that unit (its commands seal with it), and that record is
-- returned, to register them again. No row: no such transfer to this unit, or taken already.
CREATE FUNCTION thidua_take_transfer(p_person uuid, p_new uuid)
RETURNS TABLE (from_unit text, key_id uuid, staff_number text, full_name text,
               birth_year integer, contacts text, gender text, ethnic_minority boolean,
               post text, direct_worker boolean, cadre text, cadre_since date,
               employed_since date)
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
           s.employed_since
      FROM sent s JOIN moved m ON m.key_id = s.key_id
$$;
REVOKE ALL ON FUNCTION thidua_take_transfer(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_take_transfer(uuid, uuid) TO thidua_app;
