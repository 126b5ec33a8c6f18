-- The event store's database and roles, and Temporal's own (README, "Database roles").
-- Run by the PostgreSQL superuser with psql, once per cluster and again at will (every
-- statement is idempotent): the compose stack's postgres runs it on first start
-- (deploy/postgres/initdb.sh), `temaplan up` and the tests run the same file.
--
-- psql variables (-v name=value): events_db, owner_role, owner_password, app_role,
-- app_password, auditor_role, auditor_password; and where Temporal keeps its data in
-- this cluster (compose), temporal_role, temporal_password, temporal_db and
-- temporal_visibility_db.
-- temaplan_app and temaplan_auditor are the privilege-holding group roles the
-- migrations grant to (eventstore/migrations/0030_least_privilege.sql); the login roles
-- named here are members of them.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I NOLOGIN', r) FROM unnest(ARRAY['temaplan_app', 'temaplan_auditor']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec

SELECT format('CREATE ROLE %I LOGIN', r)
  FROM unnest(ARRAY[:'owner_role', :'app_role', :'auditor_role']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec

-- No superuser, no role creation, no replication; the application and auditor login
-- roles own nothing, so they cannot alter or disable anything.
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'owner_role', :'owner_password') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'app_role', :'app_password') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'auditor_role', :'auditor_password') \gexec
SELECT format('GRANT temaplan_app TO %I', :'app_role') WHERE :'app_role' <> 'temaplan_app' \gexec
SELECT format('GRANT temaplan_auditor TO %I', :'auditor_role')
 WHERE :'auditor_role' <> 'temaplan_auditor' \gexec
-- Auditors' sessions are read-only in PostgreSQL itself, whatever the client asks.
SELECT format('ALTER ROLE %I SET default_transaction_read_only = on', :'auditor_role') \gexec

-- The event store belongs to its owner role, which runs the migrations.
SELECT format('CREATE DATABASE %I OWNER %I', :'events_db', :'owner_role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'events_db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'events_db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I, %I', :'events_db', :'app_role', :'auditor_role') \gexec

-- Temporal keeps its two databases (schema set up by temporal-sql-tool) under a role of
-- its own, which has no access to the event store.
\if :{?temporal_role}
SELECT format('CREATE ROLE %I LOGIN', :'temporal_role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'temporal_role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'temporal_role', :'temporal_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, :'temporal_role')
  FROM unnest(ARRAY[:'temporal_db', :'temporal_visibility_db']) d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', d)
  FROM unnest(ARRAY[:'temporal_db', :'temporal_visibility_db']) d \gexec
\endif
