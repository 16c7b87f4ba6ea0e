-- The event store: one log per tenant, hash-chained, append-only. See shared/canonical.py and
-- docs/audit.md for the canonical bytes the chain covers.

-- Our tables live in public whatever the owner's own search_path says (thidua_append names them so).
SET LOCAL search_path = public;

-- The chain hashes text as UTF-8 (convert_to); a database in another encoding would store other
-- bytes than the ones hashed.
DO $$
BEGIN
    IF getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'Thi đua needs a UTF8 database, this one is %', getdatabaseencoding();
    END IF;
END $$;

CREATE TABLE tenant_heads (
    tenant_id   text PRIMARY KEY,
    seq         bigint      NOT NULL DEFAULT 0,
    hash        bytea       NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    tenant_id      text        NOT NULL,
    seq            bigint      NOT NULL,
    stream_id      uuid        NOT NULL,
    stream_version integer     NOT NULL CHECK (stream_version >= 1),
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL CHECK (schema_version >= 1),
    data           jsonb       NOT NULL,
    meta           jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    CONSTRAINT events_stream_version_key UNIQUE (tenant_id, stream_id, stream_version)
);

CREATE TABLE idempotency_keys (
    tenant_id   text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    first_seq   bigint      NOT NULL,
    last_seq    bigint      NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Derived, rebuildable, outside the chain: the latest snapshot of an aggregate.
CREATE TABLE snapshots (
    tenant_id      text        NOT NULL,
    stream_id      uuid        NOT NULL,
    stream_version integer     NOT NULL,
    aggregate      text        NOT NULL,
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, stream_id)
);

-- The log is append-only even for the owner's ordinary statements; whoever owns the table can
-- still disable the trigger, and then `thidua verify` names the first row that no longer matches.
CREATE FUNCTION thidua_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'TD100';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION thidua_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION thidua_refuse_change();

-- Append events to one tenant's log in one statement. The head row is locked first, so appends
-- serialize within a tenant (commit order = seq order: a reader after seq N never meets a gap)
-- and run in parallel across tenants. p_payloads are the canonical content JSON texts, one per
-- event, made by the application; the hash covers those exact bytes.
CREATE FUNCTION thidua_append(
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

    INSERT INTO public.events (tenant_id, seq, stream_id, stream_version, event_type, schema_version,
                        data, meta, recorded_at, prev_hash, hash)
    SELECT p_tenant, v_first + u.ord - 1, (u.doc->>'stream_id')::uuid,
           (u.doc->>'stream_version')::int, u.doc->>'event_type', (u.doc->>'schema_version')::int,
           u.doc->'data', u.doc->'meta', v_at, u.ph, u.h
      FROM unnest(v_docs, v_prevs, v_hashes) WITH ORDINALITY AS u(doc, ph, h, ord);

    UPDATE public.tenant_heads SET seq = v_seq, hash = v_prev, updated_at = v_at
     WHERE tenant_id = p_tenant;

    IF p_idem_key IS NOT NULL THEN
        INSERT INTO public.idempotency_keys (tenant_id, key, fingerprint, first_seq, last_seq, recorded_at)
        VALUES (p_tenant, p_idem_key, p_fingerprint, v_first, v_seq, v_at);
    END IF;

    RETURN QUERY
        SELECT v_first + u.ord - 1, v_at, u.h, false
          FROM unnest(v_hashes) WITH ORDINALITY AS u(h, ord);
END $$;

-- The role the application runs as: it appends (through thidua_append only) and reads; it never
-- writes log rows itself, and never rewrites history.
-- It logs in as itself (embedded: trust on the local socket; elsewhere the operator gives it a
-- password), so no SQL on its connections can RESET ROLE back to the owner.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'thidua_app') THEN
        CREATE ROLE thidua_app LOGIN;
    END IF;
    -- No temporary tables for anyone who is not granted them: nothing to shadow ours with.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;

GRANT USAGE ON SCHEMA public TO thidua_app;
REVOKE ALL ON FUNCTION thidua_append(text, text[], text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_append(text, text[], text, bytea) TO thidua_app;
GRANT SELECT ON events, tenant_heads, idempotency_keys TO thidua_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON snapshots TO thidua_app;
GRANT SELECT ON schema_migrations TO thidua_app;
