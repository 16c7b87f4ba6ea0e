-- The federations' own rules binding a unit on a day: those in force then of the unit and of its
-- ancestors in the tree of that day, whoever asks among the unit and the units above it then.
-- 0055's thidua_bound_by gave the ancestors, but the rules were still read under row-level
-- security, which shows a unit only the rules of its ancestors of today: a unit moved since a
-- past day missed the rules of its ancestors of that day. This reads the rules too, answering
-- only the caller's unit or a unit below it on that day. It shows a unit the rules of a former
-- province for the days it was under it (rules dated back to such a day included): those bound
-- it then, nothing it may not know.
SET LOCAL search_path = public;

DROP FUNCTION thidua_bound_by(text, date);

CREATE FUNCTION thidua_rules_binding(p_unit text, p_day date)
RETURNS TABLE (tenant_id text, rule_id uuid, code text, kind text, message text, numbers text,
               effective_from date, effective_to date, source text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.tenant_id, r.rule_id, r.code, r.kind, r.message, r.numbers::text,
           r.effective_from, r.effective_to, r.source
    FROM public.local_rules r
    WHERE r.effective_from <= p_day AND (r.effective_to IS NULL OR r.effective_to > p_day)
      AND r.tenant_id IN (
          SELECT c.ancestor FROM public.unit_closure c
          WHERE c.descendant = p_unit
            AND c.valid_from <= p_day AND (c.valid_to IS NULL OR c.valid_to > p_day))
      AND EXISTS (
          SELECT 1 FROM public.unit_closure a
          WHERE a.ancestor = current_setting('thidua.tenant', true) AND a.descendant = p_unit
            AND a.valid_from <= p_day AND (a.valid_to IS NULL OR a.valid_to > p_day))
    ORDER BY r.tenant_id, r.code
$$;
REVOKE ALL ON FUNCTION thidua_rules_binding(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_rules_binding(text, date) TO thidua_app;
