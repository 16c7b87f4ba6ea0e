-- Issue 14, point 11: decisions of awards (quyết định khen thưởng) and their recipients, written
-- by the runner. A decision is published to the deciding unit's subtree (point 12): read by the
-- unit, by every unit now below it (the people and units it names among them), and by the units
-- above it with a reach below.
SET LOCAL search_path = public;

ALTER TABLE council_items ADD COLUMN decision_id uuid,
                          ADD COLUMN forwarded_in uuid;

CREATE TABLE decisions (
    tenant_id        text    NOT NULL,
    decision_id      uuid    NOT NULL,
    year             integer NOT NULL,
    number           integer NOT NULL,
    code             text    NOT NULL,   -- 123/QĐ-LĐLĐ
    title            text    NOT NULL,
    decided_on       date    NOT NULL,
    signer           text    NOT NULL,
    council_session  uuid,
    rule_set_version text    NOT NULL,
    base_salary_vnd  bigint  NOT NULL,
    recipient_count  integer NOT NULL,
    cash_total_vnd   bigint  NOT NULL,
    PRIMARY KEY (tenant_id, decision_id),
    UNIQUE (tenant_id, year, number)
);
CREATE TABLE decision_recipients (
    tenant_id   text    NOT NULL,   -- the deciding unit
    decision_id uuid    NOT NULL,
    item_id     text    NOT NULL,
    proposal_id uuid    NOT NULL,
    proposer    text    NOT NULL,
    who         text    NOT NULL,
    person_id   text,
    unit_id     text,
    subject     text    NOT NULL,
    award       text    NOT NULL,
    kind        text    NOT NULL,
    cash_vnd    bigint  NOT NULL,
    year        integer NOT NULL,
    decided_on  date    NOT NULL,
    PRIMARY KEY (tenant_id, decision_id, item_id)
);
CREATE INDEX decision_recipients_person ON decision_recipients (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX decision_recipients_unit ON decision_recipients (unit_id) WHERE unit_id IS NOT NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['decisions', 'decision_recipients'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO thidua_app', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR EXISTS (SELECT 1 FROM public.unit_closure c
                        WHERE c.ancestor = %1$I.tenant_id
                          AND c.descendant = (SELECT current_setting('thidua.tenant', true))
                          AND c.valid_to IS NULL)
            OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                               AND c.descendant = %1$I.tenant_id AND c.valid_to IS NULL)))$p$, t);
    END LOOP;
END $$;
