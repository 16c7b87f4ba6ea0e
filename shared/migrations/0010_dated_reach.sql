-- Issue 12, findings 2, 3 and 5 (the log's own reach): the role rule and the dated reach of
-- shared/access.py, as row-level security on every table a request reads.
--
-- The rule (shared/access.py says the same, in words):
--   A request names its unit in thidua.tenant and its reach in thidua.reach (access.scope):
--   'unit' (role member), 'subtree' (every other role) or 'audit' (role auditor).
--   A row of unit T recorded on day d (Vietnamese calendar day, UTC+7) is read by unit U iff
--     d is before U's end (a merged or dissolved unit reads nothing recorded from its end on), and
--     T = U, or U's reach is 'subtree' or 'audit' and an edge U -> T of unit_closure held on d:
--     valid_from <= d < valid_to (valid_to NULL: still). d is never after today, so an edge
--     that begins in the future grants nothing until its day; a former ancestor reads what was
--     recorded while the edge held and nothing after.
--   The log itself (events) needs 'audit' for another unit's rows.
--   What a row's d is: events, their recorded_at; the campaigns' read model, the new column
--   recorded_on, the day of the event that made the row (campaign_progress: of the report it
--   holds); units, unit_parents, unit_closure: today (they say what the tree is; and
--   units.parent_id is the parent as of today, see thidua_registry_catch_up below).
--   A launched campaign is also read by every unit that is or was below its unit on a day from
--   its launch to today (it is addressed to them); phases and indicators go with their campaign.
--
-- Every setting is read in a scalar subquery (an initplan: once per statement, not once per
-- row), the caller's own unit is a plain comparison tried first, and the edge is an EXISTS
-- inlined into the policy: a SQL function called per row costs ~10 µs a row (0007).
SET LOCAL search_path = public;

-- Today as the union's offices count days (shared/clock.py: UTC+7). A plain SQL function, so a
-- policy inlines it.
CREATE FUNCTION thidua_today() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT ((now() AT TIME ZONE 'UTC') + interval '7 hours')::date $$;

-- units.parent_id is the tree as of today (the projection leaves a move dated in the future for
-- its day, services/registry/projections.py). On that day the first request of each process
-- calls this (shared/access.py, scope), which points each unit at the parent unit_parents gives
-- it today. It takes no input: it only brings in what the log already holds, when it is due.
CREATE FUNCTION thidua_registry_catch_up() RETURNS integer
LANGUAGE sql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH due AS (
        UPDATE public.units u SET parent_id = p.parent_id
          FROM public.unit_parents p
         WHERE p.tenant_id = u.tenant_id
           AND p.valid_from <= public.thidua_today()
           AND (p.valid_to IS NULL OR p.valid_to > public.thidua_today())
           AND u.parent_id IS DISTINCT FROM p.parent_id
        RETURNING 1)
    SELECT count(*)::integer FROM due
$$;
REVOKE ALL ON FUNCTION thidua_registry_catch_up() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_registry_catch_up() TO thidua_app;

-- An edge is looked up by both its ends with its dates: all in the index, no table page read.
DROP INDEX unit_closure_descendant;
CREATE INDEX unit_closure_descendant ON unit_closure (descendant, ancestor)
    INCLUDE (valid_from, valid_to, depth);

-- The day each campaign row was recorded: the projections set thidua.recorded_on to the day of
-- the event they apply (services/campaign/projections.py), and a row takes it by default; a
-- row written with its events in one transaction (a bulk of pledges) may take the day the
-- transaction began instead.
-- Rows already there take the day their stream began where the log tells it, else their own
-- business date.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_registrations', 'campaign_progress',
                             'campaign_pledges', 'campaign_works', 'campaign_initiatives'] LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN recorded_on date', t);
    END LOOP;
END $$;
UPDATE campaigns c SET recorded_on = coalesce(
    (SELECT ((min(e.recorded_at) AT TIME ZONE 'UTC') + interval '7 hours')::date
       FROM events e WHERE e.tenant_id = c.tenant_id AND e.stream_id = c.campaign_id),
    c.period_start);
UPDATE campaign_registrations SET recorded_on = registered_on;
UPDATE campaign_progress SET recorded_on = reported_on;
UPDATE campaign_pledges SET recorded_on = registered_on;
UPDATE campaign_works SET recorded_on = registered_on;
UPDATE campaign_initiatives SET recorded_on = registered_on;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_registrations', 'campaign_progress',
                             'campaign_pledges', 'campaign_works', 'campaign_initiatives'] LOOP
        EXECUTE format($q$ALTER TABLE %I ALTER COLUMN recorded_on SET NOT NULL,
            ALTER COLUMN recorded_on SET DEFAULT coalesce(
                nullif(current_setting('thidua.recorded_on', true), '')::date,
                ((now() AT TIME ZONE 'UTC') + interval '7 hours')::date)$q$, t);
    END LOOP;
