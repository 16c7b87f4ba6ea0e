-- The units whose own rules bind a unit on a day: the unit and its ancestors then. Row-level
-- security shows a reader the tree's edges that touch its own unit only, so an upper level
-- deciding on (or appraising) a unit below it saw the edge from the province to itself but not
-- the one from the province to the unit below, and missed the province's own rules for it (a
-- quota, an exclusion). Asked only of the caller's unit or a unit below it; those ancestors are
-- the caller's own, the caller, or units of its subtree: nothing the caller may not know.
SET LOCAL search_path = public;

CREATE FUNCTION thidua_bound_by(p_unit text, p_day date) RETURNS SETOF text
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.ancestor FROM public.unit_closure c
    WHERE c.descendant = p_unit
      AND c.valid_from <= p_day AND (c.valid_to IS NULL OR c.valid_to > p_day)
      AND (p_unit = current_setting('thidua.tenant', true)
           OR EXISTS (SELECT 1 FROM public.unit_closure r
                      WHERE r.ancestor = current_setting('thidua.tenant', true)
                        AND r.descendant = p_unit))
$$;
REVOKE ALL ON FUNCTION thidua_bound_by(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_bound_by(text, date) TO thidua_app;
