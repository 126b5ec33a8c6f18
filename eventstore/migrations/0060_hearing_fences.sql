-- The public hearing's fence: the API appends hearing responses to a plan's stream
-- itself (eventstore/hearing_inbox.py) and must know, in the same transaction as that
-- append, whether the hearing is open. One row per plan, written by the trigger below in
-- the same statement, and so the same transaction, as the hearing_opened and
-- hearing_closed events: a response batch locks the row first, and a close either waits
-- for it or is seen by it. ``responses``: how many the API appended to this hearing (the
-- workflow is told the count). ``sealed_at``: the workflow is closing the hearing (it reads
-- the responses recorded so far, then appends the close): no response is taken after it.
-- Not part of the decision record (derived from it and rebuilt below from the events).
CREATE TABLE hearing_fences (
    stream_id      text        PRIMARY KEY,
    opened_version int         NOT NULL,
    deadline       timestamptz NOT NULL,
    responses      int         NOT NULL DEFAULT 0,  -- appended by the API to this hearing
    sealed_at      timestamptz,
    closed_version int,
    closed_at      timestamptz,
    closed_by      text,
    closed_early   boolean,
    reason         text
);

CREATE FUNCTION hearing_fence() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type = 'hearing_opened' THEN
        INSERT INTO hearing_fences (stream_id, opened_version, deadline)
        VALUES (NEW.stream_id, NEW.version, (NEW.data->>'deadline')::timestamptz)
        ON CONFLICT (stream_id) DO UPDATE
            SET opened_version = EXCLUDED.opened_version, deadline = EXCLUDED.deadline,
                responses = 0, sealed_at = NULL, closed_version = NULL, closed_at = NULL,
                closed_by = NULL, closed_early = NULL, reason = NULL;
    ELSE
        UPDATE hearing_fences
           SET closed_version = NEW.version,
               closed_at = (NEW.data->>'occurred_at')::timestamptz,
               closed_by = NEW.actor_id,
               closed_early = (NEW.data->>'early')::boolean,
               reason = NEW.data->>'reason'
         WHERE stream_id = NEW.stream_id;
    END IF;
    RETURN NEW;
END;
$$;
-- Runs with its owner's rights, like the log's sequencer: the application writes the
-- fence only through its events (and seals it, below).
ALTER FUNCTION hearing_fence() SECURITY DEFINER SET search_path FROM CURRENT;
REVOKE ALL ON FUNCTION hearing_fence() FROM PUBLIC;

-- BEFORE the row is inserted: the close takes the fence's lock before it takes its
-- version, so it waits for a response batch holding the fence and never deadlocks with
-- one on the stream's primary key.
CREATE TRIGGER events_hearing_fence
    BEFORE INSERT ON events
    FOR EACH ROW WHEN (NEW.type IN ('hearing_opened', 'hearing_closed'))
    EXECUTE FUNCTION hearing_fence();

-- Hearings recorded before this migration: each plan's latest opening and its close.
INSERT INTO hearing_fences (stream_id, opened_version, deadline)
SELECT DISTINCT ON (stream_id) stream_id, version, (data->>'deadline')::timestamptz
  FROM events WHERE type = 'hearing_opened'
 ORDER BY stream_id, version DESC;
UPDATE hearing_fences f
   SET closed_version = c.version,
       closed_at = (c.data->>'occurred_at')::timestamptz,
       closed_by = c.actor_id,
       closed_early = (c.data->>'early')::boolean,
       reason = c.data->>'reason'
  FROM events c
 WHERE c.stream_id = f.stream_id AND c.type = 'hearing_closed' AND c.version > f.opened_version;

GRANT SELECT ON hearing_fences TO temaplan_app;
GRANT UPDATE (sealed_at, responses) ON hearing_fences TO temaplan_app;
