-- Issue 13, point 6: the bulk importer keeps its speed through the registry's one projection
-- path. The importer now applies the projection chunk by chunk as it opens the logs (parents'
-- chunks first), so that Python makes the next chunk while the database stores this one; 0021's
-- function walked the closure down through every unit of the tree at each call (a hash of the
-- whole units table per level), which made chunked calls twice as slow as one call.
--
-- Here the batch's events are read once, and a registration's closure rows are built a level of
-- the new tree at a time: its own row, and its parent's rows one deeper from its first day,
-- those rows found through the closure's descendant index. What a full rebuild gives is
-- unchanged (tests/registry/test_import.py compares them).
--
-- For the function's own statements (set_config, local, put back before it returns: a function
-- with the owner's rights may carry no setting but its search_path), plans are made for each
-- call's arrays (force_custom_plan): a batch is one event for a command
-- and 5,000 for an import, and a generic plan that guessed ten rows joined two 5,000-row arrays
-- by a nested loop. Every table is read by its key (enable_seqscan off): an import grows them
-- from nothing within its transaction, where no statistics see it, and a plan that hashed the
-- whole events table for each chunk made the import's time grow with the square of its size.
SET LOCAL search_path = public;

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
    v_ids        text[];
    v_parents    text[];
    v_since      date[];
    l_ids        text[];
    l_parents    text[];
    l_since      date[];
    v_closed     integer := 0;
    v_count      integer := 0;
    v_wrong      text;
    v_others     bigint;
    -- The caller's, put back on the way out (on an error the rollback puts them back).
    v_plans      text := current_setting('plan_cache_mode');
    v_seqscan    text := current_setting('enable_seqscan');
BEGIN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true),
            set_config('enable_seqscan', 'off', true);
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_seqs)
       OR cardinality(p_tenants) IS DISTINCT FROM cardinality(p_keys) THEN
        RAISE EXCEPTION 'tenants, seqs and keys differ in number' USING ERRCODE = 'TD003';
    END IF;
    -- The batch's events, read once; its registrations inserted in two statements: each is its
    -- unit's first event, so none depends on another event of the batch.
    WITH batch AS MATERIALIZED (
        SELECT ev.tenant_id, ev.event_type, ev.stream_version, ev.data AS d, w.key
          FROM unnest(p_tenants, p_seqs, p_keys) AS w(tenant_id, seq, key)
          JOIN public.events ev ON ev.tenant_id = w.tenant_id AND ev.seq = w.seq
         WHERE ev.event_type IN ('UnitRegistered', 'UnitRenamed', 'UnitMoved', 'UnitMerged',
                                 'UnitsAbsorbed', 'UnitDissolved')
    ), registered AS MATERIALIZED (
        SELECT b.tenant_id, b.d, (b.d->'effective_on'->>'_data_')::date AS since, b.key,
               b.stream_version <> 1
               OR b.d->>'unit_id' IS DISTINCT FROM b.tenant_id
               OR EXISTS (SELECT 1 FROM public.units u WHERE u.tenant_id = b.tenant_id) AS wrong
          FROM batch b
         WHERE b.event_type = 'UnitRegistered'
    ), into_units AS (
        INSERT INTO public.units (tenant_id, name, short_name, level, sector_type, members,
                                  parent_id, since, search_key, version)
        SELECT r.tenant_id, r.d->>'name', r.d->>'short_name', r.d->>'level', r.d->>'sector_type',
               (r.d->>'members')::integer, r.d->>'parent_id', r.since, r.key, 1
          FROM registered r WHERE NOT r.wrong ORDER BY r.tenant_id
        RETURNING tenant_id, parent_id, since
    ), into_parents AS (
        INSERT INTO public.unit_parents (tenant_id, parent_id, valid_from)
        SELECT r.tenant_id, r.d->>'parent_id', r.since
          FROM registered r WHERE NOT r.wrong AND r.d->>'parent_id' IS NOT NULL
         ORDER BY r.tenant_id
    )
    SELECT coalesce(array_agg(tenant_id ORDER BY tenant_id), '{}'),
           coalesce(array_agg(parent_id ORDER BY tenant_id), '{}'),
           coalesce(array_agg(since ORDER BY tenant_id), '{}'),
           (SELECT min(r.tenant_id) FROM registered r WHERE r.wrong),
           (SELECT count(*) FROM batch b WHERE b.event_type <> 'UnitRegistered')
      INTO v_ids, v_parents, v_since, v_wrong, v_others FROM into_units;
    IF v_wrong IS NOT NULL THEN
        RAISE EXCEPTION 'the registration of % is not the next of its unit, or not its own',
            v_wrong USING ERRCODE = 'TD003';
    END IF;
    v_count := cardinality(v_ids);
    -- Their closure rows, a level of the new tree at a time, top down: a new unit has no
    -- children but new ones and no closure rows yet, so its rows are its own and its parent's
    -- one deeper from its first day (the parent's rows already meet the lives above it). The
    -- top level: new units under no parent or under one registered before this batch.
    SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}'),
           coalesce(array_agg(r.parent ORDER BY r.id), '{}'),
           coalesce(array_agg(r.since ORDER BY r.id), '{}')
      INTO l_ids, l_parents, l_since
      FROM unnest(v_ids, v_parents, v_since) AS r(id, parent, since)
     WHERE r.parent IS NULL
        OR NOT EXISTS (SELECT 1 FROM unnest(v_ids) AS n(id) WHERE n.id = r.parent);
    WHILE cardinality(l_ids) > 0 LOOP
        -- The parents' rows found by the index, a handful of parents for thousands of units.
        INSERT INTO public.unit_closure (ancestor, descendant, depth, valid_from, valid_to)
        SELECT l.id, l.id, 0, l.since, NULL::date
          FROM unnest(l_ids, l_since) AS l(id, since)
        UNION ALL
        SELECT c.ancestor, l.id, c.depth + 1, greatest(c.valid_from, l.since), c.valid_to
          FROM public.unit_closure c
          JOIN unnest(l_ids, l_parents, l_since) AS l(id, parent, since) ON l.parent = c.descendant
         WHERE c.descendant = ANY (ARRAY(SELECT DISTINCT p FROM unnest(l_parents) AS p))
           AND (c.valid_to IS NULL OR greatest(c.valid_from, l.since) < c.valid_to);
        v_closed := v_closed + cardinality(l_ids);
        -- The next level: the new units under this one.
        SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}'),
               coalesce(array_agg(r.parent ORDER BY r.id), '{}'),
               coalesce(array_agg(r.since ORDER BY r.id), '{}')
          INTO l_ids, l_parents, l_since
          FROM unnest(v_ids, v_parents, v_since) AS r(id, parent, since)
          JOIN unnest(l_ids) AS n(id) ON n.id = r.parent;
    END LOOP;
    IF v_closed <> v_count THEN  -- the rules refuse cycles; this only stops a corrupt model
        RAISE EXCEPTION 'registrations in this batch form a cycle' USING ERRCODE = 'TD003';
    END IF;
    IF v_others = 0 THEN  -- an import: nothing but registrations
        PERFORM set_config('plan_cache_mode', v_plans, true),
                set_config('enable_seqscan', v_seqscan, true);
        RETURN v_count;
    END IF;
    -- The other events, one by one in log order, as 0010 and 0021 applied them.
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
    PERFORM set_config('plan_cache_mode', v_plans, true),
            set_config('enable_seqscan', v_seqscan, true);
    RETURN v_count;
END $$;
