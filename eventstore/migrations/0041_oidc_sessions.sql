-- Login with the municipality's identity provider (OpenID Connect). Access control like
-- access_tokens, not part of the decision record.
--
-- A login under way: its state (hashed), the nonce the ID token must carry and the PKCE
-- code verifier. Taken once: a state sent back a second time finds nothing.
CREATE TABLE oidc_logins (
    state_sha256  char(64)    PRIMARY KEY,
    nonce         text        NOT NULL CHECK (length(nonce) BETWEEN 20 AND 100),
    code_verifier text        NOT NULL CHECK (length(code_verifier) BETWEEN 43 AND 128),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);

-- A web session opened by the identity provider: the cookie holds a random key whose
-- hash is kept here, with the person as the provider named them.
CREATE TABLE oidc_sessions (
    session_sha256 char(64)    PRIMARY KEY,
    person_id      text        NOT NULL CHECK (length(person_id) BETWEEN 1 AND 100),
    kind           text        NOT NULL CHECK (kind IN ('person', 'admin', 'auditor')),
    municipalities text[],
    issuer         text        NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
    subject        text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    id_token       text        NOT NULL,  -- the hint for the provider's logout
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oidc_sessions_person ON oidc_sessions (person_id);
