-- The names of the units above the caller's own, for the headings of its own documents: its
-- period report is headed by the level above's name and says it is sent there (seed 002), yet
-- units' rows above a unit are out of its reach, and its own download printed their ids. Only
-- the name, of a unit that stands or stood above the caller's (a report sent before a move was
-- addressed to the parent then); nothing else of it, and `unit(id:)` still answers null.
SET LOCAL search_path = public;

CREATE FUNCTION thidua_names_above(p_units text[])
RETURNS TABLE (unit text, name text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.tenant_id, u.name FROM public.units u
     WHERE u.tenant_id = ANY (p_units)
       AND EXISTS (SELECT 1 FROM public.unit_closure c
                    WHERE c.descendant = current_setting('thidua.tenant', true)
                      AND c.ancestor = u.tenant_id)
$$;
REVOKE ALL ON FUNCTION thidua_names_above(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_names_above(text[]) TO thidua_app;
