-- Least privilege (README, "Database roles"). Three kinds of role use this database:
--   the owner, which runs these migrations and owns every table and function;
--   temaplan_app, held by the worker's and the API's login roles: INSERT and SELECT on
--     events and nothing else there, what each process needs on the other tables;
--   temaplan_auditor, held by auditors' login roles: SELECT only.
-- temaplan_app and temaplan_auditor are group roles (NOLOGIN unless a deployment made
-- them login roles itself): eventstore/roles.sql creates them with the login roles
-- that are members. Created here too when missing, so that a superuser migrating a
-- development database gets the same grants; a role that cannot create roles gets a
-- clear message instead.
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['temaplan_app', 'temaplan_auditor'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL;  -- created meanwhile by a concurrent migration of another database
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'role % does not exist and % may not create it', wanted, current_user
                        USING HINT = 'Run eventstore/roles.sql as the superuser first.';
            END;
        END IF;
    END LOOP;
END;
$$;

-- The log sequencer runs with its owner's rights: an application's INSERT into events
-- extends log_head and log_leaves through this trigger, while the application itself may
-- only read those two tables. The search path is pinned, so that nobody can slip a table
-- of their own in front of the log's.
ALTER FUNCTION log_sequence() SECURITY DEFINER SET search_path FROM CURRENT;
REVOKE ALL ON FUNCTION log_sequence() FROM PUBLIC;

-- What the application writes to the log besides leaves is derived or signed, and never
-- changed once written: the integrator's interior nodes, the checkpoints it signs.
CREATE TRIGGER log_nodes_no_update_delete
    BEFORE UPDATE OR DELETE ON log_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER log_nodes_no_truncate
    BEFORE TRUNCATE ON log_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER log_checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER log_checkpoints_no_truncate
    BEFORE TRUNCATE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- The integrator's progress only grows: a smaller size would let nodes be built again.
CREATE FUNCTION log_tree_only_grows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.size < OLD.size THEN
        RAISE EXCEPTION 'the built log only grows: % is below %', NEW.size, OLD.size
            USING ERRCODE = 'TP001';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER log_tree_grows
    BEFORE UPDATE ON log_tree
    FOR EACH ROW EXECUTE FUNCTION log_tree_only_grows();
CREATE TRIGGER log_tree_no_delete
    BEFORE DELETE ON log_tree
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER log_tree_no_truncate
    BEFORE TRUNCATE ON log_tree
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;

-- The decision record: append and read, nothing else.
GRANT SELECT, INSERT ON events TO temaplan_app;
GRANT USAGE ON SEQUENCE events_position_seq TO temaplan_app;
GRANT SELECT ON log_head, log_leaves TO temaplan_app;
GRANT SELECT, INSERT ON log_nodes, log_checkpoints TO temaplan_app;
GRANT SELECT, UPDATE ON log_tree TO temaplan_app;
-- A witness may send a newer cosignature of the same checkpoint.
GRANT SELECT, INSERT ON log_cosignatures TO temaplan_app;
GRANT UPDATE (line, received_at) ON log_cosignatures TO temaplan_app;

-- Rendered documents and the outbox: written once per deterministic key.
GRANT SELECT, INSERT ON documents, scorecards TO temaplan_app;
GRANT SELECT, INSERT, UPDATE ON notification_outbox TO temaplan_app;
GRANT USAGE ON SEQUENCE notification_outbox_id_seq TO temaplan_app;

-- Access control and the rate limit change by design (revocation, sessions, windows).
GRANT SELECT, INSERT, UPDATE ON access_tokens TO temaplan_app;
GRANT SELECT, INSERT, DELETE ON web_sessions TO temaplan_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limits TO temaplan_app;

-- The processes check at start that the schema is current; only the owner migrates.
GRANT SELECT ON schema_migrations TO temaplan_app;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO temaplan_auditor;
-- Token hashes and sessions are access control, not the record.
REVOKE SELECT ON access_tokens, web_sessions FROM temaplan_auditor;

-- Tables that later migrations create: readable by auditors, and appendable by the
-- application (a migration grants more where a table changes by design).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO temaplan_auditor;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO temaplan_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO temaplan_app;
