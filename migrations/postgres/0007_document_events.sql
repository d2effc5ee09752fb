-- Audit (issue 7): the event that last wrote each document, so an agent's trail links
-- documents to log positions like statements. Empty for documents written before this
-- migration (a replay fills it).
ALTER TABLE xapi_documents ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
