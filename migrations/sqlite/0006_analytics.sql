-- Analytics read models (issue 6). Written only by the projector, so a replay rebuilds
-- them; definitions in docs/analytics.md.

-- The analytic fact of every counting statement (actor an Agent, object an Activity).
-- Bitemporal: a fact is visible from its own log position / stored time until the
-- position / stored time of the statement that voided it, which is what lets every
-- figure be computed "as of" a past moment without a replay.
CREATE TABLE analytics_facts (
    tenant        TEXT    NOT NULL,
    statement_id  TEXT    NOT NULL,
    learner       TEXT    NOT NULL,
    activity      TEXT    NOT NULL,
    verb          TEXT    NOT NULL,
    ts_ms         INTEGER NOT NULL,
    day           TEXT    NOT NULL,
    stored_ms     INTEGER NOT NULL,
    registration  TEXT,
    completes     INTEGER NOT NULL,
    success       INTEGER,
    scaled        REAL,
    duration_cs   INTEGER NOT NULL,
    log_offset    INTEGER NOT NULL,
    voided_offset INTEGER,
    voided_ms     INTEGER,
    -- Clustered by pair: a refold reads contiguous rows, and no second index is paid
    -- for on every statement (voids know their target's pair). Tenant-wide figures scan
    -- the tenant's facts.
    PRIMARY KEY (tenant, learner, activity, statement_id)
) WITHOUT ROWID;

-- context.contextActivities of the facts: kind 1 = parent, 2 = grouping; `activity` is
-- the context activity, (learner, child, statement_id) the fact's key. Clustered for
-- "children of A" (kind 1, activity A) and joined to facts by their primary key.
CREATE TABLE analytics_fact_context (
    tenant       TEXT    NOT NULL,
    kind         INTEGER NOT NULL,
    activity     TEXT    NOT NULL,
    learner      TEXT    NOT NULL,
    child        TEXT    NOT NULL,
    statement_id TEXT    NOT NULL,
    PRIMARY KEY (tenant, kind, activity, learner, child, statement_id)
) WITHOUT ROWID;

-- Current progress per (learner, activity), kept by folding facts (lrs_core::analytics).
-- The columns are for readers; `state` holds the whole fold (with the keys that decided
-- "latest" values) so a new fact is added without re-reading the older ones.
CREATE TABLE analytics_progress (
    tenant        TEXT    NOT NULL,
    learner       TEXT    NOT NULL,
    activity      TEXT    NOT NULL,
    statements    INTEGER NOT NULL,
    first_ms      INTEGER NOT NULL,
    last_ms       INTEGER NOT NULL,
    completed_ms  INTEGER,
    -- UTC date of completed_ms, so completions per day are one GROUP BY.
    completed_day TEXT,
    status        TEXT,
    best_score    REAL,
    last_score    REAL,
    time_spent_cs INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    PRIMARY KEY (tenant, learner, activity)
) WITHOUT ROWID;
CREATE INDEX analytics_progress_activity ON analytics_progress (tenant, activity);
-- Completions per day without reading every progress row.
CREATE INDEX analytics_progress_completed ON analytics_progress (tenant, completed_day)
    WHERE completed_day IS NOT NULL;

-- Counters of the current (unvoided) facts, kept by the projector with +/- deltas so
-- the current figures never scan the facts: statements and time per learner and day
-- (daily series, active days, engagement), per learner and verb, per learner and
-- registration ('' = none: sessions), and per (parent, child) context pair (roll-up
-- children). Ranges and points in time are answered from the facts instead.
CREATE TABLE analytics_learner_days (
    tenant        TEXT    NOT NULL,
    learner       TEXT    NOT NULL,
    day           TEXT    NOT NULL,
    statements    INTEGER NOT NULL,
    time_spent_cs INTEGER NOT NULL,
    PRIMARY KEY (tenant, learner, day)
) WITHOUT ROWID;
CREATE TABLE analytics_learner_verbs (
    tenant        TEXT    NOT NULL,
    learner       TEXT    NOT NULL,
    verb          TEXT    NOT NULL,
    statements    INTEGER NOT NULL,
    time_spent_cs INTEGER NOT NULL,
    PRIMARY KEY (tenant, learner, verb)
) WITHOUT ROWID;
CREATE TABLE analytics_learner_sessions (
    tenant        TEXT    NOT NULL,
    learner       TEXT    NOT NULL,
    registration  TEXT    NOT NULL,
    statements    INTEGER NOT NULL,
    time_spent_cs INTEGER NOT NULL,
    PRIMARY KEY (tenant, learner, registration)
) WITHOUT ROWID;
CREATE TABLE analytics_children (
    tenant        TEXT    NOT NULL,
    parent        TEXT    NOT NULL,
    child         TEXT    NOT NULL,
    statements    INTEGER NOT NULL,
    time_spent_cs INTEGER NOT NULL,
    PRIMARY KEY (tenant, parent, child)
) WITHOUT ROWID;

-- Learning path definitions, every version (definition NULL = deleted), so a path can
-- be read as it stood at a past position.
CREATE TABLE analytics_paths (
    tenant     TEXT    NOT NULL,
    path_id    TEXT    NOT NULL,
    log_offset INTEGER NOT NULL,
    stored_ms  INTEGER NOT NULL,
    definition TEXT,
    PRIMARY KEY (tenant, path_id, log_offset)
) WITHOUT ROWID;

-- Freshness: the last log position applied for each tenant.
ALTER TABLE lrs_tenants ADD COLUMN applied_partition INTEGER NOT NULL DEFAULT -1;
ALTER TABLE lrs_tenants ADD COLUMN applied_offset INTEGER NOT NULL DEFAULT -1;
ALTER TABLE lrs_tenants ADD COLUMN applied_ms INTEGER NOT NULL DEFAULT 0;
