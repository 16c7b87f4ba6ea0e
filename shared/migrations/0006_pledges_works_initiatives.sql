-- Pledges (giao ước thi đua), works for plaques (công trình, sản phẩm gắn biển) and initiatives
-- (sáng kiến): read model of services/campaign/projections.py, written in the transaction that
-- appends their events.
SET LOCAL search_path = public;

CREATE TABLE campaign_pledges (
    tenant_id     text    NOT NULL,              -- the unit whose person or collective pledges
    pledge_id     uuid    NOT NULL,
    campaign_id   uuid    NOT NULL,
    campaign_unit text    NOT NULL,
    subject       text    NOT NULL,              -- person, collective
    name          text    NOT NULL,
    ref           text    NOT NULL,              -- the unit's own number for the person, or ''
    search_key    text    NOT NULL,              -- name and ref without diacritics
    title         text    NOT NULL,              -- a code of services/campaign/rules.TITLES
    registered_on date    NOT NULL,
    late          boolean NOT NULL,
    status        text    NOT NULL,              -- registered, withdrawn
    reason        text,                          -- why it was withdrawn
    version       integer NOT NULL,
    PRIMARY KEY (tenant_id, pledge_id)
);
CREATE INDEX campaign_pledges_campaign ON campaign_pledges (campaign_id, tenant_id, title);

CREATE TABLE campaign_works (
    tenant_id      text    NOT NULL,
    work_id        uuid    NOT NULL,
    campaign_id    uuid    NOT NULL,
    campaign_unit  text    NOT NULL,
    name           text    NOT NULL,
    kind           text    NOT NULL,             -- work, product
    description    text    NOT NULL,
    location       text    NOT NULL,
    value_vnd      bigint,
    completion_due date,
    registered_on  date    NOT NULL,
    status         text    NOT NULL,
    history        jsonb   NOT NULL DEFAULT '[]', -- amendments and withdrawal, with reasons
    version        integer NOT NULL,
    PRIMARY KEY (tenant_id, work_id)
);
CREATE INDEX campaign_works_campaign ON campaign_works (campaign_id);

CREATE TABLE campaign_initiatives (
    tenant_id      text    NOT NULL,
    initiative_id  uuid    NOT NULL,
    campaign_id    uuid,
    campaign_unit  text,
    title          text    NOT NULL,
    authors        jsonb   NOT NULL,
    field          text    NOT NULL,
    description    text    NOT NULL,
    search_key     text    NOT NULL,             -- title, authors and field without diacritics
    registered_on  date    NOT NULL,
    recognised_on  date,
    decision       text,
    benefit_vnd    bigint,
    applied_at     jsonb   NOT NULL DEFAULT '[]',
    status         text    NOT NULL,             -- registered, withdrawn
    history        jsonb   NOT NULL DEFAULT '[]',
    version        integer NOT NULL,
    PRIMARY KEY (tenant_id, initiative_id)
);
CREATE INDEX campaign_initiatives_campaign ON campaign_initiatives (campaign_id)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX campaign_initiatives_recognised ON campaign_initiatives (tenant_id, recognised_on)
    WHERE recognised_on IS NOT NULL;

-- Reach as for registrations (0005): the unit and its ancestors; and the unit that launched the
-- campaign, with its ancestors. Writes stay in the caller's own unit.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaign_pledges', 'campaign_works', 'campaign_initiatives'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app
            USING (thidua_reads(tenant_id) OR thidua_reads(campaign_unit))$p$, t);
        EXECUTE format($p$CREATE POLICY %1$s_insert ON %1$I FOR INSERT TO thidua_app
            WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)))$p$, t);
        EXECUTE format($p$CREATE POLICY %1$s_update ON %1$I FOR UPDATE TO thidua_app
            USING (tenant_id = (SELECT current_setting('thidua.tenant', true)))
            WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)))$p$, t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO thidua_app', t);
    END LOOP;
END $$;

-- The actual of a computed indicator (source 'computed', services/campaign/rules.COMPUTABLE):
-- the facts named in p_facts, counted (or, for an indicator in money, summed) over the
-- campaign's period, in the launching unit alone (scope 'own') or over its subtree. Withdrawn
-- records do not count. It runs as the caller: row-level security limits it to what the caller
-- may read.
CREATE FUNCTION thidua_computed_actual(
    p_campaign uuid, p_unit text, p_from date, p_to date, p_scope text, p_measure text,
    p_facts text[]
) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH scope AS (
        SELECT p_unit AS unit
        UNION
        SELECT descendant FROM public.unit_closure WHERE ancestor = p_unit AND p_scope = 'subtree'
    )
    SELECT (
        CASE WHEN 'InitiativeRecognised' = ANY (p_facts) THEN (
            SELECT CASE WHEN p_measure = 'vnd' THEN coalesce(sum(benefit_vnd), 0) ELSE count(*) END
              FROM public.campaign_initiatives
             WHERE tenant_id IN (SELECT unit FROM scope) AND status = 'registered'
               AND recognised_on BETWEEN p_from AND p_to) ELSE 0 END
      + CASE WHEN 'InitiativeRegistered' = ANY (p_facts) THEN (
            SELECT count(*) FROM public.campaign_initiatives
             WHERE tenant_id IN (SELECT unit FROM scope) AND status = 'registered'
               AND registered_on BETWEEN p_from AND p_to) ELSE 0 END
      + CASE WHEN 'WorkRegistered' = ANY (p_facts) THEN (
            SELECT CASE WHEN p_measure = 'vnd' THEN coalesce(sum(value_vnd), 0) ELSE count(*) END
              FROM public.campaign_works
             WHERE tenant_id IN (SELECT unit FROM scope) AND status = 'registered'
               AND registered_on BETWEEN p_from AND p_to) ELSE 0 END
      + CASE WHEN 'PledgeRegistered' = ANY (p_facts) THEN (
            SELECT count(*) FROM public.campaign_pledges
             WHERE tenant_id IN (SELECT unit FROM scope) AND status = 'registered'
               AND registered_on BETWEEN p_from AND p_to) ELSE 0 END
      + CASE WHEN 'RegistrationSubmitted' = ANY (p_facts) THEN (
            SELECT count(*) FROM public.campaign_registrations
             WHERE campaign_id = p_campaign AND status = 'registered'
               AND tenant_id IN (SELECT unit FROM scope)) ELSE 0 END
      + CASE WHEN 'UnitRegistered' = ANY (p_facts) THEN (
            SELECT count(*) FROM public.units
             WHERE tenant_id IN (SELECT unit FROM scope) AND tenant_id <> p_unit
               AND since BETWEEN p_from AND p_to) ELSE 0 END
    )::bigint
$$;
GRANT EXECUTE ON FUNCTION thidua_computed_actual(uuid, text, date, date, text, text, text[])
    TO thidua_app;
