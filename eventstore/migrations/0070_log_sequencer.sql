-- The Merkle log's leaves are given by a sequencer to committed events, as Trillian's
-- sequencer does, instead of by a trigger inside every append (migration 0010).
--
-- Why: the trigger made every append of every plan take log_head's row lock and hold it
-- until its commit, so appends were serialised through one row, and a fifth of a batched
-- append's time was the log's (bench/log_cost.py). Now an append writes its events and
-- nothing else; the sequencer, in one short transaction, gives leaves to every event
-- committed since it last ran, many appends at a time.
--
-- Order and completeness. Each event records the id of the transaction that inserted it
-- (txid, filled in by PostgreSQL; the application may not write it). The sequencer takes
-- log_head's row lock, reads the oldest transaction still running (the xmin of its
-- snapshot: every transaction below it has committed or rolled back), and gives the next
-- leaf indexes to the events with sequenced_below <= txid < that xmin, in (txid, position)
-- order, then moves sequenced_below up to it. So:
--   * a rolled-back insert never gets a leaf, and leaves stay gapless;
--   * a late commit is never skipped: while its transaction runs, the xmin stays at or
--     below its id, so its events fall in a later window, never behind the watermark;
--   * each event gets exactly one leaf: the windows do not overlap, an event that has a
--     leaf is passed over (after a restore, below, transaction ids start again lower),
--     and log_leaves' primary key (leaf_index) and UNIQUE (position) refuse a second;
--   * the leaves of the committed events are a function of the record alone: a
--     sequencing lost in a crash is redone with the same indexes.
-- Events recorded before this migration already have their leaves (txid stays NULL).
DROP TRIGGER events_log_sequence ON events;
DROP FUNCTION log_sequence();

ALTER TABLE events ADD COLUMN txid xid8;
ALTER TABLE events ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_txid ON events (txid);
COMMENT ON COLUMN events.txid IS
    'The inserting transaction; the log sequencer orders leaves by (txid, position).';

ALTER TABLE log_head ADD COLUMN sequenced_below xid8;
UPDATE log_head SET sequenced_below = pg_snapshot_xmin(pg_current_snapshot());
ALTER TABLE log_head ALTER COLUMN sequenced_below SET NOT NULL;

CREATE FUNCTION log_sequence_now() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_index bigint;
    below xid8;
    horizon xid8;
    sequenced bigint;
BEGIN
    -- Waits for another sequencer to commit; each statement below then reads a fresh
    -- snapshot (READ COMMITTED), which sees that sequencer's leaves.
    SELECT size, sequenced_below INTO first_index, below FROM log_head FOR UPDATE;
    -- Every transaction below this xmin has ended, so the events of those that committed
    -- are visible to every later snapshot, the insert's below included.
    horizon := pg_snapshot_xmin(pg_current_snapshot());
    IF horizon <= below THEN
        RETURN first_index;
    END IF;
    -- Both bounds are values, so the window is read through events_txid; each event in
    -- it is looked up in log_leaves by its index (a scalar subquery with LIMIT is not
    -- turned into a join, which could be planned as a scan of every leaf).
    WITH leaves AS (
        INSERT INTO log_leaves (leaf_index, position, event_hash)
        SELECT first_index + row_number() OVER (ORDER BY e.txid, e.position) - 1,
               e.position, e.hash
          FROM events e
         WHERE e.txid >= below AND e.txid < horizon
           AND (SELECT l.leaf_index FROM log_leaves l
                 WHERE l.position = e.position LIMIT 1) IS NULL
        RETURNING 1
    )
    UPDATE log_head
       SET size = size + (SELECT count(*) FROM leaves), sequenced_below = horizon
    RETURNING size INTO sequenced;
    RETURN sequenced;
END;
$$;
COMMENT ON FUNCTION log_sequence_now() IS
    'Gives the next leaves to the events committed since the last call; returns the size.';

-- The sequencer as the application calls it. The body above is shared with
-- log_leaves_of (below) and runs with the rights and settings of whichever calls it.
CREATE FUNCTION log_sequence_committed() RETURNS bigint
LANGUAGE sql AS $$ SELECT log_sequence_now() $$;

-- After a restore into another server, whose transaction ids may be lower than those
-- the events recorded: the events the backup holds without a leaf get theirs now, in the
-- same order, and the watermark moves to this server's ids. Run by `temaplan restore`
-- as the owner, in the restore's own transaction (nothing else can be writing); not
-- granted to the application, since it does not wait for running transactions.
CREATE FUNCTION log_sequence_restored() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_index bigint;
    below xid8;
    sequenced bigint;
BEGIN
    SELECT size, sequenced_below INTO first_index, below FROM log_head FOR UPDATE;
    WITH leaves AS (
        INSERT INTO log_leaves (leaf_index, position, event_hash)
        SELECT first_index + row_number() OVER (ORDER BY e.txid, e.position) - 1,
               e.position, e.hash
          FROM events e
         WHERE e.txid >= below
           AND NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.position = e.position)
        RETURNING 1
    )
    UPDATE log_head
       SET size = size + (SELECT count(*) FROM leaves),
           sequenced_below = pg_snapshot_xmin(pg_current_snapshot())
    RETURNING size INTO sequenced;
    RETURN sequenced;
END;
$$;
REVOKE ALL ON FUNCTION log_sequence_restored() FROM PUBLIC;

-- The leaves of the given events, sequencing first if any of them has none yet: what a
-- receipt needs, in one round trip. The commit that records new leaves need not wait for
-- the disk: they are a function of committed events (above), so a crash that loses them
-- loses nothing that the next sequencing does not give again with the same indexes, and
-- any checkpoint over them is committed later, which flushes them first.
CREATE FUNCTION log_leaves_of(positions bigint[])
RETURNS TABLE (event_position bigint, leaf_index bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(positions) AS p(position)
                WHERE NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.position = p.position))
    THEN
        PERFORM set_config('synchronous_commit', 'off', true);
        PERFORM log_sequence_now();
    END IF;
    RETURN QUERY SELECT l.position, l.leaf_index FROM log_leaves l
                  WHERE l.position = ANY(positions);
END;
$$;

-- Both run with their owner's rights: the application extends the log only through
-- them, and may still only read log_head and log_leaves. The search path is pinned, so
-- that nobody can slip a table of their own in front of the log's.
--
-- Their statements are planned for the log as it is at each call: a plan kept from the
-- first calls, when the tables were small, would read every leaf (measured: a receipt's
-- look-up grew from 2 to 9 ms over 30,000 events where PostgreSQL's statistics were not
-- refreshed).
ALTER FUNCTION log_sequence_committed()
    SECURITY DEFINER SET search_path FROM CURRENT SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION log_leaves_of(bigint[])
    SECURITY DEFINER SET search_path FROM CURRENT SET plan_cache_mode = force_custom_plan;
REVOKE ALL ON FUNCTION log_sequence_now() FROM PUBLIC;
REVOKE ALL ON FUNCTION log_sequence_committed() FROM PUBLIC;
REVOKE ALL ON FUNCTION log_leaves_of(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION log_sequence_committed() TO temaplan_app;
GRANT EXECUTE ON FUNCTION log_leaves_of(bigint[]) TO temaplan_app;

-- The application appends events but writes neither txid (the sequencer's order) nor
-- position (the sequence's): PostgreSQL fills both in.
REVOKE INSERT ON events FROM temaplan_app;
GRANT INSERT (stream_id, version, event_id, type, schema_version, data, canonical_data,
              actor_id, actor_role, recorded_at, prev_hash, hash)
    ON events TO temaplan_app;
