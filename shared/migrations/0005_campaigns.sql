-- Campaigns' read model (services/campaign/projections.py): written by the campaign commands in
-- the transaction that appends their events, so it never lags the log.
SET LOCAL search_path = public;

CREATE TABLE campaigns (
    tenant_id        text    NOT NULL,          -- the launching unit
    campaign_id      uuid    NOT NULL UNIQUE,
    name             text    NOT NULL,
    search_key       text    NOT NULL,          -- name and theme without diacritics
    theme            text    NOT NULL,
    objectives       text    NOT NULL,
    scope            text    NOT NULL,
    participants     text    NOT NULL,
    contents         jsonb   NOT NULL,
    measures         jsonb   NOT NULL,
    kind             text    NOT NULL,
    period_start     date    NOT NULL,
    period_end       date    NOT NULL,
    registration_due date,
    report_days      integer,
    min_contents     integer NOT NULL,
    parent_unit      text,
    parent_campaign  uuid,
    status           text    NOT NULL,          -- draft, launched, concluded
    launched_on      date,
    concluded_on     date,
    conclusion       jsonb,                     -- the tổng kết: report, figures, late
    amendments       jsonb   NOT NULL DEFAULT '[]',
    version          integer NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id)
);
CREATE INDEX campaigns_parent ON campaigns (parent_campaign) WHERE parent_campaign IS NOT NULL;

CREATE TABLE campaign_phases (
    tenant_id   text    NOT NULL,
    campaign_id uuid    NOT NULL,
    number      integer NOT NULL,
    name        text    NOT NULL,
    starts      date    NOT NULL,
    ends        date    NOT NULL,
    review      jsonb,                          -- the sơ kết: report, figures, reviewed_on, late
    PRIMARY KEY (tenant_id, campaign_id, number)
);

CREATE TABLE campaign_indicators (
    tenant_id     text    NOT NULL,
    campaign_id   uuid    NOT NULL,
    code          text    NOT NULL,
    position      integer NOT NULL,
    name          text    NOT NULL,
    measure       text    NOT NULL,
    target        bigint  NOT NULL,
    source        text    NOT NULL,
    computed_from text[]  NOT NULL,
    scope         text    NOT NULL,
    category      text,
    PRIMARY KEY (tenant_id, campaign_id, code)
);

-- One row per registering unit and campaign; campaign_unit is the launching unit.
CREATE TABLE campaign_registrations (
    tenant_id     text    NOT NULL,
    campaign_id   uuid    NOT NULL,
    campaign_unit text    NOT NULL,
    plan          text    NOT NULL,
    contents      jsonb   NOT NULL,
    targets       jsonb   NOT NULL,
    registered_on date    NOT NULL,
    late          boolean NOT NULL,
    status        text    NOT NULL,             -- registered, withdrawn
    history       jsonb   NOT NULL DEFAULT '[]', -- amendments and withdrawal, with reasons
    version       integer NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id)
);
CREATE INDEX campaign_registrations_campaign ON campaign_registrations (campaign_id);

-- The latest actual a unit reported for an indicator in a phase.
CREATE TABLE campaign_progress (
    tenant_id     text    NOT NULL,
    campaign_id   uuid    NOT NULL,
    campaign_unit text    NOT NULL,
    phase         integer NOT NULL,
    code          text    NOT NULL,
    actual        bigint  NOT NULL,
    reported_on   date    NOT NULL,
    late          boolean NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id, phase, code)
);
CREATE INDEX campaign_progress_campaign ON campaign_progress (campaign_id);

-- Reach (shared/access.py), as row-level security: a unit reads its own rows and its
-- descendants'; a launched campaign is read by every unit below the one that launched it; a
-- registration or a report is read by the unit that launched the campaign. Writes stay in the
-- caller's own unit.
CREATE FUNCTION thidua_reads(p_tenant text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT p_tenant = current_setting('thidua.tenant', true)
        OR EXISTS (SELECT 1 FROM public.unit_closure c
                    WHERE c.ancestor = current_setting('thidua.tenant', true)
                      AND c.descendant = p_tenant)
$$;

CREATE FUNCTION thidua_below(p_tenant text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM public.unit_closure c
                    WHERE c.ancestor = p_tenant
                      AND c.descendant = current_setting('thidua.tenant', true))
$$;

ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_phases ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_indicators ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_registrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_progress ENABLE ROW LEVEL SECURITY;

CREATE POLICY campaigns_read ON campaigns FOR SELECT TO thidua_app USING (
    thidua_reads(tenant_id) OR (status <> 'draft' AND thidua_below(tenant_id))
);
-- Phases and indicators are read wherever their campaign is.
CREATE POLICY phases_read ON campaign_phases FOR SELECT TO thidua_app USING (
    EXISTS (SELECT 1 FROM campaigns c WHERE c.campaign_id = campaign_phases.campaign_id)
);
CREATE POLICY indicators_read ON campaign_indicators FOR SELECT TO thidua_app USING (
    EXISTS (SELECT 1 FROM campaigns c WHERE c.campaign_id = campaign_indicators.campaign_id)
);
CREATE POLICY registrations_read ON campaign_registrations FOR SELECT TO thidua_app USING (
    thidua_reads(tenant_id) OR thidua_reads(campaign_unit)
);
CREATE POLICY progress_read ON campaign_progress FOR SELECT TO thidua_app USING (
    thidua_reads(tenant_id) OR thidua_reads(campaign_unit)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_phases', 'campaign_indicators',
                             'campaign_registrations', 'campaign_progress'] LOOP
        EXECUTE format($p$CREATE POLICY %1$s_insert ON %1$I FOR INSERT TO thidua_app
            WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)))$p$, t);
        EXECUTE format($p$CREATE POLICY %1$s_update ON %1$I FOR UPDATE TO thidua_app
            USING (tenant_id = (SELECT current_setting('thidua.tenant', true)))
            WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)))$p$, t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO thidua_app', t);
    END LOOP;
END $$;
