-- The awards tables' reach, dated as 0010 dates the campaigns' (a reviewer's finding): an edge of
-- the tree counts on the day that matters to the row, never merely for being open now. A move
-- scheduled for a later day ends the old edges then and begins the new ones then; before, the
-- old parent still reads and appraises what was sent to it, and the new one reads nothing yet.
--   proposals: the day it was submitted (and the unit it was sent to reads it, whatever the
--     tree says since); its nominees and documents wherever the proposal itself is read;
--   appraisals: the day the round opened; councils: today; local rules: today (a rule binds
--     the units below it now); decisions: the day decided (published to the subtree of that
--     day: a unit that joined later reads its own, not its new parent's older ones).
SET LOCAL search_path = public;

CREATE FUNCTION thidua_edge(p_ancestor text, p_descendant text, p_day date) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM public.unit_closure c
                    WHERE c.ancestor = p_ancestor AND c.descendant = p_descendant
                      AND c.valid_from <= p_day AND (c.valid_to IS NULL OR c.valid_to > p_day))
$$;

DROP POLICY proposals_read ON proposals;
DROP POLICY proposal_nominees_read ON proposal_nominees;
DROP POLICY proposal_documents_read ON proposal_documents;
DROP POLICY appraisals_read ON appraisals;
DROP POLICY council_sessions_read ON council_sessions;
DROP POLICY council_items_read ON council_items;
DROP POLICY council_votes_read ON council_votes;
DROP POLICY local_rules_read ON local_rules;
DROP POLICY decisions_read ON decisions;
DROP POLICY decision_recipients_read ON decision_recipients;

CREATE POLICY proposals_read ON proposals FOR SELECT TO thidua_app USING (
    proposals.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR (proposals.shared AND (
        proposals.to_unit = (SELECT current_setting('thidua.tenant', true))
        OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
            AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                                   proposals.tenant_id, proposals.submitted_on))))
);
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['proposal_nominees', 'proposal_documents'] LOOP
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR (%1$I.shared AND EXISTS (SELECT 1 FROM public.proposals p
                                         WHERE p.tenant_id = %1$I.tenant_id
                                           AND p.proposal_id = %1$I.proposal_id)))$p$, t);
    END LOOP;
END $$;

CREATE POLICY appraisals_read ON appraisals FOR SELECT TO thidua_app USING (
    appraisals.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR appraisals.proposer = (SELECT current_setting('thidua.tenant', true))
    OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                               appraisals.tenant_id, appraisals.opened_on))
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['council_sessions', 'council_items', 'council_votes'] LOOP
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
                AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                                       %1$I.tenant_id, (SELECT public.thidua_today()))))$p$, t);
    END LOOP;
END $$;

CREATE POLICY local_rules_read ON local_rules FOR SELECT TO thidua_app USING (
    local_rules.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR public.thidua_edge(local_rules.tenant_id, (SELECT current_setting('thidua.tenant', true)),
                          (SELECT public.thidua_today()))
    OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
        AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                               local_rules.tenant_id, (SELECT public.thidua_today())))
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['decisions', 'decision_recipients'] LOOP
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR public.thidua_edge(%1$I.tenant_id, (SELECT current_setting('thidua.tenant', true)),
                                  %1$I.decided_on)
            OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
                AND public.thidua_edge((SELECT current_setting('thidua.tenant', true)),
                                       %1$I.tenant_id, %1$I.decided_on)))$p$, t);
    END LOOP;
END $$;

-- A member's token reads no one's personal data: not their keys either.
DROP POLICY person_keys_read ON person_keys;
CREATE POLICY person_keys_read ON person_keys FOR SELECT TO thidua_app USING (
    tenant_id = (SELECT current_setting('thidua.tenant', true))
    AND (SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
);
