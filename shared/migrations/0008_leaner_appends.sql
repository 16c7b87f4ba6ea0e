-- The two append functions again, doing the same with fewer statements: every statement a
-- PL/pgSQL function runs pays for its own executor start, and at 8 appends a batch those starts
-- were a fifth of the batch's time (tests/perf/bench_store.py). The checks and the errors are
-- those of 0001 and 0004.
--
-- thidua_append_batch: the batch's shape checked in a loop of plain expressions (0004 ran four
-- subqueries); the heads locked first and inserted only when one is missing; the events and the
-- heads' new positions in one statement; the per-event arrays filled in place (appending to an
-- array copies it: quadratic in a 2,000-event batch); the answer one row of arrays.
-- thidua_append: the events, the head and the idempotency key in one statement.
SET LOCAL search_path = public;

CREATE OR REPLACE FUNCTION thidua_append(
    p_tenant      text,
    p_payloads    text[],
    p_idem_key    text,
    p_fingerprint bytea
) RETURNS TABLE (out_seq bigint, out_recorded_at timestamptz, out_hash bytea, out_replayed boolean)
LANGUAGE plpgsql
-- Runs with the owner's rights: the application role may append only through this function,
-- which computes the chain itself, so it can never store a row with a hash of its own making.
-- Every table is schema-qualified and pg_temp searched last, so no temporary table of the
-- caller's can stand in for one of ours.
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_seq    bigint;
    v_prev   bytea;
    v_first  bigint;
    v_at     timestamptz;
    v_header text;
    v_key    record;
    v_docs   jsonb[] := p_payloads::jsonb[];
    v_prevs  bytea[] := '{}';
    v_hashes bytea[] := '{}';
    v_version integer;
