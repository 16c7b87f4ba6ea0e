-- A proposal's outcome is now read from its appraisal (0051): whoever may read the proposal
-- may read its appraisals too. The policy checked a reader above the appraiser on the day the
-- round opened, the proposal's a reader above the proposer on the day it was sent: a unit moved
-- between the two read the proposal and its verdicts, and no outcome.
SET LOCAL search_path = public;

DROP POLICY appraisals_read ON appraisals;
CREATE POLICY appraisals_read ON appraisals FOR SELECT TO thidua_app USING (
    appraisals.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR appraisals.proposer = (SELECT current_setting('thidua.tenant', true))
    OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                               appraisals.tenant_id, appraisals.opened_on))
    OR EXISTS (SELECT 1 FROM public.proposals p
                WHERE p.tenant_id = appraisals.proposer AND p.proposal_id = appraisals.proposal_id)
);
