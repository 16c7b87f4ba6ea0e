-- What reporting's faces read beside the figures:
-- * the units directly below a unit in a period, as the tree stood (summary.below,
--   services/reporting/schema.py). It listed the units below today, whatever the period or
--   moment asked: in 2024's breakdown a unit that came below in 2025 showed its 2024 figures,
--   counted under another parent;
-- * the particulars a decision's event carries of the persons it awards;
-- * the indicators of a typical collective's campaigns.
SET LOCAL search_path = public;

-- Each unit that stood directly below p_unit on some day of p_first..p_last, over the tree as the
-- log held it at p_as_of (NULL: now), with the first and the last day of the period it stood
-- below; nothing where the caller may not read p_unit's summary (the callers check each unit's
-- own reach: the reach is today's). A merged unit stands below until its merge (its history
-- counts under its survivor as well, as in every roll-up).
CREATE FUNCTION thidua_report_below(p_unit text, p_first integer, p_last integer,
                                    p_as_of timestamptz, p_most integer)
RETURNS TABLE (unit text, first_day date, last_day date)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.tenant_id,
           min(greatest(p.valid_from, make_date(p_first, 1, 1))),
           max(least(coalesce(p.valid_to, 'infinity'::date), make_date(p_last + 1, 1, 1))) - 1
      FROM public.thidua_tree_parents(p_as_of) p
     WHERE p.parent_id = p_unit AND p.kind = 'child'
       AND p.valid_from < make_date(p_last + 1, 1, 1)
       AND (p.valid_to IS NULL OR p.valid_to > make_date(p_first, 1, 1))
       AND public.thidua_report_allowed(p_unit, p_first, p_last, p_as_of)
     GROUP BY p.tenant_id
     ORDER BY p.tenant_id
     LIMIT p_most
$$;
REVOKE ALL ON FUNCTION thidua_report_below(text, integer, integer, timestamptz, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_below(text, integer, integer, timestamptz, integer)
    TO thidua_app;

-- A unit's former children, as the log held them at a moment, found by their parent.
CREATE INDEX unit_parents_known_parent ON unit_parents_known (parent_id);

-- The particulars of the persons a session's passed items name (services/awards/
-- commands_decisions.py): what its decision's event says of each person it awards, so that the
-- figures of the women and direct workers awarded are the same whenever the event is counted.
-- Only the caller's own council's items, whatever the caller's reach over those records today
-- (a unit moved below the decider since the record was written is hidden from it by the
-- register's rule, 0025): a decision that could not see them would say nothing of them.
CREATE FUNCTION thidua_awarded_particulars(p_session uuid)
RETURNS TABLE (person_id uuid, gender text, direct_worker boolean)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.person_id, p.gender, p.direct_worker
      FROM public.council_items i
      JOIN public.people p ON p.tenant_id = i.unit_of
                          AND p.person_id = substr(i.who, length('person:') + 1)::uuid
     WHERE i.tenant_id = current_setting('thidua.tenant', true)
       AND i.session_id = p_session AND i.passed AND i.who LIKE 'person:%'
       AND p.gender <> ''
$$;
REVOKE ALL ON FUNCTION thidua_awarded_particulars(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_awarded_particulars(uuid) TO thidua_app;

-- Each of p_units' campaigns launched in p_first..p_last: how many indicators, how many met
-- their targets by now (exemplaryUnits: the typical collectives' "ahead of schedule"), for the
-- units whose summary the caller may read, as their campaigns launched are counted (0059's
-- reach: today's), not by the campaigns' own dated read rule, which would hide a unit's
-- campaigns from a parent it came under since.
CREATE FUNCTION thidua_report_indicators(p_units text[], p_first integer, p_last integer)
RETURNS TABLE (unit text, indicators bigint, met bigint)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.tenant_id, count(*), count(*) FILTER (WHERE i.actual >= i.target)
      FROM unnest(p_units) AS u (unit)
      JOIN public.campaigns c ON c.tenant_id = u.unit
      JOIN public.campaign_indicators i ON i.tenant_id = c.tenant_id
                                       AND i.campaign_id = c.campaign_id
     WHERE c.launched_on >= make_date(p_first, 1, 1)
       AND c.launched_on < make_date(p_last + 1, 1, 1)
       AND public.thidua_report_allowed(u.unit, p_first, p_last, NULL)
     GROUP BY c.tenant_id
$$;
REVOKE ALL ON FUNCTION thidua_report_indicators(text[], integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_report_indicators(text[], integer, integer) TO thidua_app;
