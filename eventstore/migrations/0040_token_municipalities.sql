-- Several municipalities on one deployment: a token may be limited to the municipalities
-- (four-digit kommunenummer) its person belongs to. NULL: every municipality on the
-- deployment (a single-municipality deployment, or the operator's own staff), which is
-- what every token issued before this migration keeps meaning.
ALTER TABLE access_tokens
    ADD COLUMN municipalities text[] CHECK (
        municipalities IS NULL
        OR (cardinality(municipalities) BETWEEN 1 AND 400
            AND array_to_string(municipalities, ',') ~ '^[0-9]{4}(,[0-9]{4})*$')
    );
