-- Issue 12, findings 4, 5 (the event store's own tables) and 6.
--
-- 4. The functions that run with the owner's rights searched `public` for names, and on a
--    database where everyone may create in public (PostgreSQL 14's default, and any cluster
--    upgraded from it) the application created public.convert_to(text, text), a better match for
--    the append's convert_to(text, 'UTF8') than pg_catalog's: it ran as the owner and rewrote the
--    log. Now each such function searches pg_catalog and then pg_temp only (pg_temp is never
--    searched for functions or operators, and our tables are named with their schema), and no
--    one but the owner may create in public.
-- 6. The append hashed the payload text but stored the parsed fields: a payload with a key twice
--    (or keys out of order, or a number or an escape spelled another way) was hashed as sent and
--    stored as parsed, and its tenant's log could never verify again. Now a payload is stored
--    only if it is exactly the canonical text of what is stored (SQLSTATE TD005).
-- 5. Row-level security on snapshots, idempotency_keys and tenant_heads, by the request's reach.
--
-- The three append functions are those of 0008 (thidua_append, thidua_append_batch) and 0002
-- (thidua_open_logs), with the search path and the checks above; nothing else changed.
SET LOCAL search_path = public;

-- Anything the application role created in public before this migration is the attack itself,
-- or something no one meant: refuse, and let the operator look, rather than drop it unseen.
DO $$
DECLARE
    v_found text;
BEGIN
    SELECT string_agg(o.what, ', ') INTO v_found FROM (
        SELECT format('function %s', p.oid::regprocedure) AS what FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = 'thidua_app'::regrole
        UNION ALL
        SELECT format('operator %s', o.oid::regoperator) FROM pg_catalog.pg_operator o
         WHERE o.oprnamespace = 'public'::regnamespace AND o.oprowner = 'thidua_app'::regrole
        UNION ALL
        SELECT format('relation %s', c.oid::regclass) FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relowner = 'thidua_app'::regrole
        UNION ALL
        SELECT format('type %s', t.oid::regtype) FROM pg_catalog.pg_type t
         WHERE t.typnamespace = 'public'::regnamespace AND t.typowner = 'thidua_app'::regrole
    ) o;
    IF v_found IS NOT NULL THEN
        RAISE EXCEPTION 'thidua_app owns objects in schema public (%): remove them, then migrate',
            v_found;
    END IF;
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM thidua_app;
DO $$
BEGIN
    -- Only the schema's owner can revoke what it granted: a migration run by another role
    -- must not leave the hole open without saying so.
    IF has_schema_privilege('thidua_app', 'public', 'CREATE') THEN
        RAISE EXCEPTION 'thidua_app may still create objects in schema public: %',
            'as the schema''s owner, run REVOKE CREATE ON SCHEMA public FROM PUBLIC, then migrate';
    END IF;
END $$;

-- The functions that run with the caller's rights search only pg_catalog too: the trigger fires
-- for the owner as well, and the others are run by the owner in rebuilds and tools. Their
-- bodies name our tables with their schema.
ALTER FUNCTION thidua_refuse_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION thidua_reads(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION thidua_below(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION thidua_computed_actual(uuid, text, date, date, text, text, text[])
    SET search_path = pg_catalog, pg_temp;

-- Canonical text (shared/canonical.py, docs/audit.md), made from the parsed value: keys in code
-- point order (a "C" comparison of their UTF-8), no whitespace, strings escaped as PostgreSQL
-- writes them (the escapes of canonical.dumps), integers within 64 bits. A number of any other
-- kind has no text, so whatever holds it never equals the payload it was parsed from.
--
-- Of an object or an array: a statement per container, so used only below an event's data and
-- meta (thidua_canonical_events does those for a whole append in one).
CREATE FUNCTION public.thidua_canonical(p_value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text;
BEGIN
    IF jsonb_typeof(p_value) = 'object' THEN
        SELECT '{' || coalesce(string_agg(to_jsonb(e.key)::text || ':'
                                          || public.thidua_canonical_value(e.value),
                                          ',' ORDER BY e.key COLLATE "C"), '') || '}'
          INTO v_text
          FROM jsonb_each(p_value) AS e;
    ELSIF jsonb_typeof(p_value) = 'array' THEN
        SELECT '[' || coalesce(string_agg(public.thidua_canonical_value(a.value), ','
                                          ORDER BY a.n), '') || ']'
          INTO v_text
          FROM jsonb_array_elements(p_value) WITH ORDINALITY AS a(value, n);
    END IF;
    RETURN v_text;
END $$;

-- Of any value. Plain SQL without settings, so that the planner writes it into its callers'
-- statements (they run with the search path above).
CREATE FUNCTION public.thidua_canonical_value(p_value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE jsonb_typeof(p_value)
               WHEN 'object' THEN public.thidua_canonical(p_value)
               WHEN 'array' THEN public.thidua_canonical(p_value)
               WHEN 'number' THEN CASE
                   WHEN p_value::text ~ '^-?(0|[1-9][0-9]{0,18})$'
                    AND p_value::text::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
                   THEN p_value::text END
               ELSE p_value::text
           END
$$;

-- Of whole events, an append's in one statement (a statement per object was most of an
-- append's cost): the seven keys of canonical.content in code point order, the three text
-- fields as strings, as the appends check them (TD003) before they compare these texts. Its
-- plan is made once: for an array given as a constant the planner would plan it anew at every
-- call, at ten times the cost.
CREATE FUNCTION public.thidua_canonical_events(p_docs jsonb[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_texts text[];
BEGIN
    SELECT array_agg(
               '{"data":' || (SELECT '{' || coalesce(string_agg(
                                  to_jsonb(e.key)::text || ':'
                                  || public.thidua_canonical_value(e.value),
                                  ',' ORDER BY e.key COLLATE "C"), '') || '}'
                                FROM jsonb_each(CASE WHEN jsonb_typeof(u.doc->'data') = 'object'
                                                     THEN u.doc->'data' END) AS e)
               || ',"event_type":' || (u.doc->'event_type')::text
               || ',"meta":' || (SELECT '{' || coalesce(string_agg(
                                  to_jsonb(m.key)::text || ':'
                                  || public.thidua_canonical_value(m.value),
                                  ',' ORDER BY m.key COLLATE "C"), '') || '}'
                                FROM jsonb_each(CASE WHEN jsonb_typeof(u.doc->'meta') = 'object'
                                                     THEN u.doc->'meta' END) AS m)
               || ',"schema_version":' || public.thidua_canonical_value(u.doc->'schema_version')
               || ',"stream_id":' || (u.doc->'stream_id')::text
               || ',"stream_version":' || public.thidua_canonical_value(u.doc->'stream_version')
               || ',"tenant_id":' || (u.doc->'tenant_id')::text || '}'
               ORDER BY u.i)
      INTO v_texts
      FROM unnest(p_docs) WITH ORDINALITY AS u(doc, i);
    RETURN v_texts;
END $$;

REVOKE ALL ON FUNCTION public.thidua_canonical(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.thidua_canonical_value(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.thidua_canonical_events(jsonb[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION thidua_append(
    p_tenant      text,
    p_payloads    text[],
    p_idem_key    text,
    p_fingerprint bytea
) RETURNS TABLE (out_seq bigint, out_recorded_at timestamptz, out_hash bytea, out_replayed boolean)
LANGUAGE plpgsql
-- Runs with the owner's rights: the application role may append only through this function,
-- which computes the chain itself, so it can never store a row with a hash of its own making.
-- It resolves names in pg_catalog alone (pg_temp is never searched for functions or operators)
-- and names every table of ours with its schema.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
    v_texts  text[];
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
    v_texts := public.thidua_canonical_events(v_docs);
    FOR i IN 1 .. cardinality(p_payloads) LOOP
        -- The hash covers the payload text, but the row keeps the parsed fields: the text must
        -- hold exactly those fields, in their stored forms, or the row could never verify.
        IF v_docs[i]->>'tenant_id' IS DISTINCT FROM p_tenant
           OR NOT v_docs[i] ?& ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                                     'stream_version', 'tenant_id']
           OR v_docs[i] - ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                                'stream_version', 'tenant_id'] <> '{}'::jsonb
           OR jsonb_typeof(v_docs[i]->'tenant_id') <> 'string'
           OR jsonb_typeof(v_docs[i]->'event_type') <> 'string'
           OR jsonb_typeof(v_docs[i]->'stream_id') <> 'string'
           OR jsonb_typeof(v_docs[i]->'schema_version') <> 'number'
           OR jsonb_typeof(v_docs[i]->'stream_version') <> 'number'
           OR jsonb_typeof(v_docs[i]->'data') <> 'object'
           OR jsonb_typeof(v_docs[i]->'meta') <> 'object'
           OR v_docs[i]->>'stream_id' <> (v_docs[i]->>'stream_id')::uuid::text THEN
            RAISE EXCEPTION 'event % is not a canonical event of tenant %', i, p_tenant
                USING ERRCODE = 'TD003';
        END IF;
        -- What is hashed is what is stored: the text sent must be the canonical text of the
        -- fields parsed from it (a key sent twice is parsed once, keeping the last value).
        IF v_texts[i] IS DISTINCT FROM p_payloads[i] THEN
            RAISE EXCEPTION 'event % does not read back as the text sent', i
                USING ERRCODE = 'TD005';
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

CREATE OR REPLACE FUNCTION thidua_append_batch(
    p_tenants  text[],    -- one per append, in tenant order (byte order); an append's events
    p_counts   integer[], -- are p_counts[i] consecutive payloads
    p_payloads text[],
    OUT out_seqs        bigint[],  -- per event, in the order of p_payloads
    OUT out_hashes      bytea[],
    OUT out_recorded_at timestamptz
)
LANGUAGE plpgsql
-- As thidua_append: the owner's rights, pg_catalog's names only, our tables by schema.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
    v_texts        text[] := public.thidua_canonical_events(v_docs);
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
               OR jsonb_typeof(v_doc->'tenant_id') <> 'string'
               OR jsonb_typeof(v_doc->'event_type') <> 'string'
               OR jsonb_typeof(v_doc->'stream_id') <> 'string'
               OR jsonb_typeof(v_doc->'schema_version') <> 'number'
               OR jsonb_typeof(v_doc->'stream_version') <> 'number'
               OR jsonb_typeof(v_doc->'data') <> 'object'
               OR jsonb_typeof(v_doc->'meta') <> 'object'
               OR v_doc->>'stream_id' <> (v_doc->>'stream_id')::uuid::text THEN
                RAISE EXCEPTION 'event % is not a canonical event of tenant %', v_event, v_tenant
                    USING ERRCODE = 'TD003';
            END IF;
            -- As in thidua_append: what is hashed is what is stored.
            IF v_texts[v_event] IS DISTINCT FROM p_payloads[v_event] THEN
                RAISE EXCEPTION 'event % does not read back as the text sent', v_event
                    USING ERRCODE = 'TD005';
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

CREATE OR REPLACE FUNCTION thidua_open_logs(p_tenants text[], p_payloads text[])
RETURNS TABLE (out_tenant text, out_hash bytea)
LANGUAGE plpgsql
-- As thidua_append: the owner's rights, pg_catalog's names only, our tables by schema.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_at     timestamptz := clock_timestamp();
    v_header text := E'1\n' || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n';
    v_taken  text;
    v_bad    bigint;
    v_opened bigint;
    v_docs   jsonb[];
    v_hashes bytea[];
BEGIN
    IF cardinality(p_tenants) IS DISTINCT FROM cardinality(p_payloads) THEN
        RAISE EXCEPTION 'tenants and payloads differ in number' USING ERRCODE = 'TD003';
    END IF;
    v_docs := p_payloads::jsonb[];
    v_hashes := ARRAY(
        SELECT sha256(decode(repeat('00', 32), 'hex') || convert_to(v_header || u.p, 'UTF8'))
          FROM unnest(p_payloads) WITH ORDINALITY AS u(p, ord) ORDER BY u.ord);

    SELECT count(*) INTO v_bad FROM unnest(p_tenants, v_docs) AS o(tenant_id, doc)
     WHERE o.doc->>'tenant_id' IS DISTINCT FROM o.tenant_id
        OR NOT o.doc ?& ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                              'stream_version', 'tenant_id']
        OR o.doc - ARRAY['data', 'event_type', 'meta', 'schema_version', 'stream_id',
                         'stream_version', 'tenant_id'] <> '{}'::jsonb
        OR jsonb_typeof(o.doc->'tenant_id') <> 'string'
        OR jsonb_typeof(o.doc->'event_type') <> 'string'
        OR jsonb_typeof(o.doc->'stream_id') <> 'string'
        OR jsonb_typeof(o.doc->'schema_version') <> 'number'
        OR jsonb_typeof(o.doc->'stream_version') <> 'number'
        OR jsonb_typeof(o.doc->'data') <> 'object'
        OR jsonb_typeof(o.doc->'meta') <> 'object'
        OR o.doc->>'stream_id' <> (o.doc->>'stream_id')::uuid::text
        OR o.doc->>'stream_version' <> '1';
    IF v_bad > 0 THEN
        RAISE EXCEPTION '% payloads are not the first canonical event of their tenant', v_bad
            USING ERRCODE = 'TD003';
    END IF;
    -- As in thidua_append: what is hashed is what is stored.
    SELECT count(*) INTO v_bad
      FROM unnest(public.thidua_canonical_events(v_docs), p_payloads) AS o(canonical, sent)
     WHERE o.canonical IS DISTINCT FROM o.sent;
    IF v_bad > 0 THEN
        RAISE EXCEPTION '% payloads do not read back as the text sent', v_bad
            USING ERRCODE = 'TD005';
    END IF;

    -- A head row already there (another process opened the log meanwhile) is a conflict.
    INSERT INTO public.tenant_heads (tenant_id, seq, hash, updated_at)
    SELECT o.tenant_id, 1, o.hash, v_at FROM unnest(p_tenants, v_hashes) AS o(tenant_id, hash)
    ON CONFLICT (tenant_id) DO NOTHING;
    GET DIAGNOSTICS v_opened = ROW_COUNT;
    IF v_opened <> cardinality(p_tenants) THEN
        SELECT h.tenant_id INTO v_taken FROM public.tenant_heads h
         WHERE h.tenant_id = ANY (p_tenants) AND h.updated_at <> v_at LIMIT 1;
        RAISE EXCEPTION 'the log of % is already open', v_taken USING ERRCODE = 'TD004';
    END IF;

    INSERT INTO public.events (tenant_id, seq, stream_id, stream_version, event_type,
                               schema_version, data, meta, recorded_at, prev_hash, hash)
    SELECT o.tenant_id, 1, (o.doc->>'stream_id')::uuid, 1, o.doc->>'event_type',
           (o.doc->>'schema_version')::int, o.doc->'data', o.doc->'meta', v_at,
           decode(repeat('00', 32), 'hex'), o.hash
      FROM unnest(p_tenants, v_docs, v_hashes) AS o(tenant_id, doc, hash);

    RETURN QUERY SELECT o.tenant_id, o.hash FROM unnest(p_tenants, v_hashes) AS o(tenant_id, hash);
END $$;

-- Reach on the event store's own tables (shared/access.py), like the read models': a request's
-- transaction names its unit in thidua.tenant (access.scope) and reaches that unit's rows and
-- those of the units below it today. These rows are the present (a snapshot is the state after
-- every event so far, a head the log's end), so a unit reaches them through an edge of
-- unit_closure that holds today, not one that ended or has yet to begin; which edges and which
-- reach count beyond that is the closure's own policy (0010: an officer's reach, not a
-- member's). Today is the day in Vietnam (UTC+7, shared/clock.py). Registry commands by an
-- ancestor's admin load and save the child's aggregate in the child's tenant, hence "below"
-- and not "own". The registry's writer (thidua_registry_writer, 0003) is not narrowed here;
-- where that changes, these follow. A connection no request scoped (thidua.tenant unset or
-- empty) reaches nothing: work outside requests appends through the owner's functions, which
-- row-level security does not bind (it is not FORCEd), or runs as the owner. thidua_app only
-- reads idempotency_keys and tenant_heads: the owner's functions alone write them.
ALTER TABLE public.snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tenant_heads ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    t text[];  -- table, policy, commands
    v_reach text := $r$
        (SELECT public.thidua_registry_writer())
        OR %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
        OR EXISTS (SELECT 1 FROM public.unit_closure c
                    WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                      AND c.descendant = %1$I.tenant_id
                      AND c.valid_from <= (SELECT %2$s)
                      AND (c.valid_to IS NULL OR c.valid_to > (SELECT %2$s)))$r$;
    v_today text := $t$((now() AT TIME ZONE 'UTC') + interval '7 hours')::date$t$;
BEGIN
    FOREACH t SLICE 1 IN ARRAY ARRAY[
        ['snapshots', 'snapshots_reach', 'ALL'],
        ['idempotency_keys', 'idempotency_keys_read', 'SELECT'],
        ['tenant_heads', 'tenant_heads_read', 'SELECT']
    ] LOOP
        EXECUTE format('CREATE POLICY %I ON public.%I FOR %s TO thidua_app USING (%s)%s',
                       t[2], t[1], t[3], format(v_reach, t[1], v_today),
                       CASE WHEN t[3] = 'ALL'
                            THEN format(' WITH CHECK (%s)', format(v_reach, t[1], v_today))
                            ELSE '' END);
    END LOOP;
END $$;
