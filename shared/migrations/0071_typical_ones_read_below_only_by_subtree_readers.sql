-- The typical individuals and collectives of a period name the people and units below the unit
-- asked, each with their own initiatives and benefit: data of the units below, which a member's
-- token may not read (shared/access.py: a member reads its own unit's data only). The summary's
-- totals stay its to read; the breakdown below does not. Read through these two from now on;
-- the functions they wrap are no longer the application's to call.
SET LOCAL search_path = public;

-- Whether the caller may read the units below its own (reach 'subtree' or 'audit'): never NULL.
CREATE FUNCTION thidua_report_below_readable() RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(current_setting('thidua.reach', true) IN ('subtree', 'audit'), false)
$$;
REVOKE ALL ON FUNCTION thidua_report_below_readable() FROM PUBLIC;

-- The typical collectives (thidua_report_ranked_units): no row for a caller who may not read
-- below, as for one out of reach. The condition has no column: the planner tests it once,
-- before the ranking is read.
CREATE FUNCTION thidua_report_typical_collectives(p_unit text, p_first integer, p_last integer,
                                                  p_metrics text[], p_limit integer,
                                                  p_as_of timestamptz)
RETURNS TABLE (unit text, rank bigint, metric text, value numeric)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM public.thidua_report_ranked_units(p_unit, p_first, p_last, p_metrics,
                                                   p_limit, p_as_of)
     WHERE public.thidua_report_below_readable()
$$;
REVOKE ALL ON FUNCTION thidua_report_typical_collectives(text, integer, integer, text[], integer,
                                                         timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_typical_collectives(text, integer, integer, text[],
                                                            integer, timestamptz) TO thidua_app;

-- The typical individuals (thidua_report_exemplars), likewise.
CREATE FUNCTION thidua_report_typical_individuals(p_unit text, p_first integer, p_last integer,
                                                  p_limit integer,
                                                  p_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (person_id text, initiatives bigint, benefit numeric, applied_at text[])
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM public.thidua_report_exemplars(p_unit, p_first, p_last, p_limit, p_as_of)
     WHERE public.thidua_report_below_readable()
$$;
REVOKE ALL ON FUNCTION thidua_report_typical_individuals(text, integer, integer, integer,
                                                         timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_typical_individuals(text, integer, integer, integer,
                                                            timestamptz) TO thidua_app;

REVOKE EXECUTE ON FUNCTION thidua_report_ranked_units(text, integer, integer, text[], integer,
                                                      timestamptz) FROM thidua_app;
REVOKE EXECUTE ON FUNCTION thidua_report_exemplars(text, integer, integer, integer, timestamptz)
    FROM thidua_app;
