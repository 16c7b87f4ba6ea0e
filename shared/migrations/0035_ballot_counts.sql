-- A secret ballot's box holds running counts per item, not a row per ballot (a reviewer's
-- finding): a row written by the vote's own transaction shares that transaction's id (xmin)
-- with the event saying who voted, so a ballot row would tell who voted how to anyone who can
-- read both tables, for good. A count updated in that transaction tells only that the voter
-- voted; comparing two copies of the database taken between two votes still would tell more,
-- which no table design in the vote's own transaction can prevent.
SET LOCAL search_path = public;
DROP TABLE ballot_box;
CREATE TABLE ballot_box (
    tenant_id  text    NOT NULL,
    session_id uuid    NOT NULL,
    item_id    text    NOT NULL,
    yes        integer NOT NULL DEFAULT 0,
    no         integer NOT NULL DEFAULT 0,
    abstain    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, session_id, item_id)
);
ALTER TABLE ballot_box ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON ballot_box TO thidua_app;
CREATE POLICY ballot_box_insert ON ballot_box FOR INSERT TO thidua_app
    WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)));
CREATE POLICY ballot_box_update ON ballot_box FOR UPDATE TO thidua_app
    USING (tenant_id = (SELECT current_setting('thidua.tenant', true)))
    WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)));
CREATE POLICY ballot_box_read ON ballot_box FOR SELECT TO thidua_app
    USING (tenant_id = (SELECT current_setting('thidua.tenant', true)));

-- A member of the unit a proposal was sent to reads no one's nominees (a reviewer's finding):
-- the inbox clause asks for a reach below, as the others do.
DROP POLICY proposals_read ON proposals;
CREATE POLICY proposals_read ON proposals FOR SELECT TO thidua_app USING (
    proposals.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR (proposals.shared
        AND (SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND (proposals.to_unit = (SELECT current_setting('thidua.tenant', true))
             OR public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                                   proposals.tenant_id, proposals.submitted_on)))
);
