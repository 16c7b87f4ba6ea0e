-- Issue 14, points 1 and 2: a unit's people, and their personal data sealed with a key of their
-- own (services/awards, shared/personal.py).
--
-- person_keys holds the keys, outside the log: erasing a person deletes their key (the awards
-- projection does, when it applies PersonErased), and every sealed text in the log then reads
-- as erased while the chain, which covers the sealed text, still verifies. A command of the
-- unit mints and reads its own people's keys (thidua_app, its unit only); the projection runner
-- reads any key to open what it projects, and deletes the erased ones (thidua_projector).
--
-- people is the register, written by the runner only. Personal data is read by the unit and,
-- with a reach below, by the units above it (the dated reach of 0010); never by a member's
-- token (reach 'unit'): a member reads no one's birth year.
SET LOCAL search_path = public;

CREATE TABLE person_keys (
    key_id     uuid        PRIMARY KEY,
    tenant_id  text        NOT NULL,
    key        bytea       NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE person_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_keys_read ON person_keys FOR SELECT TO thidua_app
    USING (tenant_id = (SELECT current_setting('thidua.tenant', true)));
CREATE POLICY person_keys_insert ON person_keys FOR INSERT TO thidua_app
    WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)));
GRANT SELECT, INSERT ON person_keys TO thidua_app;
CREATE POLICY person_keys_projector ON person_keys FOR ALL TO thidua_projector
    USING (true) WITH CHECK (true);
GRANT SELECT, DELETE ON person_keys TO thidua_projector;

CREATE TABLE people (
    tenant_id       text    NOT NULL,
    person_id       uuid    NOT NULL,
    staff_number    text    NOT NULL,             -- the unit's own number; '' when none
    key_id          uuid    NOT NULL,
    full_name       text,                          -- NULL once erased (or its key lost)
    search_key      text    NOT NULL DEFAULT '',   -- the name without diacritics, lower case
    birth_year      integer,
    contacts        jsonb   NOT NULL DEFAULT '[]',
    gender          text    NOT NULL,              -- female, male
    ethnic_minority boolean NOT NULL,
    post            text    NOT NULL,
    direct_worker   boolean NOT NULL,
    cadre           text    NOT NULL,              -- none, full_time, part_time
    cadre_since     date,
    employed_since  date,
    status          text    NOT NULL,              -- active, left, erased
    registered_on   date    NOT NULL,
    left_on         date,
    erased_on       date,
    history         jsonb   NOT NULL DEFAULT '[]', -- what happened, each with its day and reason
    recorded_on     date    NOT NULL,
    version         integer NOT NULL,
    PRIMARY KEY (tenant_id, person_id)
);
CREATE INDEX people_by_name ON people (tenant_id, search_key, person_id);
CREATE INDEX people_by_staff_number ON people (tenant_id, staff_number) WHERE staff_number <> '';
ALTER TABLE people ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON people TO thidua_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON people TO thidua_projector;
CREATE POLICY people_projector ON people FOR ALL TO thidua_projector USING (true) WITH CHECK (true);

-- 0010's reach rule, with one more condition first: not a member's reach.
CREATE POLICY people_read ON people FOR SELECT TO thidua_app USING (
    (SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
    AND people.recorded_on < (SELECT coalesce(
        (SELECT u.ended_on FROM public.units u
          WHERE u.tenant_id = current_setting('thidua.tenant', true)), 'infinity'::date))
    AND (people.tenant_id = (SELECT current_setting('thidua.tenant', true))
         OR (people.recorded_on >= (SELECT public.thidua_today() - 400) AND EXISTS (
                SELECT 1 FROM public.unit_closure c
                 WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                   AND c.descendant = people.tenant_id AND c.valid_to IS NULL
                   AND c.valid_from <= (SELECT public.thidua_today() - 400)))
         OR EXISTS (
                SELECT 1 FROM public.unit_closure c
                 WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                   AND c.descendant = people.tenant_id
                   AND c.valid_from <= people.recorded_on
                   AND (c.valid_to IS NULL OR c.valid_to > people.recorded_on)))
);
