-- Each round's verdicts kept in the appraising unit's own rows, and the round's outcome read
-- from its appraisal: the upper level's events no longer write into the proposer's rows.
-- Those writes depended on the order the runner met the two units' logs in: a rebuild catches
-- each unit up on its own, so an appraisal projected before the proposal it judged updated no
-- row, and a resubmission projected before the last round's verdicts had them written over it
-- (the forwarding unit then read its proposal as never appraised). Readers join the verdicts of
-- the proposal's current round; what the proposer's rows held is copied here first.
SET LOCAL search_path = public;

CREATE TABLE appraisal_verdicts (
    tenant_id   text    NOT NULL,   -- the appraising unit
    proposer    text    NOT NULL,
    proposal_id uuid    NOT NULL,
    round       integer NOT NULL,
    nominee_id  text    NOT NULL,
    verdict     text    NOT NULL,   -- accept, return, reject
    reason      text    NOT NULL,
    rule        text,
    PRIMARY KEY (tenant_id, proposal_id, round, nominee_id)
);
ALTER TABLE appraisal_verdicts ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON appraisal_verdicts TO thidua_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON appraisal_verdicts TO thidua_projector;
CREATE POLICY appraisal_verdicts_projector ON appraisal_verdicts FOR ALL TO thidua_projector
    USING (true) WITH CHECK (true);
-- Read by the appraiser, and by whoever may read the proposal judged (its nominees' readers).
CREATE POLICY appraisal_verdicts_read ON appraisal_verdicts FOR SELECT TO thidua_app USING (
    appraisal_verdicts.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM public.proposals p
                WHERE p.tenant_id = appraisal_verdicts.proposer
                  AND p.proposal_id = appraisal_verdicts.proposal_id)
);

INSERT INTO appraisal_verdicts (tenant_id, proposer, proposal_id, round, nominee_id, verdict,
                                reason, rule)
SELECT p.to_unit, n.tenant_id, n.proposal_id, p.round, n.nominee_id, n.verdict,
       coalesce(n.verdict_reason, ''), n.verdict_rule
  FROM proposal_nominees n
  JOIN proposals p ON p.tenant_id = n.tenant_id AND p.proposal_id = n.proposal_id
 WHERE n.verdict IS NOT NULL AND p.to_unit IS NOT NULL AND p.round > 0;

ALTER TABLE proposal_nominees DROP COLUMN verdict,
                              DROP COLUMN verdict_reason,
                              DROP COLUMN verdict_rule;
ALTER TABLE proposals DROP COLUMN appraisal;
-- Nothing updates a nominee's row each round now: pages packed full again (new pages only).
ALTER TABLE proposal_nominees RESET (fillfactor);
