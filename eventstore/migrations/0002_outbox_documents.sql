-- People are told what waits for them through an outbox: a mailer (or the web page)
-- delivers from here. dedupe_key makes a retried activity harmless.
CREATE TABLE notification_outbox (
    id              bigserial   PRIMARY KEY,
    dedupe_key      text        NOT NULL UNIQUE,
    plan_id         text        NOT NULL,
    recipient_id    text        NOT NULL,
    recipient_email text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notification_outbox_unsent ON notification_outbox (created_at) WHERE sent_at IS NULL;

-- Rendered drafts, one per content version and format; the content hash ties each to
-- the exact version in the decision record.
CREATE TABLE documents (
    plan_id         text        NOT NULL,
    content_version integer     NOT NULL,
    format          text        NOT NULL CHECK (format IN ('markdown', 'html')),
    content_hash    char(64)    NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, content_version, format)
);
