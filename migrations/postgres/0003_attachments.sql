-- Attachment bodies (xAPI §2.12), content-addressed per tenant: one row per distinct
-- SHA-2, shared by every statement that declares that hash. The projector writes them
-- from the bytes carried in `statements.submitted` events, so a replay rebuilds them.
CREATE TABLE xapi_attachments (
    tenant       TEXT   NOT NULL,
    sha2         TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    length       BIGINT NOT NULL,
    body         BYTEA  NOT NULL,
    PRIMARY KEY (tenant, sha2)
);

-- xapi_statement_index gains kind 7 (the statement's own authority, for the
-- statements/read/mine scope). Statements stored before this migration have no such row
-- until the read store is rebuilt from the log.
