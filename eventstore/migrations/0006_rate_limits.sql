-- The public rate limit (hearing responses per client address), shared by every API
-- process: one row per key holding the times of the hits accepted within the window.
-- Access control like access_tokens, not part of the decision record.
CREATE TABLE rate_limits (
    key      text          PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    hits     timestamptz[] NOT NULL,
    last_hit timestamptz   NOT NULL
);
CREATE INDEX rate_limits_last_hit ON rate_limits (last_hit);
