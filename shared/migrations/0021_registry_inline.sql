-- Issue 13, point 6: the registry's read model is its inline projection "registry", version 1
-- (services/registry/projections.py), applied by each registry command and by the importer in
-- the transaction that appends the events.
--
-- Up to now the commands wrote those rows without a checkpoint: the projection starts live at
-- version 1 with each tenant's checkpoint at its head, where the rows already are.
--
-- An import opens tens of thousands of logs in one transaction; advancing their checkpoints one
-- call each would cost a round trip per unit. The set form below advances them all in one; the
-- single form (0018) now goes through it, so the rules (which projections, only forward, never
-- past a head) are written once.
SET LOCAL search_path = public;

INSERT INTO projection_versions (name, version, state)
SELECT 'registry', 1, 'live'
 WHERE NOT EXISTS (SELECT 1 FROM projection_versions WHERE name = 'registry' AND state = 'live')
ON CONFLICT DO NOTHING;

INSERT INTO projection_checkpoints (name, version, tenant_id, last_seq)
SELECT 'registry', v.version, h.tenant_id, h.seq
  FROM tenant_heads h, projection_versions v
 WHERE v.name = 'registry' AND v.state = 'live'
ON CONFLICT (name, version, tenant_id) DO UPDATE
    SET last_seq = greatest(projection_checkpoints.last_seq, EXCLUDED.last_seq);

CREATE FUNCTION thidua_advance_inline_many(
    p_name text, p_first_version integer, p_tenants text[], p_seqs bigint[]
) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_version integer;
    v_past    text;
BEGIN
    IF p_name <> ALL (ARRAY['registry']) THEN
        RAISE EXCEPTION 'projection % is not applied inline', p_name USING ERRCODE = '42501';
    END IF;
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_seqs) THEN
        RAISE EXCEPTION 'tenants and seqs differ in number' USING ERRCODE = 'TD003';
    END IF;
    SELECT w.tenant_id INTO v_past
      FROM unnest(p_tenants, p_seqs) AS w(tenant_id, seq)
      LEFT JOIN public.tenant_heads h ON h.tenant_id = w.tenant_id
     WHERE w.seq > coalesce(h.seq, 0)
     LIMIT 1;
    IF v_past IS NOT NULL THEN
        RAISE EXCEPTION 'a seq is past the head of %', v_past USING ERRCODE = 'TD003';
    END IF;
    INSERT INTO public.projection_versions (name, version, state)
    SELECT p_name, p_first_version, 'live'
     WHERE NOT EXISTS (SELECT 1 FROM public.projection_versions v
                        WHERE v.name = p_name AND v.state = 'live')
    ON CONFLICT DO NOTHING;
    SELECT v.version INTO v_version FROM public.projection_versions v
     WHERE v.name = p_name AND v.state = 'live';
    -- In tenant order, as appends lock heads: two commands never wait for each other in a circle.
    INSERT INTO public.projection_checkpoints AS c (name, version, tenant_id, last_seq)
    SELECT p_name, v_version, w.tenant_id, max(w.seq)
      FROM unnest(p_tenants, p_seqs) AS w(tenant_id, seq)
     GROUP BY w.tenant_id
     ORDER BY w.tenant_id
    ON CONFLICT (name, version, tenant_id) DO UPDATE
        SET last_seq = greatest(c.last_seq, EXCLUDED.last_seq), updated_at = now();
