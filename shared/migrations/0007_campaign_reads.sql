-- The campaigns' read policies in the style of 0003: the caller's unit read once per statement
-- (an initplan), the caller's own unit a plain comparison tried first, and the reach an EXISTS
-- the planner can hash. 0005 and 0006 called thidua_reads per row, which PostgreSQL cannot
-- inline (it holds an EXISTS): about 10 µs a row, 14 ms of a 700-unit campaign's detail query
-- (tests/perf/bench_campaign.py). Who reads what is unchanged.
SET LOCAL search_path = public;

DROP POLICY campaigns_read ON campaigns;
CREATE POLICY campaigns_read ON campaigns FOR SELECT TO thidua_app USING (
    tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM unit_closure c
                WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                  AND c.descendant = campaigns.tenant_id)
    OR (status <> 'draft'
        AND EXISTS (SELECT 1 FROM unit_closure c
                     WHERE c.descendant = (SELECT current_setting('thidua.tenant', true))
                       AND c.ancestor = campaigns.tenant_id))
);

DO $$
DECLARE
    t text[];  -- table, its read policy
BEGIN
    FOREACH t SLICE 1 IN ARRAY ARRAY[
        ['campaign_registrations', 'registrations_read'], ['campaign_progress', 'progress_read'],
        ['campaign_pledges', 'campaign_pledges_read'], ['campaign_works', 'campaign_works_read'],
        ['campaign_initiatives', 'campaign_initiatives_read']
    ] LOOP
        EXECUTE format('DROP POLICY %I ON %I', t[2], t[1]);
        EXECUTE format($p$CREATE POLICY %2$I ON %1$I FOR SELECT TO thidua_app USING (
            campaign_unit = (SELECT current_setting('thidua.tenant', true))
            OR tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR EXISTS (SELECT 1 FROM unit_closure c
                        WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                          AND c.descendant = %1$I.tenant_id)
            OR EXISTS (SELECT 1 FROM unit_closure c
                        WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                          AND c.descendant = %1$I.campaign_unit)
        )$p$, t[1], t[2]);
    END LOOP;
END $$;
