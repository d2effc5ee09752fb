-- Audit trail: every statement id carried by every `statements.submitted` event,
-- accepted or rejected, so the events that touched a statement can be listed
-- (GET /audit/statements/{id}). Ids are lowercase. Written by the projector next to
-- lrs_event_outcomes; events projected before this migration appear after a replay.
CREATE TABLE lrs_event_statements (
    tenant       TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    PRIMARY KEY (tenant, statement_id, event_id)
);

-- Documents of one agent across activities (GET /audit/agents).
CREATE INDEX xapi_documents_agent ON xapi_documents (tenant, agent);