BEGIN
    SELECT h.seq, h.hash INTO v_seq, v_prev
      FROM public.tenant_heads h WHERE h.tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO public.tenant_heads (tenant_id) VALUES (p_tenant) ON CONFLICT DO NOTHING;
        SELECT h.seq, h.hash INTO v_seq, v_prev
          FROM public.tenant_heads h WHERE h.tenant_id = p_tenant FOR UPDATE;
    END IF;

    IF p_idem_key IS NOT NULL THEN
        SELECT k.fingerprint, k.first_seq, k.last_seq INTO v_key
          FROM public.idempotency_keys k WHERE k.tenant_id = p_tenant AND k.key = p_idem_key;
        IF FOUND THEN
            IF v_key.fingerprint <> p_fingerprint THEN
                RAISE EXCEPTION 'idempotency key % was used for another request', p_idem_key
                    USING ERRCODE = 'TD002';
            END IF;
            RETURN QUERY
                SELECT e.seq, e.recorded_at, e.hash, true FROM public.events e
                 WHERE e.tenant_id = p_tenant AND e.seq BETWEEN v_key.first_seq AND v_key.last_seq
                 ORDER BY e.seq;
            RETURN;
        END IF;
    END IF;

    v_at := clock_timestamp();
    v_header := E'\n' || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n';
    v_first := v_seq + 1;
    FOR i IN 1 .. cardinality(p_payloads) LOOP
        -- The hash covers the payload text, but the row keeps the parsed fields: the text must
        -- hold exactly those fields, in their stored forms, or the row could never verify.
        IF v_docs[i]->>'tenant_id' IS DISTINCT FROM p_tenant
           OR NOT v_docs[i] ?& ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                                     'stream_version', 'tenant_id']
           OR v_docs[i] - ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                                'stream_version', 'tenant_id'] <> '{}'::jsonb
           OR v_docs[i]->>'stream_id' <> (v_docs[i]->>'stream_id')::uuid::text THEN
            RAISE EXCEPTION 'event % is not a canonical event of tenant %', i, p_tenant
                USING ERRCODE = 'TD003';
        END IF;
        -- A stream continues only from its stored last version: checked where a stream's run in
        -- this append begins (the caller keeps each stream's events together and consecutive);
        -- the unique key catches a version already taken.
        v_version := (v_docs[i]->>'stream_version')::int;
        IF v_version > 1 AND (i = 1 OR v_docs[i]->>'stream_id' <> v_docs[i - 1]->>'stream_id') THEN
            PERFORM FROM public.events e
              WHERE e.tenant_id = p_tenant AND e.stream_id = (v_docs[i]->>'stream_id')::uuid
                AND e.stream_version = v_version - 1;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'stream version % does not follow the stream''s last version', v_version
                    USING ERRCODE = 'TD001';
            END IF;
        END IF;
        v_seq := v_seq + 1;
        v_prevs[i] := v_prev;
        v_prev := sha256(v_prev || convert_to(v_seq::text || v_header || p_payloads[i], 'UTF8'));
        v_hashes[i] := v_prev;
    END LOOP;

    -- The rows, the head and the key in one statement: each statement a function runs pays
    -- for its own executor start.
    RETURN QUERY
    WITH stored AS (
        INSERT INTO public.events (tenant_id, seq, stream_id, stream_version, event_type,
                                   schema_version, data, meta, recorded_at, prev_hash, hash)
        SELECT p_tenant, v_first + u.ord - 1, (u.doc->>'stream_id')::uuid,
               (u.doc->>'stream_version')::int, u.doc->>'event_type',
               (u.doc->>'schema_version')::int, u.doc->'data', u.doc->'meta', v_at, u.ph, u.h
          FROM unnest(v_docs, v_prevs, v_hashes) WITH ORDINALITY AS u(doc, ph, h, ord)
    ), moved AS (
        UPDATE public.tenant_heads SET seq = v_seq, hash = v_prev, updated_at = v_at
         WHERE tenant_id = p_tenant
    ), keyed AS (
        INSERT INTO public.idempotency_keys (tenant_id, key, fingerprint, first_seq, last_seq,
                                             recorded_at)
        SELECT p_tenant, p_idem_key, p_fingerprint, v_first, v_seq, v_at
         WHERE p_idem_key IS NOT NULL
    )
    SELECT v_first + u.ord - 1, v_at, u.h, false
      FROM unnest(v_hashes) WITH ORDINALITY AS u(h, ord);
END $$;

-- 0004's batch function answered a row per event, from a set-returning function; this one
-- answers one row of arrays, in event order, which costs both ends less.
DROP FUNCTION thidua_append_batch(text[], integer[], text[]);

CREATE FUNCTION thidua_append_batch(
    p_tenants  text[],    -- one per append, in tenant order (byte order); an append's events
    p_counts   integer[], -- are p_counts[i] consecutive payloads
    p_payloads text[],
    OUT out_seqs        bigint[],  -- per event, in the order of p_payloads
    OUT out_hashes      bytea[],
    OUT out_recorded_at timestamptz
)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_at      timestamptz := clock_timestamp();
    v_header  text := E'\n' || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n';
    v_docs    jsonb[] := p_payloads::jsonb[];
    v_n       integer := coalesce(cardinality(p_payloads), 0);
    v_apps    integer := coalesce(cardinality(p_tenants), 0);
    v_tenants integer := 0;
    v_heads   text[];
    v_seqs0   bigint[];
    v_hashes0 bytea[];
    v_h       integer := 0;
    v_tenant  text;
    v_seq     bigint;
    v_prev    bytea;
    v_event   integer := 0;
    v_doc     jsonb;
    v_ev_tenants text[] := '{}';
    v_ev_prevs   bytea[] := '{}';
    v_last_tenants text[] := '{}';
    v_last_seqs    bigint[] := '{}';
    v_last_hashes  bytea[] := '{}';
BEGIN
    IF v_apps <> coalesce(cardinality(p_counts), 0) THEN
        RAISE EXCEPTION 'a batch needs one count per append' USING ERRCODE = 'TD003';
    END IF;
    FOR a IN 1 .. v_apps LOOP
        IF p_counts[a] IS NULL OR p_counts[a] < 1 OR p_tenants[a] IS NULL
           OR (a > 1 AND p_tenants[a] COLLATE "C" < p_tenants[a - 1] COLLATE "C") THEN
            RAISE EXCEPTION 'a batch needs appends in tenant order, each with events'
                USING ERRCODE = 'TD003';
        END IF;
        IF a = 1 OR p_tenants[a] <> p_tenants[a - 1] THEN
            v_tenants := v_tenants + 1;
        END IF;
        v_event := v_event + p_counts[a];
    END LOOP;
    IF v_event <> v_n THEN
        RAISE EXCEPTION 'a batch''s counts must add up to its events' USING ERRCODE = 'TD003';
    END IF;
    v_event := 0;

    -- Every head of the batch locked, in the same order in every batch, so that two batches
    -- never wait for each other in a circle. A tenant's first append makes its head, and the
    -- heads are locked again; a deadlock there (two batches making the same new head) fails
    -- both batches, whose appends are then retried one by one (shared/groupcommit.py). The
    -- loop after this one checks that the heads came in the order they were locked in.
    FOR pass IN 1 .. 2 LOOP
        SELECT array_agg(h.tenant_id), array_agg(h.seq), array_agg(h.hash)
          INTO v_heads, v_seqs0, v_hashes0
          FROM (SELECT tenant_id, seq, hash FROM public.tenant_heads
                 WHERE tenant_id = ANY (p_tenants)
                 ORDER BY tenant_id COLLATE "C" FOR UPDATE) h;
        EXIT WHEN coalesce(cardinality(v_heads), 0) = v_tenants OR pass = 2;
        INSERT INTO public.tenant_heads (tenant_id)
        SELECT DISTINCT t COLLATE "C" FROM unnest(p_tenants) t ORDER BY 1 ON CONFLICT DO NOTHING;
    END LOOP;

    out_seqs := '{}';
    out_hashes := '{}';
    FOR a IN 1 .. v_apps LOOP
        IF p_tenants[a] IS DISTINCT FROM v_tenant THEN
            IF v_tenant IS NOT NULL THEN
                v_last_tenants[v_h] := v_tenant;
                v_last_seqs[v_h] := v_seq;
                v_last_hashes[v_h] := v_prev;
            END IF;
            v_h := v_h + 1;
            v_tenant := p_tenants[a];
            IF v_heads[v_h] IS DISTINCT FROM v_tenant THEN
                RAISE EXCEPTION 'no head locked for tenant %', v_tenant USING ERRCODE = 'TD003';
            END IF;
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
            -- A stream continues from its stored last version, checked where its run begins
            -- (in the statement that stores the events, this probe cost more, not less).
            IF (v_doc->>'stream_version')::int > 1
               AND (k = 1 OR v_doc->>'stream_id' <> v_docs[v_event - 1]->>'stream_id') THEN
                PERFORM FROM public.events e
                  WHERE e.tenant_id = v_tenant AND e.stream_id = (v_doc->>'stream_id')::uuid
                    AND e.stream_version = (v_doc->>'stream_version')::int - 1;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'stream version % does not follow the stream''s last version',
                        v_doc->>'stream_version' USING ERRCODE = 'TD001';
                END IF;
            END IF;
            v_seq := v_seq + 1;
            v_ev_tenants[v_event] := v_tenant;
            v_ev_prevs[v_event] := v_prev;
            v_prev := sha256(v_prev || convert_to(v_seq::text || v_header || p_payloads[v_event], 'UTF8'));
            out_seqs[v_event] := v_seq;
            out_hashes[v_event] := v_prev;
        END LOOP;
    END LOOP;
    IF v_tenant IS NOT NULL THEN
        v_last_tenants[v_h] := v_tenant;
        v_last_seqs[v_h] := v_seq;
        v_last_hashes[v_h] := v_prev;
    END IF;

    -- The events and the heads' new positions in one statement; the unique key refuses a
    -- stream version already taken.
    WITH stored AS (
        INSERT INTO public.events (tenant_id, seq, stream_id, stream_version, event_type,
                                   schema_version, data, meta, recorded_at, prev_hash, hash)
        SELECT u.t, u.s,
               (u.doc->>'stream_id')::uuid,
               (u.doc->>'stream_version')::int, u.doc->>'event_type',
               (u.doc->>'schema_version')::int, u.doc->'data', u.doc->'meta', v_at, u.ph, u.h
          FROM unnest(v_ev_tenants, out_seqs, v_docs, v_ev_prevs, out_hashes)
               AS u(t, s, doc, ph, h)
    )
    -- The heads found by their key, each one's new place looked up in the arrays: cheaper
    -- than a join with the arrays unnested, up to the batch's limit of 256 appends.
    UPDATE public.tenant_heads h
       SET seq = v_last_seqs[array_position(v_last_tenants, h.tenant_id)],
           hash = v_last_hashes[array_position(v_last_tenants, h.tenant_id)],
           updated_at = v_at
     WHERE h.tenant_id = ANY (v_last_tenants);
    out_recorded_at := v_at;
END $$;

REVOKE ALL ON FUNCTION thidua_append_batch(text[], integer[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_append_batch(text[], integer[], text[]) TO thidua_app;
