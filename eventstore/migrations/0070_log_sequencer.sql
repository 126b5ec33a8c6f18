-- The Merkle log's leaves are given by a sequencer to committed events, as Trillian's
-- sequencer does, instead of by a trigger inside every append (migration 0010).
--
-- Why: the trigger made every append of every plan take log_head's row lock and hold it
-- until its commit, so appends were serialised through one row, and a fifth of a batched
-- append's time was the log's (bench/log_cost.py). Now an append writes its events and
-- nothing else; the sequencer, in one short transaction, gives leaves to every event
-- committed since it last ran, many appends at a time.
--
-- Which events. Each event records the id of the transaction that inserted it (txid,
-- filled in by PostgreSQL; the application may not write it). The sequencer takes
-- log_head's row lock and reads the oldest transaction still running (the xmin of its
-- snapshot: every transaction below it has committed or rolled back). Its window is the
-- events without a leaf whose txid is at least sequenced_below and below that xmin.
--
-- Which order. A plan's leaves must follow its versions (the verifier reads each plan's
-- chain in leaf order), and neither txid nor position promises that: a transaction that
-- took its id early (the hearing inbox locks its fence first) may insert a plan's next
-- version after a younger one inserted the version before. So, per plan, the window's
-- events are given leaves only when they continue the plan's sequenced versions without
-- a hole (the version before the first has a leaf, or the first is version 1); a plan
-- whose events do not is held back whole, and sequenced_below stops at the oldest txid
-- held back, so the next window looks at them again (events with a leaf are passed
-- over). The leaves are handed out in position order, and within a plan its events take
-- its slots in version order.
--
-- So:
--   * a rolled-back insert never gets a leaf, and leaves stay gapless;
--   * a late commit is never skipped: while its transaction runs, the xmin stays at or
--     below its id, so its events fall in a later window, never behind the watermark;
--   * each event gets exactly one leaf: an event that has one is passed over (windows
--     overlap after a hold-back, and after a restore, below, transaction ids may start
--     again lower), and log_leaves' primary key and UNIQUE (position) refuse a second;
--   * each plan's leaves follow its versions;
--   * the leaves are a function of the committed record and the durable watermark, so a
--     sequencing lost in a crash is redone with the same indexes.
-- Events recorded before this migration already have their leaves (txid stays NULL).
DROP TRIGGER events_log_sequence ON events;
DROP FUNCTION log_sequence();

ALTER TABLE events ADD COLUMN txid xid8;
ALTER TABLE events ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_txid ON events (txid);
COMMENT ON COLUMN events.txid IS
    'The inserting transaction: the log sequencer gives leaves to events whose txid has ended.';

ALTER TABLE log_head ADD COLUMN sequenced_below xid8;
UPDATE log_head SET sequenced_below = pg_snapshot_xmin(pg_current_snapshot());
ALTER TABLE log_head ALTER COLUMN sequenced_below SET NOT NULL;

-- Leaves for the window [below, horizon) of events without one, as described above,
-- numbered from first_index; returns how many it gave and the oldest txid held back.
CREATE FUNCTION log_sequence_window(first_index bigint, below xid8, horizon xid8,
                                    OUT added bigint, OUT held xid8)
LANGUAGE plpgsql AS $$
BEGIN
    -- Both bounds are values, so the window is read through events_txid; each event in
    -- it is looked up in log_leaves by its index (a scalar subquery with LIMIT is not
    -- turned into a join, which could be planned as a scan of every leaf).
    WITH candidates AS (
        SELECT e.stream_id, e.version, e.position, e.hash, e.txid
          FROM events e
         WHERE e.txid >= below AND e.txid < horizon
           AND (SELECT l.leaf_index FROM log_leaves l
                 WHERE l.position = e.position LIMIT 1) IS NULL
    ), runs AS (
        SELECT c.stream_id, min(c.version) AS first, max(c.version) AS last,
               count(*) AS events, min(c.txid) AS oldest
          FROM candidates c GROUP BY c.stream_id
    ), ready AS (
        SELECT r.stream_id, r.oldest,
               r.last - r.first + 1 = r.events AND (r.first = 1 OR EXISTS (
                   SELECT 1 FROM log_leaves l WHERE l.position = (
                       SELECT p.position FROM events p
                        WHERE p.stream_id = r.stream_id AND p.version = r.first - 1))) AS ok
          FROM runs r
    ), accepted AS (
        SELECT c.stream_id, c.position, c.hash,
               row_number() OVER (ORDER BY c.position) AS slot,
               row_number() OVER (PARTITION BY c.stream_id ORDER BY c.position) AS by_position,
               row_number() OVER (PARTITION BY c.stream_id ORDER BY c.version) AS by_version
          FROM candidates c JOIN ready r ON r.stream_id = c.stream_id AND r.ok
    ), leaves AS (
        INSERT INTO log_leaves (leaf_index, position, event_hash)
        SELECT first_index + slot.slot - 1, event.position, event.hash
          FROM accepted slot
          JOIN accepted event
            ON event.stream_id = slot.stream_id AND event.by_version = slot.by_position
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM leaves), (SELECT min(oldest) FROM ready WHERE NOT ok)
      INTO added, held;
END;
$$;

CREATE FUNCTION log_sequence_now() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_index bigint;
    below xid8;
    horizon xid8;
    added bigint;
    held xid8;
BEGIN
    -- Waits for another sequencer to commit; each statement below then reads a fresh
    -- snapshot (READ COMMITTED), which sees that sequencer's leaves.
    SELECT size, sequenced_below INTO first_index, below FROM log_head FOR UPDATE;
    -- Every transaction below this xmin has ended, so the events of those that committed
    -- are visible to every later snapshot, the window's below included.
    horizon := pg_snapshot_xmin(pg_current_snapshot());
    IF horizon <= below THEN
        RETURN first_index;
    END IF;
    SELECT w.added, w.held INTO added, held FROM log_sequence_window(first_index, below, horizon) w;
    UPDATE log_head SET size = size + added, sequenced_below = least(horizon, held);
    RETURN first_index + added;
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
-- as the owner, right after the restore (nothing else writes to the new database yet);
-- not granted to the application, since it does not wait for running transactions.
CREATE FUNCTION log_sequence_restored() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_index bigint;
    below xid8;
    added bigint;
    held xid8;
BEGIN
    SELECT size, sequenced_below INTO first_index, below FROM log_head FOR UPDATE;
    SELECT w.added, w.held INTO added, held
      FROM log_sequence_window(first_index, below, '18446744073709551615'::xid8) w;
    IF held IS NOT NULL THEN
        RAISE EXCEPTION 'the restored record has events whose plan''s previous version has no leaf (first transaction %)', held
            USING ERRCODE = 'TP001';
    END IF;
    UPDATE log_head SET size = size + added,
                        sequenced_below = pg_snapshot_xmin(pg_current_snapshot());
    RETURN first_index + added;
END;
$$;
-- The planner cannot know how many events a window holds (its estimate is one), and
-- would join the window's parts by nested loops, quadratic in a large window (measured:
-- 28 of 35 ms for 2,000 events). Every look-up by index above is a subquery, not a join,
-- so hash joins leave those as they are.
ALTER FUNCTION log_sequence_window(bigint, xid8, xid8) SET enable_nestloop = off;
REVOKE ALL ON FUNCTION log_sequence_window(bigint, xid8, xid8) FROM PUBLIC;
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
