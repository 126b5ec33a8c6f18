-- The exact text that each event's hash covers for its data: canonical JSON of `data`
-- (docs/audit-format.md), written by the store beside the jsonb. Verification hashes
-- this text as it is, instead of turning the jsonb back into text, parsing it and
-- writing it out canonically for every event, and checks on the server that the jsonb
-- is exactly what this text parses to, so a change to either column is found.
--
-- NULL for events recorded before this migration, which keep being verified from their
-- jsonb as before. A nullable column without a default is a catalog change only: no row
-- is rewritten, and none could be (the triggers refuse UPDATE).
ALTER TABLE events ADD COLUMN canonical_data text;

COMMENT ON COLUMN events.canonical_data IS
    'Canonical JSON text of data, exactly as hashed; NULL for events recorded before 0003.';