END $$;

DROP POLICY closure_read ON unit_closure;
DROP POLICY units_read ON units;
DROP POLICY parents_read ON unit_parents;
DROP POLICY campaigns_read ON campaigns;
DROP POLICY registrations_read ON campaign_registrations;
DROP POLICY progress_read ON campaign_progress;
DROP POLICY campaign_pledges_read ON campaign_pledges;
DROP POLICY campaign_works_read ON campaign_works;
DROP POLICY campaign_initiatives_read ON campaign_initiatives;

DO $$
DECLARE
    me    constant text := $e$(SELECT current_setting('thidua.tenant', true))$e$;
    today constant text := $e$(SELECT public.thidua_today())$e$;
    wide  constant text := $e$(SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))$e$;
    audit constant text := $e$(SELECT current_setting('thidua.reach', true) = 'audit')$e$;
    -- The caller's end (merged, dissolved), once per statement; its own row it always reads.
    until constant text := $e$(SELECT coalesce(
        (SELECT u.ended_on FROM public.units u
          WHERE u.tenant_id = current_setting('thidua.tenant', true)), 'infinity'::date))$e$;
    -- %1$s: the row's unit, %2$s: the row's day, %3$s: the reach that may read below,
    -- %4$s: the caller's unit, %5$s: the caller's end.
    -- The edge is looked up twice, the exact test last. First a shortcut the rule implies: an
    -- edge still open that began by a fixed day D0 (400 days ago) holds on every day from D0 on,
    -- so a row recorded since D0 of a unit below through such an edge is read. Its EXISTS is
    -- correlated by the unit alone, so the planner may hash it once per statement (0007) where
    -- many rows are read; the exact one compares each row's day and is probed row by row.
    reach constant text := $e$(%2$s < %5$s AND (%1$s = %4$s OR (%3$s AND (
        (%2$s >= (SELECT public.thidua_today() - 400) AND EXISTS (
            SELECT 1 FROM public.unit_closure c
             WHERE c.ancestor = %4$s AND c.descendant = %1$s AND c.valid_to IS NULL
               AND c.valid_from <= (SELECT public.thidua_today() - 400)))
        OR EXISTS (
            SELECT 1 FROM public.unit_closure c
             WHERE c.ancestor = %4$s AND c.descendant = %1$s
               AND c.valid_from <= %2$s AND (c.valid_to IS NULL OR c.valid_to > %2$s))))))$e$;
    t text;
BEGIN
    -- The tree, as of today. A unit's own ancestors it may always read (whose campaigns reach
    -- it); rows below it only with a reach below, and only once the edge has begun.
    EXECUTE format($p$CREATE POLICY closure_read ON unit_closure FOR SELECT TO thidua_app USING (
        descendant = %1$s
        OR (ancestor = %1$s AND valid_from <= %2$s AND (depth = 0 OR %3$s)))$p$, me, today, wide);
    EXECUTE format($p$CREATE POLICY units_read ON units FOR SELECT TO thidua_app USING (
        tenant_id = %1$s
        OR (%3$s AND EXISTS (SELECT 1 FROM public.unit_closure c
                              WHERE c.ancestor = %1$s AND c.descendant = units.tenant_id
                                AND c.valid_from <= %2$s
                                AND (c.valid_to IS NULL OR c.valid_to > %2$s))))$p$,
        me, today, wide);
    EXECUTE format($p$CREATE POLICY parents_read ON unit_parents FOR SELECT TO thidua_app USING (
        tenant_id = %1$s
        OR (%3$s AND EXISTS (SELECT 1 FROM public.unit_closure c
                              WHERE c.ancestor = %1$s AND c.descendant = unit_parents.tenant_id
                                AND c.valid_from <= %2$s
                                AND (c.valid_to IS NULL OR c.valid_to > %2$s))))$p$,
        me, today, wide);

    EXECUTE format($p$CREATE POLICY campaigns_read ON campaigns FOR SELECT TO thidua_app USING (
        %1$s
        OR (status <> 'draft' AND coalesce(launched_on, recorded_on) < %5$s
            AND EXISTS (SELECT 1 FROM public.unit_closure c
                         WHERE c.descendant = %2$s AND c.ancestor = campaigns.tenant_id
                           AND c.valid_from <= %3$s
                           AND (c.valid_to IS NULL
                                OR c.valid_to > coalesce(launched_on, recorded_on)))))$p$,
        format(reach, 'campaigns.tenant_id', 'campaigns.recorded_on', wide, me, until),
        me, today, wide, until);

    FOREACH t IN ARRAY ARRAY['campaign_registrations', 'campaign_progress', 'campaign_pledges',
                             'campaign_works', 'campaign_initiatives'] LOOP
        EXECUTE format('CREATE POLICY %2$I ON %1$I FOR SELECT TO thidua_app USING %3$s',
            t, replace(replace(t, 'campaign_registrations', 'registrations'),
                       'campaign_progress', 'progress') || '_read',
            format(reach, t || '.tenant_id', t || '.recorded_on', wide, me, until));
    END LOOP;

    -- The log: a unit's own, and with the auditor's reach, the units below it.
    ALTER TABLE events ENABLE ROW LEVEL SECURITY;
    EXECUTE format('CREATE POLICY events_read ON events FOR SELECT TO thidua_app USING %s',
        format(reach, 'events.tenant_id',
               $e$((events.recorded_at AT TIME ZONE 'UTC') + interval '7 hours')::date$e$,
               audit, me, until));
