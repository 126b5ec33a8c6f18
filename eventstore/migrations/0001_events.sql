-- The permanent decision record: one stream per plan, gapless versions, hash chain.
CREATE TABLE events (
    position       bigserial   NOT NULL UNIQUE,
    stream_id      text        NOT NULL CHECK (length(stream_id) BETWEEN 1 AND 200),
    version        integer     NOT NULL CHECK (version >= 1),
    -- NULL for the first event; otherwise must name an existing earlier version, which
    -- makes gaps impossible even for writers that bypass our code.
    prev_version   integer     GENERATED ALWAYS AS (NULLIF(version - 1, 0)) STORED,
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    schema_version integer     NOT NULL CHECK (schema_version >= 1),
    data           jsonb       NOT NULL,
    actor_id       text        NOT NULL,
    actor_role     text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    prev_hash      char(64)    NOT NULL,
    hash           char(64)    NOT NULL,
    PRIMARY KEY (stream_id, version),
    FOREIGN KEY (stream_id, prev_version) REFERENCES events (stream_id, version)
);

COMMENT ON TABLE events IS
    'Append-only decision events. UPDATE, DELETE and TRUNCATE are refused by triggers.';

CREATE FUNCTION events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'TP001',
              HINT = 'Record a new event that corrects or supersedes the old one.';
END;
$$;

CREATE TRIGGER events_no_update_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

REVOKE UPDATE, DELETE, TRUNCATE ON events FROM PUBLIC;
