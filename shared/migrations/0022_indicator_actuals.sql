-- Issue 13, point 6: an indicator's actual is the campaign's own figure, kept by the campaign
-- projection (services/campaign/actuals.py), the same for every reader who may see the campaign.
--
-- Before, each read counted it under the reader's row-level security: a unit below saw a part
-- of the figure against the whole target, and every read scanned the subtree. Now the figure is
-- counted once, as the campaign's own unit reads (its dated reach, 0010 and 0015): a fact of a
-- unit below counts when the unit was below on the day the fact's row was recorded, and before
-- the campaign's unit ended. It is stored on the indicator's row and read with it, under the
-- indicator's own read policy (wherever its campaign is read).
SET LOCAL search_path = public;

-- NULL: a reported indicator nobody reported yet. No time of change beside it: a rebuild must
-- give the very rows the live run gave (tests/campaign/test_rebuild.py).
ALTER TABLE campaign_indicators ADD COLUMN actual bigint;
-- The projector finds and locks indicators by campaign and code (campaign_id is unique).
CREATE UNIQUE INDEX campaign_indicators_campaign_code ON campaign_indicators (campaign_id, code);

-- The actuals of the indicators named by (p_campaigns[k], p_codes[k]), counted in the campaign
-- tables of schema p_schema: 'public', or the schema a rebuild builds a new version in
-- (shared/projection_rebuild.py), whose facts are the ones that version has projected so far.
-- The tree (units, unit_closure) is the registry's, always in public.
--
-- Computed (services/campaign/rules.COMPUTABLE): the facts named in computed_from, counted (or,
-- for an indicator in money, summed) over the campaign's period, withdrawn records left out;
-- scope 'own': the campaign's unit alone, 'subtree': and the units below it. UnitRegistered
-- counts the units below as of today that were founded in the period.
-- Reported: each unit's latest report per phase; count and money add up over phases and units,
-- a percentage is averaged over the units' latest phase; NULL while no report counts.
--
-- p_pledges (with their units, p_pledge_units), when given: only what those pledges add (a run
-- of new pledges is counted into the figure, not the whole subtree again at every batch:
-- services/campaign/actuals.py). They are found by their key, then tested one by one against
-- the same reach.
--
-- It runs as the caller (the projector, or the owner here): it writes nothing.
CREATE FUNCTION thidua_indicator_actuals(
    p_schema text, p_campaigns uuid[], p_codes text[], p_pledges uuid[] DEFAULT NULL,
    p_pledge_units text[] DEFAULT NULL
)
RETURNS TABLE (campaign_id uuid, code text, actual bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $f$
DECLARE
    -- The rows of table %2$s the campaign's unit reads (%3$s: what else a row must be): its
    -- own, and those of each unit below through an edge that held on the row's day. A unit's
    -- edges to one ancestor never overlap in time (services/registry/projections.py), so the
    -- join meets each row once.
    scoped constant text := $s$(
        SELECT f.* FROM %1$I.%2$I f
         WHERE f.tenant_id = ind.unit AND f.recorded_on < ind.until AND (%3$s)
        UNION ALL
        SELECT f.* FROM public.unit_closure e
          JOIN %1$I.%2$I f ON f.tenant_id = e.descendant AND f.recorded_on >= e.valid_from
                          AND (e.valid_to IS NULL OR f.recorded_on < e.valid_to)
         WHERE ind.scope = 'subtree' AND e.ancestor = ind.unit AND e.depth > 0
           AND f.recorded_on < ind.until AND (%3$s))$s$;
    in_period constant text := 'f.status = ''registered'' AND f.%s BETWEEN ind.p_from AND ind.p_to';
BEGIN
    RETURN QUERY EXECUTE format($q$
WITH ind AS (
    SELECT i.tenant_id AS unit, i.campaign_id, i.code, i.measure, i.source, i.scope,
           i.computed_from, c.period_start AS p_from, c.period_end AS p_to,
           coalesce(u.ended_on, 'infinity'::date) AS until
      FROM unnest($1::uuid[], $2::text[]) AS k (campaign_id, code)
      JOIN %1$I.campaign_indicators i ON i.campaign_id = k.campaign_id AND i.code = k.code
      JOIN %1$I.campaigns c ON c.campaign_id = i.campaign_id
      LEFT JOIN public.units u ON u.tenant_id = i.tenant_id
)
SELECT ind.campaign_id, ind.code, CASE WHEN $3::uuid[] IS NOT NULL THEN (
    CASE WHEN 'PledgeRegistered' = ANY (ind.computed_from) THEN (
        SELECT count(*) FROM unnest($3::uuid[], $4::text[]) AS n (id, unit)
          JOIN %1$I.campaign_pledges f ON f.tenant_id = n.unit AND f.pledge_id = n.id
         WHERE f.status = 'registered' AND f.registered_on BETWEEN ind.p_from AND ind.p_to
           AND f.recorded_on < ind.until
           AND (f.tenant_id = ind.unit OR (ind.scope = 'subtree' AND EXISTS (
                SELECT 1 FROM public.unit_closure e
                 WHERE e.ancestor = ind.unit AND e.descendant = f.tenant_id AND e.depth > 0
                   AND e.valid_from <= f.recorded_on
                   AND (e.valid_to IS NULL OR e.valid_to > f.recorded_on))))
        ) ELSE 0 END)
  WHEN ind.source = 'computed' THEN (
    CASE WHEN 'InitiativeRecognised' = ANY (ind.computed_from) THEN (
        SELECT CASE WHEN ind.measure = 'vnd' THEN coalesce(sum(r.benefit_vnd), 0) ELSE count(*) END
          FROM %2$s r) ELSE 0 END
  + CASE WHEN 'InitiativeRegistered' = ANY (ind.computed_from) THEN (
        SELECT count(*) FROM %3$s r) ELSE 0 END
  + CASE WHEN 'WorkRegistered' = ANY (ind.computed_from) THEN (
        SELECT CASE WHEN ind.measure = 'vnd' THEN coalesce(sum(r.value_vnd), 0) ELSE count(*) END
          FROM %4$s r) ELSE 0 END
  + CASE WHEN 'PledgeRegistered' = ANY (ind.computed_from) THEN (
        SELECT count(*) FROM %5$s r) ELSE 0 END
  + CASE WHEN 'RegistrationSubmitted' = ANY (ind.computed_from) THEN (
        SELECT count(*) FROM %6$s r) ELSE 0 END
  + CASE WHEN 'UnitRegistered' = ANY (ind.computed_from) AND ind.scope = 'subtree' THEN (
        SELECT count(*) FROM public.unit_closure e JOIN public.units n ON n.tenant_id = e.descendant
         WHERE e.ancestor = ind.unit AND e.depth > 0
           AND e.valid_from <= public.thidua_today()
           AND (e.valid_to IS NULL OR e.valid_to > public.thidua_today())
           AND n.since BETWEEN ind.p_from AND ind.p_to) ELSE 0 END
    )::bigint
  ELSE (
    SELECT CASE WHEN ind.measure = 'percent' THEN round(avg(r.actual) FILTER (WHERE r.latest))
                ELSE sum(r.actual) END::bigint
      FROM (SELECT p.actual, p.phase = max(p.phase) OVER (PARTITION BY p.tenant_id) AS latest
              FROM %7$s p) r)
  END
  FROM ind
$q$,
        p_schema,
        format(scoped, p_schema, 'campaign_initiatives',
               'f.status = ''registered'' AND f.recognised_on BETWEEN ind.p_from AND ind.p_to'),
        format(scoped, p_schema, 'campaign_initiatives', format(in_period, 'registered_on')),
        format(scoped, p_schema, 'campaign_works', format(in_period, 'registered_on')),
        format(scoped, p_schema, 'campaign_pledges', format(in_period, 'registered_on')),
        format(scoped, p_schema, 'campaign_registrations',
               'f.campaign_id = ind.campaign_id AND f.status = ''registered'''),
        format(scoped, p_schema, 'campaign_progress',
               'f.campaign_id = ind.campaign_id AND f.code = ind.code'))
    USING p_campaigns, p_codes, p_pledges, p_pledge_units;
END $f$;
REVOKE ALL ON FUNCTION thidua_indicator_actuals(text, uuid[], text[], uuid[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_indicator_actuals(text, uuid[], text[], uuid[], text[])
    TO thidua_projector;

-- Every indicator already there, counted as the projection will count it from now on.
UPDATE campaign_indicators i SET actual = a.actual
  FROM (SELECT array_agg(campaign_id ORDER BY campaign_id, code) AS campaigns,
               array_agg(code ORDER BY campaign_id, code) AS codes
          FROM campaign_indicators) k,
       thidua_indicator_actuals('public', k.campaigns, k.codes) a
 WHERE i.campaign_id = a.campaign_id AND i.code = a.code;

-- A new unit changes the figures counting UnitRegistered above it. The registry applies its
-- events inline, as thidua_app, which writes no campaign row: this counts those figures again
-- in that transaction, as the owner, with the projection's locks (services/campaign/actuals.py):
-- shared advisory locks on every ancestor, then the indicator rows in (campaign, code) order,
-- then the count. It only ever writes what the facts already say.
CREATE FUNCTION thidua_units_founded(p_units text[]) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $f$
DECLARE
    v_key integer;
    v_campaigns uuid[];
    v_codes text[];
    v_changed integer;
BEGIN
    FOR v_key IN
        SELECT DISTINCT hashtext(e.ancestor) FROM public.unit_closure e
         WHERE e.descendant = ANY (p_units) AND e.depth > 0 ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock_shared(1302, v_key);
    END LOOP;
    SELECT array_agg(i.campaign_id ORDER BY i.campaign_id, i.code),
           array_agg(i.code ORDER BY i.campaign_id, i.code)
      INTO v_campaigns, v_codes
      FROM (SELECT c.campaign_id, c.code FROM public.campaign_indicators c
             WHERE c.source = 'computed' AND c.scope = 'subtree'
               AND 'UnitRegistered' = ANY (c.computed_from)
               AND c.tenant_id IN (SELECT e.ancestor FROM public.unit_closure e
                                    WHERE e.descendant = ANY (p_units) AND e.depth > 0)
             ORDER BY c.campaign_id, c.code
               FOR UPDATE) i;
    IF v_campaigns IS NULL THEN
        RETURN 0;
    END IF;
    UPDATE public.campaign_indicators i SET actual = a.actual
      FROM public.thidua_indicator_actuals('public', v_campaigns, v_codes) a
     WHERE i.campaign_id = a.campaign_id AND i.code = a.code
       AND i.actual IS DISTINCT FROM a.actual;
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    RETURN v_changed;
END $f$;
REVOKE ALL ON FUNCTION thidua_units_founded(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_units_founded(text[]) TO thidua_app;

-- Its count by the reader's reach is replaced by the figure above: nothing calls it any more.
DROP FUNCTION thidua_computed_actual(uuid, text, date, date, text, text, text[]);
