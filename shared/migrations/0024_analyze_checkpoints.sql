-- Issue 13: the runner's survey after a large import. A tenant opened since the last survey
-- gets its checkpoint row at 0; after an import of 30,000 units those are 30,000 rows of a
-- projection the table's statistics do not know, and the next survey was planned as if there
-- were one: nested loops over every pair of tenants, past the statement timeout (37 s at
-- 30,000). The runner asks for fresh statistics once it has added or passed many rows; only
-- the owner may ANALYZE, hence a function with the owner's rights that does nothing else.
SET LOCAL search_path = public;

CREATE FUNCTION thidua_analyze_checkpoints() RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    ANALYZE public.projection_checkpoints;
END $$;
REVOKE ALL ON FUNCTION thidua_analyze_checkpoints() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_analyze_checkpoints() TO thidua_projector;