END $$;
REVOKE ALL ON FUNCTION thidua_advance_inline_many(text, integer, text[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_advance_inline_many(text, integer, text[], bigint[]) TO thidua_app;

CREATE OR REPLACE FUNCTION thidua_advance_inline(
    p_name text, p_first_version integer, p_tenant text, p_seq bigint
) RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT public.thidua_advance_inline_many(p_name, p_first_version, ARRAY[p_tenant], ARRAY[p_seq])
$$;

-- The registry's function (0010) as its projection's batch: the same per-event work, but the
-- registrations of a batch are inserted in two statements before the loop, not one by one, and
-- their closure rows walked down from the tree above them rather than recomputed for each. Each
-- is its unit's first event, so none depends on another event of the batch; an import brings a
-- whole national tree in one batch, and a loop over it was most of the import's time. The other
-- events, and the closure of every unit they touch, go as before.
CREATE OR REPLACE FUNCTION thidua_registry_apply(p_tenants text[], p_seqs bigint[], p_keys text[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e            record;
    d            jsonb;
    v_on         date;
    v_version    integer;
    v_touched    text[] := '{}';
    v_registered text[];
    v_count      integer := 0;
    v_wrong      text;
BEGIN
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_seqs)
       OR cardinality(p_tenants) IS DISTINCT FROM cardinality(p_keys) THEN
        RAISE EXCEPTION 'tenants, seqs and keys differ in number' USING ERRCODE = 'TD003';
    END IF;
    -- Checked as the rows are read, raised once they are written: one pass over the events.
    WITH registered AS MATERIALIZED (
        SELECT ev.tenant_id, ev.data AS d, (ev.data->'effective_on'->>'_data_')::date AS since,
               w.key,
               ev.stream_version <> 1
               OR ev.data->>'unit_id' IS DISTINCT FROM ev.tenant_id
               OR EXISTS (SELECT 1 FROM public.units u WHERE u.tenant_id = ev.tenant_id) AS wrong
          FROM unnest(p_tenants, p_seqs, p_keys) AS w(tenant_id, seq, key)
          JOIN public.events ev ON ev.tenant_id = w.tenant_id AND ev.seq = w.seq
         WHERE ev.event_type = 'UnitRegistered'
    ), into_units AS (
        INSERT INTO public.units (tenant_id, name, short_name, level, sector_type, members,
                                  parent_id, since, search_key, version)
        SELECT r.tenant_id, r.d->>'name', r.d->>'short_name', r.d->>'level', r.d->>'sector_type',
               (r.d->>'members')::integer, r.d->>'parent_id', r.since, r.key, 1
          FROM registered r WHERE NOT r.wrong ORDER BY r.tenant_id
        RETURNING tenant_id
    ), into_parents AS (
        INSERT INTO public.unit_parents (tenant_id, parent_id, valid_from)
        SELECT r.tenant_id, r.d->>'parent_id', r.since
          FROM registered r WHERE NOT r.wrong AND r.d->>'parent_id' IS NOT NULL
         ORDER BY r.tenant_id
    )
    SELECT coalesce(array_agg(tenant_id), '{}'),
           (SELECT min(r.tenant_id) FROM registered r WHERE r.wrong)
      INTO v_registered, v_wrong FROM into_units;
    IF v_wrong IS NOT NULL THEN
        RAISE EXCEPTION 'the registration of % is not the next of its unit, or not its own',
            v_wrong USING ERRCODE = 'TD003';
    END IF;
    v_count := cardinality(v_registered);
    -- Their closure rows, walking down from the tree above them: a new unit has no children
    -- but new ones, and no closure rows yet, so each is its own row and its parent's rows one
    -- deeper from its first day (the parent's rows already meet the lives above it).
    INSERT INTO public.unit_closure (ancestor, descendant, depth, valid_from, valid_to)
    WITH RECURSIVE down (ancestor, descendant, depth, valid_from, valid_to) AS (
        SELECT u.tenant_id, u.tenant_id, 0, u.since, NULL::date
          FROM unnest(v_registered) AS n(tenant_id)
          JOIN public.units u ON u.tenant_id = n.tenant_id
        UNION ALL
        SELECT c.ancestor, u.tenant_id, c.depth + 1, greatest(c.valid_from, u.since), c.valid_to
          FROM unnest(v_registered) AS n(tenant_id)
          JOIN public.units u ON u.tenant_id = n.tenant_id
          JOIN public.unit_closure c ON c.descendant = u.parent_id
         WHERE c.valid_to IS NULL OR greatest(c.valid_from, u.since) < c.valid_to
        UNION ALL
        SELECT d.ancestor, u.tenant_id, d.depth + 1, greatest(d.valid_from, u.since), d.valid_to
          FROM down d
          JOIN public.units u ON u.parent_id = d.descendant
         WHERE d.depth < 64  -- the rules refuse cycles; this only stops a corrupt model looping
           AND (d.valid_to IS NULL OR greatest(d.valid_from, u.since) < d.valid_to)
    )
    SELECT * FROM down ORDER BY descendant, depth;
    FOR e IN
        SELECT ev.tenant_id, ev.seq, ev.stream_version, ev.event_type, ev.data, w.key
          FROM unnest(p_tenants, p_seqs, p_keys) WITH ORDINALITY AS w(tenant_id, seq, key, ord)
          JOIN public.events ev ON ev.tenant_id = w.tenant_id AND ev.seq = w.seq
         WHERE ev.event_type IN ('UnitRenamed', 'UnitMoved', 'UnitMerged', 'UnitsAbsorbed',
                                 'UnitDissolved')
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
