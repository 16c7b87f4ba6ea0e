-- Issue 14, points 7 and 8: proposals of awards (đề nghị khen thưởng), their nominees and their
-- dossier's documents, written by the projection runner; and the documents' bytes, stored by
-- their SHA-256 (content-addressed: the same file uploaded twice is stored once), written by
-- the upload route as the caller.
--
-- A draft is read by its unit alone; once submitted (shared), by the units above it too, the
-- direct upper level among them, whose inbox it is in.
SET LOCAL search_path = public;

CREATE TABLE proposals (
    tenant_id        text    NOT NULL,
    proposal_id      uuid    NOT NULL,
    title            text    NOT NULL,
    kind             text    NOT NULL,   -- regular, thematic, ad_hoc, career
    topic            text    NOT NULL,
    year             integer NOT NULL,
    status           text    NOT NULL,   -- draft, submitted
    drafted_on       date    NOT NULL,
    to_unit          text,               -- the direct upper level it went to
    submitted_on     date,
    due_on           date,               -- the appraisal's deadline, in working days
    concurrence      boolean NOT NULL DEFAULT false,
    rule_set_version text,
    nominee_count    integer NOT NULL DEFAULT 0,
    flagged_count    integer NOT NULL DEFAULT 0,
    shared           boolean NOT NULL DEFAULT false,
    recorded_on      date    NOT NULL,
    version          integer NOT NULL,
    PRIMARY KEY (tenant_id, proposal_id)
);
CREATE INDEX proposals_inbox ON proposals (to_unit, submitted_on, proposal_id)
    WHERE to_unit IS NOT NULL;

CREATE TABLE proposal_nominees (
    tenant_id   text    NOT NULL,
    proposal_id uuid    NOT NULL,
    nominee_id  text    NOT NULL,
    subject     text    NOT NULL,        -- person, collective
    who         text    NOT NULL,        -- person:<id> or unit:<id>
    person_id   text,
    unit_id     text,
    award       text    NOT NULL,        -- a catalogue code
    summary     text    NOT NULL,
    basis       jsonb   NOT NULL,
    findings    jsonb   NOT NULL,        -- what the rules said when it was added
    added_seq   bigint  NOT NULL,        -- its place in the proposal
    shared      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, proposal_id, nominee_id)
);
CREATE INDEX proposal_nominees_order ON proposal_nominees (proposal_id, added_seq);

CREATE TABLE proposal_documents (
    tenant_id   text    NOT NULL,
    proposal_id uuid    NOT NULL,
    sha256      text    NOT NULL,
    kind        text    NOT NULL,        -- memo, achievement_report, council_minutes, other
    name        text    NOT NULL,
    size        bigint  NOT NULL,
    media_type  text    NOT NULL,
    attached_on date    NOT NULL,
    shared      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, proposal_id, sha256)
);

CREATE TABLE documents (
    sha256     text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    tenant_id  text        NOT NULL,    -- the unit that first stored it
    size       bigint      NOT NULL,
    media_type text        NOT NULL,
    content    bytea       NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['proposals', 'proposal_nominees', 'proposal_documents'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO thidua_app', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR (%1$I.shared
                AND (SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                               AND c.descendant = %1$I.tenant_id
                               AND c.valid_to IS NULL)))$p$, t);
    END LOOP;
END $$;

-- The bytes: stored by the unit that uploads them; read by whoever may read a dossier that
-- holds them (a proposal's documents, as above).
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON documents TO thidua_app;
CREATE POLICY documents_insert ON documents FOR INSERT TO thidua_app
    WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)));
CREATE POLICY documents_read ON documents FOR SELECT TO thidua_app USING (
    documents.tenant_id = (SELECT current_setting('thidua.tenant', true))
    OR EXISTS (SELECT 1 FROM public.proposal_documents d WHERE d.sha256 = documents.sha256)
);
