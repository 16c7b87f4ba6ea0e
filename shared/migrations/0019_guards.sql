-- Issue 13, point 4: rules that span aggregates are never checked against stale state.
--
-- A command decides on what it read, and some of what it read lives in other units' logs (the
-- campaign a registration joins, in the launching unit's log). Such an append carries guards:
-- (tenant, stream, version) of the streams the decision read. The append checks them while it
-- holds a share lock on each guarded tenant's head: every append to that tenant takes the head
-- FOR UPDATE, so none can land between the check and this append's commit, and one already under
-- way is waited for and then seen. The appending tenant's own head is locked FOR UPDATE in the
-- same pass, all heads in tenant byte order, the order the batched appends lock theirs in (0008):
-- no two appends wait for each other in a circle. A guard that fails raises TD006, naming the
-- guarded tenant and its head, so the command waits for that tenant's projections before it
-- decides again. The events themselves go through thidua_append, its round-trip check (0014)
-- and its idempotency keys included; appends without guards keep the batched path.
SET LOCAL search_path = public;

CREATE FUNCTION public.thidua_append_guarded(
    p_tenant          text,
    p_payloads        text[],
    p_idem_key        text,
    p_fingerprint     bytea,
    p_guard_tenants   text[],
    p_guard_streams   uuid[],
    p_guard_versions  integer[]
) RETURNS TABLE (out_seq bigint, out_recorded_at timestamptz, out_hash bytea, out_replayed boolean)
LANGUAGE plpgsql
-- As thidua_append: the owner's rights, pg_catalog's names only, our tables by schema.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n       integer := coalesce(cardinality(p_guard_tenants), 0);
    v_tenant  text;
    v_version integer;
    v_head    bigint;
BEGIN
    IF v_n <> coalesce(cardinality(p_guard_streams), 0)
       OR v_n <> coalesce(cardinality(p_guard_versions), 0) THEN
        RAISE EXCEPTION 'a guard needs a tenant, a stream and a version' USING ERRCODE = 'TD003';
    END IF;
    -- The own head made first, while no lock is held: made later, it would be locked out of
    -- tenant order.
    INSERT INTO public.tenant_heads (tenant_id) VALUES (p_tenant) ON CONFLICT DO NOTHING;
    FOR v_tenant IN
        SELECT DISTINCT t COLLATE "C" FROM unnest(p_guard_tenants || p_tenant) AS t ORDER BY 1
    LOOP
        IF v_tenant = p_tenant THEN
            PERFORM FROM public.tenant_heads h WHERE h.tenant_id = v_tenant FOR UPDATE;
        ELSE
            PERFORM FROM public.tenant_heads h WHERE h.tenant_id = v_tenant FOR SHARE;
        END IF;
    END LOOP;

    -- A repeated key answers with the first append, whatever its guards say now.
    IF p_idem_key IS NOT NULL AND EXISTS (
        SELECT FROM public.idempotency_keys k WHERE k.tenant_id = p_tenant AND k.key = p_idem_key
    ) THEN
        RETURN QUERY SELECT * FROM public.thidua_append(p_tenant, p_payloads, p_idem_key,
                                                        p_fingerprint);
        RETURN;
    END IF;

    -- Each statement sees what committed before it began: after the locks, every append to a
    -- guarded tenant has committed or waits for this one.
    FOR i IN 1 .. v_n LOOP
        SELECT max(e.stream_version) INTO v_version FROM public.events e
         WHERE e.tenant_id = p_guard_tenants[i] AND e.stream_id = p_guard_streams[i];
        IF coalesce(v_version, 0) IS DISTINCT FROM p_guard_versions[i] THEN
            SELECT h.seq INTO v_head FROM public.tenant_heads h
             WHERE h.tenant_id = p_guard_tenants[i];
            RAISE EXCEPTION 'stream % of % is at version %, not %', p_guard_streams[i],
                p_guard_tenants[i], coalesce(v_version, 0), p_guard_versions[i]
                USING ERRCODE = 'TD006',
                      DETAIL = json_build_object('tenant', p_guard_tenants[i],
                                                 'stream', p_guard_streams[i],
                                                 'head', coalesce(v_head, 0))::text;
        END IF;
    END LOOP;

    RETURN QUERY SELECT * FROM public.thidua_append(p_tenant, p_payloads, p_idem_key,
                                                    p_fingerprint);
END $$;

REVOKE ALL ON FUNCTION public.thidua_append_guarded(text, text[], text, bytea, text[], uuid[],
                                                    integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.thidua_append_guarded(text, text[], text, bytea, text[], uuid[],
                                                       integer[]) TO thidua_app;