END $$;

-- "Is the caller below p_tenant" (a campaign registered with, or carried out, must be one of a
-- unit above): through an edge that holds today, as every other reach here. It used to be any
-- edge ever, so a unit moved away could still register with its former parent's campaign, a
-- registration recorded after the move that the campaign's own unit could then not read.
CREATE OR REPLACE FUNCTION thidua_below(p_tenant text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.unit_closure c
                    WHERE c.ancestor = p_tenant
                      AND c.descendant = current_setting('thidua.tenant', true)
                      AND c.valid_from <= public.thidua_today()
                      AND (c.valid_to IS NULL OR c.valid_to > public.thidua_today()))
$$;

-- The registry's writer (finding 5). Before, a transaction that set thidua.registry_writer read
-- and wrote every unit, and any session could set it. Now the read policies ignore it, the
-- application may no longer write units, unit_parents or unit_closure at all, and the registry
-- changes only through the owner's functions below: thidua_registry_apply takes the places
-- (tenant, seq) of registry events already in the log and applies them, each once and in its
-- unit's order (its version must be the next), so only facts the log holds, hash-chained and
-- signed by their command's meta, ever change the tree. The one field it cannot derive is the
-- diacritic-free search key of a name (PostgreSQL here has no unaccent, shared/text.py): the
-- caller passes it beside the places; a wrong one could only mislead a search.
--
-- The registry's commands check their rules on facts of units they may not otherwise read (is
-- an id taken anywhere, what are a unit's ancestors on a day, its active children, its
-- registry events to load it): the read functions below answer those for one named unit at a
-- time (the importer: for the units of its file). Nothing in them lists units, and none
-- honours a setting. (A role for the registry's
-- writer was the other way: on the embedded server anyone connecting locally may log in as any
-- role, and the application would need a second pool; functions need neither.)
CREATE FUNCTION thidua_registry_units(p_units text[]) RETURNS SETOF units
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM public.units WHERE tenant_id = ANY (p_units) $$;

-- Which of p_units are taken: a unit id is taken for good once its log is open.
CREATE FUNCTION thidua_units_taken(p_units text[]) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(tenant_id), '{}') FROM (
        SELECT tenant_id FROM public.tenant_heads WHERE tenant_id = ANY (p_units)
        UNION SELECT tenant_id FROM public.units WHERE tenant_id = ANY (p_units)) t
$$;

CREATE FUNCTION thidua_registry_ancestors(p_unit text, p_on date) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(ancestor ORDER BY depth), '{}') FROM public.unit_closure
     WHERE descendant = p_unit AND depth > 0
       AND valid_from <= p_on AND (valid_to IS NULL OR valid_to > p_on)
$$;

CREATE FUNCTION thidua_registry_children(p_unit text) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(tenant_id ORDER BY tenant_id), '{}') FROM public.units
     WHERE parent_id = p_unit AND status = 'active'
$$;

