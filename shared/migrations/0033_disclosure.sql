-- Issue 14, point 12: a nominee list published to the deciding unit's subtree before its council
-- meets (rule DISCLOSURE), written by the runner. Read by the unit, by every unit below it on
-- the day it was published (the people and units it names among them), and by the units above.
SET LOCAL search_path = public;

CREATE TABLE disclosures (
    tenant_id     text    NOT NULL,
    disclosure_id uuid    NOT NULL,
    title         text    NOT NULL,
    published_on  date    NOT NULL,
    council_on    date    NOT NULL,
    PRIMARY KEY (tenant_id, disclosure_id)
);
CREATE TABLE disclosed_nominees (
    tenant_id     text NOT NULL,
    disclosure_id uuid NOT NULL,
    item_id       text NOT NULL,
    proposal_id   uuid NOT NULL,
    nominee_id    text NOT NULL,
    who           text NOT NULL,
    award         text NOT NULL,
    published_on  date NOT NULL,
    PRIMARY KEY (tenant_id, disclosure_id, item_id)
);
CREATE INDEX disclosed_nominees_item ON disclosed_nominees (tenant_id, item_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['disclosures', 'disclosed_nominees'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO thidua_app', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR public.thidua_edge(%1$I.tenant_id, (SELECT current_setting('thidua.tenant', true)),
                                  %1$I.published_on)
            OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
                AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                                       %1$I.tenant_id, %1$I.published_on)))$p$, t);
    END LOOP;
END $$;
