-- Personal access tokens for the HTTP API and the web page. Only a SHA-256 hash of each
-- token is kept: a database dump gives nobody a way in. Unlike the events table this one
-- changes (revocation, last use): it is access control, not part of the decision record.
CREATE TABLE access_tokens (
    token_id     text        PRIMARY KEY CHECK (token_id ~ '^[0-9a-f]{12}$'),
    person_id    text        NOT NULL CHECK (length(person_id) BETWEEN 1 AND 100),
    -- person: acts with the roles the person has in each plan; admin: also starts plans
    -- and sees every plan; auditor: reads every plan and changes nothing.
    kind         text        NOT NULL CHECK (kind IN ('person', 'admin', 'auditor')),
    token_sha256 char(64)    NOT NULL UNIQUE,
    label        text        NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    issued_by    text        NOT NULL,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX access_tokens_person ON access_tokens (person_id);

-- Web sessions opened by logging in with a token; the cookie holds a random session key
-- whose hash is kept here. Revoking the token ends its sessions (checked on every use).
CREATE TABLE web_sessions (
    session_sha256 char(64)    PRIMARY KEY,
    token_id       text        NOT NULL REFERENCES access_tokens (token_id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX web_sessions_token ON web_sessions (token_id);