CREATE FUNCTION thidua_registry_events(p_unit text)
RETURNS TABLE (tenant_id text, seq bigint, stream_id uuid, stream_version integer,
               event_type text, schema_version integer, data text, meta text,
               recorded_at timestamptz, prev_hash bytea, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.tenant_id, e.seq, e.stream_id, e.stream_version, e.event_type, e.schema_version,
           e.data::text, e.meta::text, e.recorded_at, e.prev_hash, e.hash
      FROM public.events e
     WHERE e.tenant_id = p_unit
       AND e.event_type IN ('UnitRegistered', 'UnitRenamed', 'UnitMoved', 'UnitMerged',
                            'UnitsAbsorbed', 'UnitDissolved')
     ORDER BY e.seq
$$;

-- The closure rows of p_units and of every unit that ever stood below them, rewritten from
-- unit_parents and the units' lives (services/registry/projections.py, closure_rows, does the
-- same in Python for a whole import): a unit's span under an ancestor is the meet of the parent
-- spans on the way up and the lives of the units passed; back-to-back spans of one ancestor at
-- one depth are joined.
CREATE FUNCTION thidua_registry_reclose(p_units text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_scope text[];
BEGIN
    v_scope := ARRAY(SELECT unnest(p_units)
                     UNION SELECT c.descendant FROM public.unit_closure c
                            WHERE c.ancestor = ANY (p_units));
    DELETE FROM public.unit_closure WHERE descendant = ANY (v_scope);
    INSERT INTO public.unit_closure (ancestor, descendant, depth, valid_from, valid_to)
    WITH RECURSIVE up (ancestor, descendant, depth, vf, vt) AS (
        SELECT u.tenant_id, u.tenant_id, 0, u.since,
               CASE WHEN u.status = 'dissolved' THEN u.ended_on END
          FROM public.units u WHERE u.tenant_id = ANY (v_scope)
        UNION ALL
        SELECT p.parent_id, up.descendant, up.depth + 1,
               greatest(up.vf, p.valid_from, a.since),
               least(up.vt, p.valid_to, CASE WHEN a.status = 'dissolved' THEN a.ended_on END)
          FROM up
          JOIN public.unit_parents p ON p.tenant_id = up.ancestor
          JOIN public.units a ON a.tenant_id = p.parent_id
         WHERE up.depth < 64  -- the rules refuse cycles; this only stops a corrupt model looping
           AND (least(up.vt, p.valid_to, CASE WHEN a.status = 'dissolved' THEN a.ended_on END)
                    IS NULL
                OR greatest(up.vf, p.valid_from, a.since)
                   < least(up.vt, p.valid_to,
                           CASE WHEN a.status = 'dissolved' THEN a.ended_on END))
    ),
    marked AS (
        SELECT *, CASE WHEN lag(vt) OVER w = vf THEN 0 ELSE 1 END AS starts
          FROM up WINDOW w AS (PARTITION BY ancestor, descendant, depth ORDER BY vf)
    ),
    grouped AS (
        SELECT *, sum(starts) OVER (PARTITION BY ancestor, descendant, depth ORDER BY vf) AS grp
          FROM marked
    )
    SELECT ancestor, descendant, depth, min(vf),
           CASE WHEN bool_or(vt IS NULL) THEN NULL ELSE max(vt) END
      FROM grouped GROUP BY ancestor, descendant, depth, grp
     ORDER BY descendant, depth;
END $$;

CREATE FUNCTION thidua_registry_apply(p_tenants text[], p_seqs bigint[], p_keys text[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e         record;
    d         jsonb;
    v_on      date;
    v_version integer;
    v_touched text[] := '{}';
    v_count   integer := 0;
BEGIN
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_seqs)
       OR cardinality(p_tenants) IS DISTINCT FROM cardinality(p_keys) THEN
        RAISE EXCEPTION 'tenants, seqs and keys differ in number' USING ERRCODE = 'TD003';
    END IF;
    FOR e IN
        SELECT ev.tenant_id, ev.seq, ev.stream_version, ev.event_type, ev.data, w.key
          FROM unnest(p_tenants, p_seqs, p_keys) WITH ORDINALITY AS w(tenant_id, seq, key, ord)
          JOIN public.events ev ON ev.tenant_id = w.tenant_id AND ev.seq = w.seq
         WHERE ev.event_type IN ('UnitRegistered', 'UnitRenamed', 'UnitMoved', 'UnitMerged',
                                 'UnitsAbsorbed', 'UnitDissolved')
         ORDER BY w.ord
    LOOP
        SELECT u.version INTO v_version FROM public.units u WHERE u.tenant_id = e.tenant_id
           FOR UPDATE;
        IF coalesce(v_version, 0) + 1 <> e.stream_version THEN
            RAISE EXCEPTION 'registry event % of % is not the next of its unit', e.seq, e.tenant_id
                USING ERRCODE = 'TD003';
        END IF;
        d := e.data;
        v_on := (d->'effective_on'->>'_data_')::date;
        v_count := v_count + 1;
        CASE e.event_type
        WHEN 'UnitRegistered' THEN
            IF d->>'unit_id' IS DISTINCT FROM e.tenant_id THEN
                RAISE EXCEPTION 'unit % registered in the log of %', d->>'unit_id', e.tenant_id
                    USING ERRCODE = 'TD003';
            END IF;
            INSERT INTO public.units (tenant_id, name, short_name, level, sector_type, members,
                                      parent_id, since, search_key, version)
            VALUES (e.tenant_id, d->>'name', d->>'short_name', d->>'level', d->>'sector_type',
                    (d->>'members')::integer, d->>'parent_id', v_on, e.key, 1);
            IF d->>'parent_id' IS NOT NULL THEN
                INSERT INTO public.unit_parents (tenant_id, parent_id, valid_from)
                VALUES (e.tenant_id, d->>'parent_id', v_on);
            END IF;
            v_touched := v_touched || e.tenant_id;
        WHEN 'UnitRenamed' THEN
            UPDATE public.units SET name = d->>'name', short_name = d->>'short_name',
                   search_key = e.key, version = e.stream_version
             WHERE tenant_id = e.tenant_id;
        WHEN 'UnitMoved', 'UnitMerged' THEN
            UPDATE public.unit_parents SET valid_to = v_on
             WHERE tenant_id = e.tenant_id AND valid_to IS NULL;
            INSERT INTO public.unit_parents (tenant_id, parent_id, kind, valid_from)
            VALUES (e.tenant_id, coalesce(d->>'to_parent', d->>'into'),
                    CASE e.event_type WHEN 'UnitMerged' THEN 'merged' ELSE 'child' END, v_on);
            -- The parent as of today: one from a future day waits for thidua_registry_catch_up.
            UPDATE public.units SET
                   parent_id = CASE WHEN v_on <= public.thidua_today()
                                    THEN coalesce(d->>'to_parent', d->>'into') ELSE parent_id END,
                   version = e.stream_version
             WHERE tenant_id = e.tenant_id;
            IF e.event_type = 'UnitMerged' THEN
                UPDATE public.units SET merged_into = d->>'into', status = 'merged', ended_on = v_on
                 WHERE tenant_id = e.tenant_id;
            END IF;
            v_touched := v_touched || e.tenant_id;
        WHEN 'UnitsAbsorbed' THEN
            UPDATE public.units SET version = e.stream_version WHERE tenant_id = e.tenant_id;
        WHEN 'UnitDissolved' THEN
            UPDATE public.unit_parents SET valid_to = v_on
             WHERE tenant_id = e.tenant_id AND valid_to IS NULL;
            UPDATE public.units SET status = 'dissolved', ended_on = v_on,
                   version = e.stream_version
             WHERE tenant_id = e.tenant_id;
            v_touched := v_touched || e.tenant_id;
        END CASE;
    END LOOP;
    IF cardinality(v_touched) > 0 THEN
        PERFORM public.thidua_registry_reclose(v_touched);
    END IF;
    RETURN v_count;
END $$;

-- Only the application runs these (and the owner); thidua_registry_reclose only from apply.
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['thidua_registry_units(text[])', 'thidua_units_taken(text[])',
                             'thidua_registry_ancestors(text, date)',
                             'thidua_registry_children(text)', 'thidua_registry_events(text)',
                             'thidua_registry_apply(text[], bigint[], text[])'] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO thidua_app', f);
    END LOOP;
    REVOKE ALL ON FUNCTION thidua_registry_reclose(text[]) FROM PUBLIC;
END $$;

-- The flag no longer grants anything: the function stays (0009's policies name it) but says no.
CREATE OR REPLACE FUNCTION thidua_registry_writer() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT false $$;
DROP POLICY units_insert ON units;
DROP POLICY units_update ON units;
DROP POLICY units_delete ON units;
DROP POLICY parents_insert ON unit_parents;
DROP POLICY parents_update ON unit_parents;
DROP POLICY parents_delete ON unit_parents;
DROP POLICY closure_insert ON unit_closure;
DROP POLICY closure_update ON unit_closure;
DROP POLICY closure_delete ON unit_closure;
REVOKE INSERT, UPDATE, DELETE ON units, unit_parents, unit_closure FROM thidua_app;
