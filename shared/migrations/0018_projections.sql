-- Projections with checkpoints (issue 13, points 2, 3 and 5; shared/projections.py).
--
-- A projection's rows and its checkpoint are written in one transaction, so each event is
-- applied exactly once across crashes. Checkpoints are per projection, version and tenant (the
-- log's seq is per tenant). A version is 'building' beside the live one (in its own schema)
-- while a rebuild catches it up, 'live' once swapped in, 'retired' after.
--
-- The runner connects as thidua_projector: it reads every log and writes any read-model row (a
-- roll-up into an ancestor's row, an item in the upper level's inbox), which thidua_app, bound
-- to the caller's unit by row-level security, may not. Reads by requests stay with thidua_app
-- under row-level security; thidua_app's own write policies stay until the commands stop
-- writing read models themselves.
SET LOCAL search_path = public;

CREATE TABLE projection_versions (
    name        text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    state       text        NOT NULL CHECK (state IN ('building', 'live', 'retired')),
    schema_name text        NOT NULL DEFAULT 'public',  -- where a building version's tables are
    created_at  timestamptz NOT NULL DEFAULT now(),
    swapped_at  timestamptz,                             -- made live, or retired
    PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX projection_versions_one_live ON projection_versions (name)
    WHERE state = 'live';
CREATE UNIQUE INDEX projection_versions_one_building ON projection_versions (name)
    WHERE state = 'building';

CREATE TABLE projection_checkpoints (
    name       text        NOT NULL,
    version    integer     NOT NULL,
    tenant_id  text        NOT NULL,
    last_seq   bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version, tenant_id),
    FOREIGN KEY (name, version) REFERENCES projection_versions ON DELETE CASCADE
);

-- Like thidua_app it is granted to the owner, who switches to it (SET ROLE); it never logs in.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'thidua_projector') THEN
        CREATE ROLE thidua_projector NOLOGIN;
    END IF;
    IF NOT pg_has_role(current_user, 'thidua_projector', 'MEMBER') THEN
        EXECUTE format('GRANT thidua_projector TO %I', current_user);
    END IF;
END $$;

GRANT USAGE ON SCHEMA public TO thidua_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON projection_versions, projection_checkpoints
    TO thidua_projector;
GRANT SELECT ON events, tenant_heads TO thidua_projector;
CREATE POLICY events_projector ON events FOR SELECT TO thidua_projector USING (true);
CREATE POLICY tenant_heads_projector ON tenant_heads FOR SELECT TO thidua_projector USING (true);

-- The tree, read to roll a unit's figures up into its ancestors' rows.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['units', 'unit_parents', 'unit_closure'] LOOP
        EXECUTE format('GRANT SELECT ON public.%I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON public.%1$I FOR SELECT '
                       'TO thidua_projector USING (true)', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_phases', 'campaign_indicators',
                             'campaign_registrations', 'campaign_progress', 'campaign_pledges',
                             'campaign_works', 'campaign_initiatives'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON public.%1$I FOR ALL '
                       'TO thidua_projector USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

-- An inline projection (the registry's) is applied by its command, as thidua_app, in the
-- transaction that appends its events; this advances its live checkpoint there. Only the
-- projections named here, only forward, and never past the tenant's head: the application
-- cannot move any other projection's checkpoint, nor skip events that are not yet in the log.
CREATE FUNCTION thidua_advance_inline(
    p_name text, p_first_version integer, p_tenant text, p_seq bigint
) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_version integer;
BEGIN
    IF p_name <> ALL (ARRAY['registry']) THEN
        RAISE EXCEPTION 'projection % is not applied inline', p_name USING ERRCODE = '42501';
    END IF;
    IF p_seq > coalesce((SELECT h.seq FROM public.tenant_heads h WHERE h.tenant_id = p_tenant), 0)
    THEN
        RAISE EXCEPTION 'seq % is past the head of %', p_seq, p_tenant USING ERRCODE = 'TD003';
    END IF;
    INSERT INTO public.projection_versions (name, version, state)
    SELECT p_name, p_first_version, 'live'
     WHERE NOT EXISTS (SELECT 1 FROM public.projection_versions v
                        WHERE v.name = p_name AND v.state = 'live')
    ON CONFLICT DO NOTHING;
    SELECT v.version INTO v_version FROM public.projection_versions v
     WHERE v.name = p_name AND v.state = 'live';
    INSERT INTO public.projection_checkpoints AS c (name, version, tenant_id, last_seq)
    VALUES (p_name, v_version, p_tenant, p_seq)
    ON CONFLICT (name, version, tenant_id) DO UPDATE
        SET last_seq = greatest(c.last_seq, EXCLUDED.last_seq), updated_at = now();
END $$;
REVOKE ALL ON FUNCTION thidua_advance_inline(text, integer, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION thidua_advance_inline(text, integer, text, bigint) TO thidua_app;
