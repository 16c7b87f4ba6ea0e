-- Group commit (shared/groupcommit.py): the appends of many commands, of one tenant or many, in
-- one statement and one transaction, so that they share one WAL flush and one pass of the
-- function's fixed costs. Each append means what it means in thidua_append: its events get the
-- next seqs of its tenant's log, chained; the same checks refuse the same things. If any append
-- is refused the whole statement fails and the caller retries its appends one by one, so each
-- gets its own answer. Appends with an idempotency key go one by one through thidua_append.
SET LOCAL search_path = public;

CREATE FUNCTION thidua_append_batch(
    p_tenants  text[],   -- one per append, in tenant order (byte order); an append's events
    p_counts   integer[],-- are p_counts[i] consecutive payloads
    p_payloads text[]
) RETURNS TABLE (out_append integer, out_seq bigint, out_recorded_at timestamptz,
                 out_hash bytea, out_replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_at      timestamptz := clock_timestamp();
    v_header  text := E'\n' || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n';
    v_docs    jsonb[] := p_payloads::jsonb[];
    v_n       integer := coalesce(cardinality(p_payloads), 0);
    v_heads   text[];
    v_seqs0   bigint[];
    v_hashes0 bytea[];
    v_h       integer := 0;
    v_tenant  text;
    v_seq     bigint;
    v_prev    bytea;
    v_event   integer := 0;
    v_version integer;
    v_doc     jsonb;
    v_ev_tenants text[] := '{}';
    v_ev_seqs    bigint[] := '{}';
    v_ev_prevs   bytea[] := '{}';
    v_ev_hashes  bytea[] := '{}';
    v_ev_appends integer[] := '{}';
    v_last_tenants text[] := '{}';
    v_last_seqs    bigint[] := '{}';
    v_last_hashes  bytea[] := '{}';
BEGIN
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_counts)
       OR (SELECT sum(c) FROM unnest(p_counts) c) IS DISTINCT FROM v_n
       OR EXISTS (SELECT FROM unnest(p_counts) c WHERE c IS NULL OR c < 1)
       OR EXISTS (SELECT FROM unnest(p_tenants) WITH ORDINALITY a(t, i)
                   WHERE a.i > 1 AND a.t COLLATE "C" < p_tenants[a.i - 1] COLLATE "C") THEN
        RAISE EXCEPTION 'a batch needs appends in tenant order, each with events'
            USING ERRCODE = 'TD003';
    END IF;

    -- Heads of new tenants first; then every head of the batch locked, in the same order in
    -- every batch, so two batches never wait for each other in a circle.
    INSERT INTO public.tenant_heads (tenant_id)
    SELECT DISTINCT t FROM unnest(p_tenants) t
     WHERE NOT EXISTS (SELECT FROM public.tenant_heads h WHERE h.tenant_id = t)
    ON CONFLICT DO NOTHING;
    SELECT array_agg(h.tenant_id ORDER BY h.tenant_id COLLATE "C"),
           array_agg(h.seq ORDER BY h.tenant_id COLLATE "C"),
           array_agg(h.hash ORDER BY h.tenant_id COLLATE "C")
      INTO v_heads, v_seqs0, v_hashes0
      FROM (SELECT tenant_id, seq, hash FROM public.tenant_heads
             WHERE tenant_id = ANY (p_tenants)
             ORDER BY tenant_id COLLATE "C" FOR UPDATE) h;

    FOR a IN 1 .. coalesce(cardinality(p_tenants), 0) LOOP
        IF p_tenants[a] IS DISTINCT FROM v_tenant THEN
            IF v_tenant IS NOT NULL THEN
                v_last_tenants := v_last_tenants || v_tenant;
                v_last_seqs := v_last_seqs || v_seq;
                v_last_hashes := v_last_hashes || v_prev;
            END IF;
            v_h := v_h + 1;
            v_tenant := p_tenants[a];
            v_seq := v_seqs0[v_h];
            v_prev := v_hashes0[v_h];
        END IF;
        FOR k IN 1 .. p_counts[a] LOOP
            v_event := v_event + 1;
            v_doc := v_docs[v_event];
            -- As in thidua_append: the text holds exactly the stored fields, of this tenant.
            IF v_doc->>'tenant_id' IS DISTINCT FROM v_tenant
               OR NOT v_doc ?& ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                                     'stream_version', 'tenant_id']
               OR v_doc - ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                                'stream_version', 'tenant_id'] <> '{}'::jsonb
               OR v_doc->>'stream_id' <> (v_doc->>'stream_id')::uuid::text THEN
                RAISE EXCEPTION 'event % is not a canonical event of tenant %', v_event, v_tenant
                    USING ERRCODE = 'TD003';
            END IF;
            -- A stream continues from its stored last version, checked where its run begins.
            v_version := (v_doc->>'stream_version')::int;
            IF v_version > 1 AND (k = 1 OR v_doc->>'stream_id' <> v_docs[v_event - 1]->>'stream_id') THEN
                PERFORM FROM public.events e
                  WHERE e.tenant_id = v_tenant AND e.stream_id = (v_doc->>'stream_id')::uuid
                    AND e.stream_version = v_version - 1;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'stream version % does not follow the stream''s last version', v_version
                        USING ERRCODE = 'TD001';
                END IF;
            END IF;
            v_seq := v_seq + 1;
            v_ev_tenants := v_ev_tenants || v_tenant;
            v_ev_seqs := v_ev_seqs || v_seq;
            v_ev_prevs := v_ev_prevs || v_prev;
            v_prev := sha256(v_prev || convert_to(v_seq::text || v_header || p_payloads[v_event], 'UTF8'));
            v_ev_hashes := v_ev_hashes || v_prev;
            v_ev_appends := v_ev_appends || a;
        END LOOP;
    END LOOP;
    IF v_tenant IS NOT NULL THEN
        v_last_tenants := v_last_tenants || v_tenant;
        v_last_seqs := v_last_seqs || v_seq;
        v_last_hashes := v_last_hashes || v_prev;
    END IF;

    INSERT INTO public.events (tenant_id, seq, stream_id, stream_version, event_type, schema_version,
                               data, meta, recorded_at, prev_hash, hash)
    SELECT u.t, u.s, (u.doc->>'stream_id')::uuid, (u.doc->>'stream_version')::int,
           u.doc->>'event_type', (u.doc->>'schema_version')::int, u.doc->'data', u.doc->'meta',
           v_at, u.ph, u.h
      FROM unnest(v_ev_tenants, v_ev_seqs, v_docs, v_ev_prevs, v_ev_hashes)
           AS u(t, s, doc, ph, h);

    UPDATE public.tenant_heads h SET seq = l.s, hash = l.h, updated_at = v_at
      FROM unnest(v_last_tenants, v_last_seqs, v_last_hashes) AS l(t, s, h)
     WHERE h.tenant_id = l.t;

    RETURN QUERY SELECT r.a, r.s, v_at, r.h, false
                   FROM unnest(v_ev_appends, v_ev_seqs, v_ev_hashes) AS r(a, s, h);
END $$;

REVOKE ALL ON FUNCTION thidua_append_batch(text[], integer[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_append_batch(text[], integer[], text[]) TO thidua_app;
