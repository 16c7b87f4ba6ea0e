-- A merged or dissolved unit gains no reach after its end (issue 12, finding 3). A merge puts
-- the merged unit under the unit that absorbs it from the merge's day, which is the merged
-- unit's end; 0010's rule for launched campaigns ("read by every unit that is or was below
-- the launching unit from its launch to today") then showed the merged unit's token the
-- absorbing unit's campaigns. An edge counts for the campaigns above only if it began before
-- the reader's end. Everything else in the policy is 0010's.
SET LOCAL search_path = public;

DROP POLICY campaigns_read ON campaigns;

DO $$
DECLARE
    me    constant text := $e$(SELECT current_setting('thidua.tenant', true))$e$;
    today constant text := $e$(SELECT public.thidua_today())$e$;
    wide  constant text := $e$(SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))$e$;
    until constant text := $e$(SELECT coalesce(
        (SELECT u.ended_on FROM public.units u
          WHERE u.tenant_id = current_setting('thidua.tenant', true)), 'infinity'::date))$e$;
    reach constant text := $e$(%2$s < %5$s AND (%1$s = %4$s OR (%3$s AND (
        (%2$s >= (SELECT public.thidua_today() - 400) AND EXISTS (
            SELECT 1 FROM public.unit_closure c
             WHERE c.ancestor = %4$s AND c.descendant = %1$s AND c.valid_to IS NULL
               AND c.valid_from <= (SELECT public.thidua_today() - 400)))
        OR EXISTS (
            SELECT 1 FROM public.unit_closure c
             WHERE c.ancestor = %4$s AND c.descendant = %1$s
               AND c.valid_from <= %2$s AND (c.valid_to IS NULL OR c.valid_to > %2$s))))))$e$;
BEGIN
    EXECUTE format($p$CREATE POLICY campaigns_read ON campaigns FOR SELECT TO thidua_app USING (
        %1$s
        OR (status <> 'draft' AND coalesce(launched_on, recorded_on) < %5$s
            AND EXISTS (SELECT 1 FROM public.unit_closure c
                         WHERE c.descendant = %2$s AND c.ancestor = campaigns.tenant_id
                           AND c.valid_from <= %3$s AND c.valid_from < %5$s
                           AND (c.valid_to IS NULL
                                OR c.valid_to > coalesce(launched_on, recorded_on)))))$p$,
        format(reach, 'campaigns.tenant_id', 'campaigns.recorded_on', wide, me, until),
        me, today, wide, until);
END $$;
