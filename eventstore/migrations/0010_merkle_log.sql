-- The Merkle log over every event (docs/audit-format.md, "The Merkle log").
--
-- Sequencing: each statement that inserts events gives them the next leaf indexes, in
-- position order, from log_head. The UPDATE of log_head's single row takes a row lock
-- that is held until the inserting transaction ends, so the next inserting transaction
-- waits for this one to commit or roll back before it reads the size: leaf indexes are
-- handed out in commit order, a rolled-back insert gives its indexes back (no gap), and
-- a late commit is never skipped, because it cannot commit after a later index. Any
-- writer of events goes through this trigger, not only the store.
CREATE TABLE log_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    size     bigint  NOT NULL CHECK (size >= 0)
);

CREATE TABLE log_leaves (
    leaf_index bigint   PRIMARY KEY CHECK (leaf_index >= 0),
    position   bigint   NOT NULL UNIQUE,
    event_hash char(64) NOT NULL
);

COMMENT ON TABLE log_leaves IS
    'Leaf index of every event in the Merkle log, gapless and in commit order.';

-- Events recorded before this migration become the first leaves, in position order.
INSERT INTO log_leaves (leaf_index, position, event_hash)
SELECT row_number() OVER (ORDER BY position) - 1, position, hash FROM events;
INSERT INTO log_head (size) SELECT count(*) FROM events;

CREATE FUNCTION log_sequence() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
    first_index bigint;
BEGIN
    SELECT count(*) INTO added FROM new_events;
    IF added = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE log_head SET size = size + added RETURNING size - added INTO first_index;
    INSERT INTO log_leaves (leaf_index, position, event_hash)
    SELECT first_index + row_number() OVER (ORDER BY position) - 1, position, hash
      FROM new_events;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_log_sequence
    AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION log_sequence();

CREATE TRIGGER log_leaves_no_update_delete
    BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER log_leaves_no_truncate
    BEFORE TRUNCATE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Hashes of the complete, aligned subtrees built so far: node (level, node_index) covers
-- leaves [node_index * 2^level, (node_index + 1) * 2^level). Level 0, a leaf's own hash,
-- is computed from log_leaves and not stored. Any root or proof needs O(log n) of them.
-- Built by one integrator at a time (log_tree's row lock), from log_leaves.
CREATE TABLE log_nodes (
    level      smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
    node_index bigint NOT NULL CHECK (node_index >= 0),
    hash       bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, node_index)
);

CREATE TABLE log_tree (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    size     bigint  NOT NULL CHECK (size >= 0)
);
INSERT INTO log_tree (size) VALUES (0);

-- Signed checkpoints (C2SP tlog-checkpoint in a C2SP signed note), as signed.
CREATE TABLE log_checkpoints (
    tree_size  bigint      PRIMARY KEY CHECK (tree_size >= 0),
    root_hash  bytea       NOT NULL CHECK (length(root_hash) = 32),
    note       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Witnesses' cosignature lines (C2SP tlog-cosignature), one per witness and checkpoint.
CREATE TABLE log_cosignatures (
    tree_size   bigint      NOT NULL REFERENCES log_checkpoints (tree_size),
    witness     text        NOT NULL,
    line        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tree_size, witness)
);

REVOKE UPDATE, DELETE, TRUNCATE ON log_leaves FROM PUBLIC;
