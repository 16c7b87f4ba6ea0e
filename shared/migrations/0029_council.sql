-- Issue 14, point 10: the council (Hội đồng Thi đua - Khen thưởng). Its sessions, members, the
-- nominees it votes on and who voted are the runner's rows; a secret ballot's choices are in
-- ballot_box, written with the ballot's event in one transaction, without the voter.
SET LOCAL search_path = public;

CREATE TABLE council_sessions (
    tenant_id    text    NOT NULL,
    session_id   uuid    NOT NULL,
    title        text    NOT NULL,
    meets_on     date    NOT NULL,
    ballot       text    NOT NULL,   -- open, secret
    quorum       integer NOT NULL,
    members      jsonb   NOT NULL,   -- [{subject, person_id, unit_id}]
    status       text    NOT NULL,   -- open, concluded
    concluded_on date,
    version      integer NOT NULL,
    PRIMARY KEY (tenant_id, session_id)
);
CREATE TABLE council_items (
    tenant_id   text    NOT NULL,
    session_id  uuid    NOT NULL,
    item_id     text    NOT NULL,
    proposal_id uuid    NOT NULL,
    proposer    text    NOT NULL,
    nominee_id  text    NOT NULL,
    who         text    NOT NULL,
    unit_of     text    NOT NULL,
    award       text    NOT NULL,
    recused     jsonb   NOT NULL,
    voters      integer NOT NULL DEFAULT 0,
    yes         integer,
    no          integer,
    abstain     integer,
    eligible    integer,
    passed      boolean,
    position    integer NOT NULL,
    PRIMARY KEY (tenant_id, session_id, item_id)
);
CREATE TABLE council_votes (
    tenant_id  text NOT NULL,
    session_id uuid NOT NULL,
    item_id    text NOT NULL,
    voter      text NOT NULL,
    choice     text,                 -- NULL on a secret ballot
    PRIMARY KEY (tenant_id, session_id, item_id, voter)
);
CREATE TABLE ballot_box (
    tenant_id  text NOT NULL,
    session_id uuid NOT NULL,
    item_id    text NOT NULL,
    choice     text NOT NULL CHECK (choice IN ('yes', 'no', 'abstain'))
);
CREATE INDEX ballot_box_item ON ballot_box (tenant_id, session_id, item_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['council_sessions', 'council_items', 'council_votes'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT ON %I TO thidua_app', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thidua_projector', t);
        EXECUTE format('CREATE POLICY %1$s_projector ON %1$I FOR ALL TO thidua_projector '
                       'USING (true) WITH CHECK (true)', t);
        -- The council's unit, and the units above it with a reach below: not the proposers
        -- (they learn the outcome from the decision).
        EXECUTE format($p$CREATE POLICY %1$s_read ON %1$I FOR SELECT TO thidua_app USING (
            %1$I.tenant_id = (SELECT current_setting('thidua.tenant', true))
            OR ((SELECT current_setting('thidua.reach', true) IN ('subtree', 'audit'))
                AND EXISTS (SELECT 1 FROM public.unit_closure c
                             WHERE c.ancestor = (SELECT current_setting('thidua.tenant', true))
                               AND c.descendant = %1$I.tenant_id AND c.valid_to IS NULL)))$p$, t);
    END LOOP;
END $$;

-- The ballot box: the council's unit puts a choice in (with the ballot's event) and counts them
-- when the session concludes; no one else reads it, and no row says whose it is.
ALTER TABLE ballot_box ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON ballot_box TO thidua_app;
CREATE POLICY ballot_box_insert ON ballot_box FOR INSERT TO thidua_app
    WITH CHECK (tenant_id = (SELECT current_setting('thidua.tenant', true)));
CREATE POLICY ballot_box_read ON ballot_box FOR SELECT TO thidua_app
    USING (tenant_id = (SELECT current_setting('thidua.tenant', true)));
