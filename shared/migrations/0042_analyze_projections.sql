-- A read model's statistics refreshed by the runner once it has caught up after a burst of
-- events (shared/projections.py ANALYZE_AFTER_EVENTS): a decision of 10,000 recipients, or a
-- bulk pledge, left its tables unanalysed until autovacuum came round (a minute or more), and
-- meanwhile the planner took them for empty: the year's figures of a province took 370 ms
-- instead of 80. Only the owner may ANALYZE, hence a function with the owner's rights that
-- does nothing else; a name that is not a table of that schema is skipped.
SET LOCAL search_path = public;

CREATE FUNCTION thidua_analyze_tables(p_schema text, p_tables text[]) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY p_tables LOOP
        IF to_regclass(format('%I.%I', p_schema, t)) IS NOT NULL THEN
            EXECUTE format('ANALYZE %I.%I', p_schema, t);
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION thidua_analyze_tables(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_analyze_tables(text, text[]) TO thidua_projector;
