-- The runner's refresh of a read model's statistics (0042) skips a table another session holds
-- (a VACUUM an operator runs, a rebuild's swap) instead of waiting for it: the refresh is a help,
-- and a wait there held one of the runner's few connections for up to the statement timeout.
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION thidua_analyze_tables(p_schema text, p_tables text[]) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY p_tables LOOP
        IF to_regclass(format('%I.%I', p_schema, t)) IS NOT NULL THEN
            EXECUTE format('ANALYZE (SKIP_LOCKED) %I.%I', p_schema, t);
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION thidua_analyze_tables(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_analyze_tables(text, text[]) TO thidua_projector;
