-- Revoked access tokens (`thidua token revoke`): written by the operator on the owner's
-- connection, only read by the application, which keeps the rows that can still matter in
-- memory (shared/revocations.py). A row names one token by its id (jti), or every token of a
-- subject issued before a time.
SET LOCAL search_path = public;

CREATE TABLE token_revocations (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id       text,
    subject        text,
    issued_before  timestamptz,
    reason         text        NOT NULL DEFAULT '',
    revoked_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (
        (token_id IS NOT NULL AND subject IS NULL AND issued_before IS NULL)
        OR (token_id IS NULL AND subject IS NOT NULL AND issued_before IS NOT NULL)
    ),
    CHECK (length(token_id) <= 200 AND length(subject) <= 200 AND length(reason) <= 2000)
);

-- The application loads only rows young enough to name a token still alive.
CREATE INDEX token_revocations_revoked_at ON token_revocations (revoked_at);
CREATE INDEX token_revocations_issued_before ON token_revocations (issued_before);

REVOKE ALL ON token_revocations FROM PUBLIC;
GRANT SELECT ON token_revocations TO thidua_app;
