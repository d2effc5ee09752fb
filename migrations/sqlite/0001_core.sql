-- Core read store (SQLite). Everything here is derived from the event log and can be
-- rebuilt by replay; the projector is the only writer.

-- Last applied log offset per consumer (projector group or replay) and partition,
-- written in the same transaction as the effects of the records.
CREATE TABLE lrs_positions (
    consumer    TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    last_offset INTEGER NOT NULL,
    PRIMARY KEY (consumer, partition)
) WITHOUT ROWID;

-- The projector's verdict on every event (read-your-writes and audit).
CREATE TABLE lrs_event_outcomes (
    event_id       TEXT    NOT NULL PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    partition      INTEGER NOT NULL,
    log_offset     INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    detail         TEXT,
    correlation_id TEXT    NOT NULL,
    principal      TEXT    NOT NULL,
    received_at    TEXT    NOT NULL
);
CREATE INDEX lrs_event_outcomes_tenant ON lrs_event_outcomes (tenant, partition, log_offset);

CREATE TABLE lrs_tenants (
    tenant   TEXT    NOT NULL PRIMARY KEY,
    name     TEXT    NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    -- Statement sequence and last `stored` (ms): keep `stored` monotonic per tenant.
    next_seq       INTEGER NOT NULL DEFAULT 1,
    last_stored_ms INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE lrs_credentials (
    key         TEXT    NOT NULL PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    scopes      TEXT    NOT NULL,
    authority   TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lrs_credentials_tenant ON lrs_credentials (tenant);

-- Statements: full JSON plus the columns queries need. `seq` is the per-tenant log
-- order, so ordering by it is ordering by `stored` (which never decreases).
CREATE TABLE xapi_statements (
    tenant     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    stored_ms  INTEGER NOT NULL,
    voided     INTEGER NOT NULL DEFAULT 0,
    is_voider  INTEGER NOT NULL DEFAULT 0,
    object_ref TEXT,
    verb       TEXT    NOT NULL,
    registration TEXT,
    actor      TEXT,
    event_id   TEXT    NOT NULL,
    body       TEXT    NOT NULL
);
-- A rowid table, not WITHOUT ROWID: rows hold ~1 KB of JSON, and appending them at the
-- end of a rowid B-tree is far cheaper than inserting them into a clustered index.
CREATE UNIQUE INDEX xapi_statements_seq ON xapi_statements (tenant, seq);
CREATE UNIQUE INDEX xapi_statements_id ON xapi_statements (tenant, id);
CREATE INDEX xapi_statements_stored ON xapi_statements (tenant, stored_ms, seq);
CREATE INDEX xapi_statements_object_ref ON xapi_statements (tenant, object_ref) WHERE object_ref IS NOT NULL;

-- Filter index: one row per (filter kind, key) a statement matches, including what it
-- inherits from the statement its StatementRef object points to.
-- kind: 1 agent, 2 related agent, 3 verb, 4 activity, 5 related activity, 6 registration.
CREATE TABLE xapi_statement_index (
    tenant TEXT    NOT NULL,
    kind   INTEGER NOT NULL,
    key    TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, key, seq)
) WITHOUT ROWID;

-- Voiding statements by target, so a target that arrives after its voider is voided
-- on arrival.
CREATE TABLE xapi_voids (
    tenant    TEXT NOT NULL,
    target_id TEXT NOT NULL,
    voider_id TEXT NOT NULL,
    PRIMARY KEY (tenant, target_id, voider_id)
) WITHOUT ROWID;
