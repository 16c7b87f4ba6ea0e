-- A unit's whole log, for the work done for the unit itself (shared/access.py as_unit, reach
-- 'log'): verifying its chain. 0010's rule hides from a merged or dissolved unit what was
-- recorded from its end on, its own UnitMerged or UnitDissolved among them, while its head
-- still counts them, so the verification of an intact ended log reported rows missing. With
-- reach 'log' a unit reads all of its own log, and nothing of any other unit's; everything else
-- in the policy is 0010's.
SET LOCAL search_path = public;

DROP POLICY events_read ON events;

DO $$
DECLARE
    me    constant text := $e$(SELECT current_setting('thidua.tenant', true))$e$;
    audit constant text := $e$(SELECT current_setting('thidua.reach', true) = 'audit')$e$;
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
    EXECUTE format($p$CREATE POLICY events_read ON events FOR SELECT TO thidua_app USING (
        (events.tenant_id = %1$s
         AND (SELECT current_setting('thidua.reach', true) = 'log'))
        OR %2$s)$p$,
        me,
        format(reach, 'events.tenant_id',
               $e$((events.recorded_at AT TIME ZONE 'UTC') + interval '7 hours')::date$e$,
               audit, me, until));
END $$;
