-- 0043's person_uuid cast any recipient's person text to a uuid, so a row whose text was not
-- one (an event written by hand, a test's "person:x") stopped the awards projection on that
-- unit for good: every retry failed on the same insert. A text that is not a uuid now makes no
-- uuid (NULL: such a recipient is counted by no person), and the row is stored.
SET LOCAL search_path = public;

ALTER TABLE decision_recipients DROP COLUMN person_uuid;
ALTER TABLE decision_recipients
    ADD COLUMN person_uuid uuid GENERATED ALWAYS AS (
        CASE WHEN person_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
             THEN person_id::uuid END) STORED;
