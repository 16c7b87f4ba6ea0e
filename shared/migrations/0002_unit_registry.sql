-- The unit registry's read model (services/registry/projections.py) and the bulk opening of new
-- tenants' logs (thidua tenants import). Every unit is a tenant; its registry events live in its
-- own log, and these tables are rebuilt from them.
SET LOCAL search_path = public;

-- A unit as it stands now (its history is its log).
CREATE TABLE units (
    tenant_id    text    PRIMARY KEY,
    name         text    NOT NULL,
    short_name   text,
    level        text    NOT NULL,
    sector_type  text,
    members      integer NOT NULL,
    parent_id    text,
    status       text    NOT NULL DEFAULT 'active',
    merged_into  text,
    since        date    NOT NULL,
    ended_on     date,
    -- Name and short name without diacritics, lower case: what people type (shared/text.py).
    search_key   text    NOT NULL,
    version      integer NOT NULL
);
CREATE INDEX units_parent ON units (parent_id, name, tenant_id);

-- Which parent a unit had over which days: [valid_from, valid_to), valid_to NULL = still.
-- kind 'merged': the unit was merged into that parent and lives on only as its history.
CREATE TABLE unit_parents (
    tenant_id  text NOT NULL,
    parent_id  text NOT NULL,
    kind       text NOT NULL DEFAULT 'child',
    valid_from date NOT NULL,
    valid_to   date,
    PRIMARY KEY (tenant_id, valid_from)
);
CREATE INDEX unit_parents_parent ON unit_parents (parent_id);

-- Ancestor, descendant, depth over a span of days (depth 0: the unit itself, over its life).
-- A subtree on a date is one range scan of the primary key.
CREATE TABLE unit_closure (
    ancestor   text    NOT NULL,
    descendant text    NOT NULL,
    depth      integer NOT NULL,
    valid_from date    NOT NULL,
    valid_to   date,
    PRIMARY KEY (ancestor, valid_from, descendant)
);
CREATE INDEX unit_closure_descendant ON unit_closure (descendant, ancestor);

-- Row-level security, the second wall behind the query layer's own filters (shared/access.py).
-- Each request sets thidua.tenant (the caller's unit) locally in its transaction; a read sees
-- the caller's unit and the units that are or were below it. The registry's writer marks its
-- own transaction with thidua.registry_writer.
ALTER TABLE units ENABLE ROW LEVEL SECURITY;
ALTER TABLE unit_parents ENABLE ROW LEVEL SECURITY;
ALTER TABLE unit_closure ENABLE ROW LEVEL SECURITY;

CREATE POLICY closure_read ON unit_closure FOR SELECT TO thidua_app USING (
    current_setting('thidua.registry_writer', true) = 'on'
    OR ancestor = current_setting('thidua.tenant', true)
    OR descendant = current_setting('thidua.tenant', true)
);
CREATE POLICY units_read ON units FOR SELECT TO thidua_app USING (
    current_setting('thidua.registry_writer', true) = 'on'
    OR EXISTS (SELECT 1 FROM unit_closure c
                WHERE c.ancestor = current_setting('thidua.tenant', true)
                  AND c.descendant = units.tenant_id)
);
CREATE POLICY parents_read ON unit_parents FOR SELECT TO thidua_app USING (
    current_setting('thidua.registry_writer', true) = 'on'
    OR EXISTS (SELECT 1 FROM unit_closure c
                WHERE c.ancestor = current_setting('thidua.tenant', true)
                  AND c.descendant = unit_parents.tenant_id)
);
CREATE POLICY units_write ON units FOR ALL TO thidua_app
    USING (current_setting('thidua.registry_writer', true) = 'on')
    WITH CHECK (current_setting('thidua.registry_writer', true) = 'on');
CREATE POLICY parents_write ON unit_parents FOR ALL TO thidua_app
    USING (current_setting('thidua.registry_writer', true) = 'on')
    WITH CHECK (current_setting('thidua.registry_writer', true) = 'on');
CREATE POLICY closure_write ON unit_closure FOR ALL TO thidua_app
    USING (current_setting('thidua.registry_writer', true) = 'on')
    WITH CHECK (current_setting('thidua.registry_writer', true) = 'on');

GRANT SELECT, INSERT, UPDATE, DELETE ON units, unit_parents, unit_closure TO thidua_app;

-- Open many new tenants' logs at once, each with its first event (a bulk import). Set-based, so
-- 130,000 units open in seconds; the chain and the recorded time are computed here as in
-- thidua_append. A tenant whose log is already open is refused (TD004): nothing is written.
CREATE FUNCTION thidua_open_logs(p_tenants text[], p_payloads text[])
RETURNS TABLE (out_tenant text, out_hash bytea)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
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
        OR o.doc->>'stream_id' <> (o.doc->>'stream_id')::uuid::text
        OR o.doc->>'stream_version' <> '1';
    IF v_bad > 0 THEN
        RAISE EXCEPTION '% payloads are not the first canonical event of their tenant', v_bad
            USING ERRCODE = 'TD003';
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

REVOKE ALL ON FUNCTION thidua_open_logs(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_open_logs(text[], text[]) TO thidua_app;
