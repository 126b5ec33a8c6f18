-- The application takes a login's state once and ends sessions at logout: it deletes
-- from these two tables (the default privileges give it SELECT and INSERT only). They
-- are access control, not the record, so auditors do not read them (as access_tokens).
GRANT DELETE ON oidc_logins, oidc_sessions TO temaplan_app;
REVOKE SELECT ON oidc_logins, oidc_sessions FROM temaplan_auditor;
