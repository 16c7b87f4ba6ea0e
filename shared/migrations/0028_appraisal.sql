-- Issue 14, point 9: the upper level's appraisal (thẩm định) of each round of a proposal sent to
-- it. Its events are in the appraiser's log; the runner writes the appraisal's rows and, into
-- the proposer's own rows, each nominee's verdict and the round's outcome.
SET LOCAL search_path = public;

ALTER TABLE proposals ADD COLUMN round integer NOT NULL DEFAULT 0,
                      ADD COLUMN appraisal text;  -- the current round's: open, returned, completed
ALTER TABLE proposal_nominees ADD COLUMN verdict text,          -- accept, return, reject
                              ADD COLUMN verdict_reason text,
                              ADD COLUMN verdict_rule text;

CREATE TABLE appraisals (
    tenant_id     text    NOT NULL,   -- the appraising unit (the proposer's direct upper level)
    proposal_id   uuid    NOT NULL,
    round         integer NOT NULL,
    proposer      text    NOT NULL,
    status        text    NOT NULL,   -- open, returned, completed
    nominee_count integer NOT NULL,
    judged_count  integer NOT NULL DEFAULT 0,
    returned      jsonb   NOT NULL DEFAULT '[]',
    opened_on     date    NOT NULL,
    concluded_on  date,
    version       integer NOT NULL,
    PRIMARY KEY (tenant_id, proposal_id, round)
);
CREATE INDEX appraisals_by_proposal ON appraisals (proposal_id, round);
ALTER TABLE appraisals ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON appraisals TO thidua_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON appraisals TO thidua_projector;
CREATE POLICY appraisals_projector ON appraisals FOR ALL TO thidua_projector
    USING (true) WITH CHECK (true);
-- Read by the appraiser, by the proposer (whose proposal it judges), and by the units above the
-- appraiser with a reach below.
CREATE POLICY appraisals_read ON appraisals FOR SELECT TO thidua_app USING (
    appraisals.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR appraisals.proposer = (SELECT current_setting('thidua.tenant', true))
    OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND EXISTS (SELECT 1 FROM public.unit_closure c
                     WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                       AND c.descendant = appraisals.tenant_id AND c.valid_to IS NULL))
);
