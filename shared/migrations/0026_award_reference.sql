-- Issue 14, points 4-6: what the national unit keeps for everyone (the base salary's later
-- values, the days it marks off or working) and a federation's own rules (services/awards),
-- all written by the projection runner.
SET LOCAL search_path = public;

CREATE TABLE base_salaries (
    effective_from date    PRIMARY KEY,
    amount_vnd     bigint  NOT NULL,
    source         text    NOT NULL,
    tenant_id      text    NOT NULL,   -- the unit whose admin set it
    version        integer NOT NULL
);
CREATE TABLE calendar_days (
    day       date    PRIMARY KEY,
    working   boolean NOT NULL,
    reason    text    NOT NULL,
    tenant_id text    NOT NULL,
    version   integer NOT NULL
);
CREATE TABLE local_rules (
    tenant_id      text    NOT NULL,
    rule_id        uuid    NOT NULL,
    code           text    NOT NULL,
    kind           text    NOT NULL,   -- exclusion, quota
    message        text    NOT NULL,
    numbers        jsonb   NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,               -- exclusive; NULL: still in force
    source         text    NOT NULL,
    ended_reason   text,
    version        integer NOT NULL,
    PRIMARY KEY (tenant_id, rule_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['base_salaries', 'calendar_days', 'local_rules'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO thidua_app', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

-- The base salary and the working calendar are everyone's.
CREATE POLICY base_salaries_read ON base_salaries FOR SELECT TO thidua_app USING (true);
CREATE POLICY calendar_days_read ON calendar_days FOR SELECT TO thidua_app USING (true);

-- A federation's rules bind the units below it: read by the unit, by every unit now below it,
-- and, with a reach below, by the units above it.
CREATE POLICY local_rules_read ON local_rules FOR SELECT TO thidua_app USING (
    local_rules.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM public.unit_closure c
                WHERE c.ancestor = local_rules.tenant_id
                  AND c.descendant = (SELECT current_setting('thidua.tenant', true))
                  AND c.valid_to IS NULL)
    OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND EXISTS (SELECT 1 FROM public.unit_closure c
                     WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                       AND c.descendant = local_rules.tenant_id
                       AND c.valid_to IS NULL))
);
