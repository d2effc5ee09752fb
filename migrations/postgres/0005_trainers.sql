-- Trainer assignments (issue 5, role `trainer`): which learners and courses an org admin
-- assigned to a trainer. Written only by the projector from `trainer.assigned` (replace)
-- and `trainer.unassigned` events, so a replay rebuilds it. `trainer` is the principal id
-- `<sub>#<iss>` of the trainer's tokens; `kind` is 'learner' (value = canonical agent
-- key, `agent` = the Agent JSON as the admin sent it) or 'course' (value = activity id,
-- `agent` empty).
CREATE TABLE lrs_trainer_assignments (
    tenant  TEXT NOT NULL,
    trainer TEXT NOT NULL,
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    agent   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, trainer, kind, value)
);
