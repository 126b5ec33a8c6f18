-- Rendered scorecards (målekort), one per plan, revision year and format. The scorecard
-- itself is an event in the plan's stream; this is its printable form, tied to it by
-- the content hash of the plan version it measured.
CREATE TABLE scorecards (
    plan_id      text        NOT NULL,
    year         integer     NOT NULL,
    format       text        NOT NULL CHECK (format IN ('markdown', 'html')),
    content_hash char(64)    NOT NULL,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, year, format)
);
