-- Documents (State, Activity Profile, Agent Profile) and the read models derived from
-- accepted statements (canonical activity definitions, names seen per agent). Like
-- everything in the read store these are folds of the event log, rebuilt by replay.

-- One row per stored document. Fields a kind does not use are '' so the key is a plain
-- tuple: kind 'state' uses all four, 'activity_profile' leaves agent and registration
-- empty, 'agent_profile' leaves activity_id and registration empty. `agent` is the
-- canonical IFI key (lrs_core::xapi::agent_key). `etag` is the lowercase hex SHA-1 of
-- `body`; `updated_ms` is the log's received-at time of the last write.
CREATE TABLE xapi_documents (
    tenant       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    activity_id  TEXT    NOT NULL,
    agent        TEXT    NOT NULL,
    registration TEXT    NOT NULL,
    document_id  TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    body         BYTEA   NOT NULL,
    etag         TEXT    NOT NULL,
    updated_ms   BIGINT  NOT NULL,
    PRIMARY KEY (tenant, kind, activity_id, agent, registration, document_id)
);

-- Canonical definition of each activity, merged from accepted statements
-- (see crates/store/src/definitions.rs for the rule). `definition` is a JSON object.
CREATE TABLE xapi_activities (
    tenant      TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    definition  TEXT NOT NULL,
    PRIMARY KEY (tenant, activity_id)
);

-- Every name seen with an agent identifier (canonical IFI key) in an accepted statement,
-- for the Agents resource. `first_seq` is the statement that first showed it.
CREATE TABLE xapi_agent_names (
    tenant    TEXT    NOT NULL,
    agent     TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    first_seq BIGINT  NOT NULL,
    PRIMARY KEY (tenant, agent, name)
);
