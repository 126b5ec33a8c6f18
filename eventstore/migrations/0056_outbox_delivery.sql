-- The mail relay delivers the outbox: a relay claims a row for a lease (so two relays,
-- or one restarted, never send it at the same time), marks it sent in the same row, or
-- records the failure and when to try again. After max attempts the row is failed and
-- stays for an operator (`temaplan outbox`). Existing rows become pending.
ALTER TABLE notification_outbox
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN claimed_by      text,
    ADD COLUMN claimed_until   timestamptz,
    ADD COLUMN last_error      text,
    ADD COLUMN failed_at       timestamptz,
    ADD COLUMN message_id      text;

DROP INDEX notification_outbox_unsent;
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
