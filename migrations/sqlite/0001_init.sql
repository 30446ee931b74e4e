-- Initial schema for the embedded SQLite backend: the twin of migrations/postgres/0001_init.sql (same
-- version and name, same tables, columns, constraints and indexes), for one process that owns the file.
--
-- Dialect differences from Postgres:
-- * BIGSERIAL -> INTEGER PRIMARY KEY AUTOINCREMENT, so ids only grow and are never reused after a delete
--   (as with a Postgres sequence; the executor deletes inbox rows "up to id N").
-- * TIMESTAMPTZ -> INTEGER microseconds since the Unix epoch (UTC). Integers sort and compare exactly,
--   at the store's precision (store::now() truncates to microseconds); the Rust side converts.
-- * COLLATE "C" -> nothing: SQLite's default BINARY collation compares UTF-8 bytes, which is code-point
--   order, the order AWS lists names in.
-- * BOOLEAN -> INTEGER 0/1 (SQLite's BOOLEAN affinity is NUMERIC anyway).
-- * No row locks (FOR UPDATE / SKIP LOCKED): all writes go through one connection, so transactions are
--   serialised by construction (see src/store/sqlite.rs).
-- * Foreign keys are enforced per connection (PRAGMA foreign_keys = ON, set by the store on every connection).

CREATE TABLE state_machines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    -- UNIQUE also serves ListStateMachines: keyset pages ordered by name.
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'DELETING')),
    -- The version new executions start with (no foreign key, as in Postgres: the row and its first
    -- version are inserted in one transaction).
    current_version_id INTEGER,
    creation_date INTEGER NOT NULL
);

-- Finishing deletions: find the machines in DELETING quickly (few rows, usually none).
CREATE INDEX state_machines_deleting ON state_machines (id) WHERE status = 'DELETING';

CREATE TABLE state_machine_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state_machine_id INTEGER NOT NULL REFERENCES state_machines (id) ON DELETE CASCADE,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    -- JSON text in AWS member names: {"level":"OFF","includeExecutionData":false,"destinations":[...]}.
    logging_configuration TEXT NOT NULL,
    -- JSON text: {"enabled":false}.
    tracing_configuration TEXT NOT NULL,
    update_date INTEGER NOT NULL
);

-- ON DELETE CASCADE from state_machines, and listing a machine's versions.
CREATE INDEX state_machine_versions_machine ON state_machine_versions (state_machine_id);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    -- UNIQUE also serves ListActivities: keyset pages ordered by name.
    name TEXT NOT NULL UNIQUE,
    creation_date INTEGER NOT NULL
);

CREATE TABLE tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    -- Primary key serves ListTagsForResource (prefix resource_arn), upserts and deletes by key.
    PRIMARY KEY (resource_arn, key)
);

CREATE TABLE executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- UNIQUE serves every lookup by executionArn.
    arn TEXT NOT NULL UNIQUE,
    state_machine_id INTEGER NOT NULL REFERENCES state_machines (id) ON DELETE CASCADE,
    version_id INTEGER NOT NULL REFERENCES state_machine_versions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    trace_header TEXT,
    start_date INTEGER NOT NULL,
    stop_date INTEGER,
    express INTEGER NOT NULL CHECK (express IN (0, 1)),
    -- The engine's serialized state; NULL until the executor first advances the execution.
    engine_state TEXT,
    -- When the executor has work for this execution; NULL = waiting on something external (or closed).
    due_at INTEGER,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    -- Bumped by every writer that takes the execution away from an executor (StopExecution, lease
    -- steal), so a stale executor's conditional commit fails.
    lease_version INTEGER NOT NULL DEFAULT 0,
    -- Id of the newest history event.
    last_event_id INTEGER NOT NULL,
    -- The executor that last advanced the execution (for operators).
    last_owner TEXT
);

-- StartExecution's name check and idempotency (standard executions only: express names may repeat,
-- their ARNs carry a UUID).
CREATE UNIQUE INDEX executions_machine_name ON executions (state_machine_id, name) WHERE NOT express;

-- The executor's work queue: executions whose next step is due.
CREATE INDEX executions_due ON executions (due_at) WHERE due_at IS NOT NULL;

-- ListExecutions without statusFilter: newest first, keyset on (start_date, id).
CREATE INDEX executions_machine_start ON executions (state_machine_id, start_date DESC, id DESC);

-- ListExecutions with statusFilter; also "does this machine still have RUNNING executions" (deletion).
CREATE INDEX executions_machine_status_start
    ON executions (state_machine_id, status, start_date DESC, id DESC);

CREATE TABLE history_events (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    -- JSON of the details object (AWS member names, without the wrapper key); NULL when none.
    details TEXT,
    -- Primary key serves GetExecutionHistory: keyset pages by id, both directions.
    PRIMARY KEY (execution_id, id)
) WITHOUT ROWID;

CREATE TABLE activity_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- UNIQUE serves SendTaskSuccess/Failure/Heartbeat lookups by token.
    token TEXT NOT NULL UNIQUE,
    activity_arn TEXT NOT NULL,
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    -- The engine's id for the task within the execution.
    task_key TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('SCHEDULED', 'STARTED', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED')),
    worker_name TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    closed_at INTEGER
);

-- GetActivityTask: the oldest SCHEDULED task of an activity.
CREATE INDEX activity_tasks_scheduled ON activity_tasks (activity_arn, id) WHERE status = 'SCHEDULED';

-- StopExecution (cancel the open tasks of an execution) and the executor's timeouts per execution.
CREATE INDEX activity_tasks_execution ON activity_tasks (execution_id) WHERE status IN ('SCHEDULED', 'STARTED');

CREATE TABLE execution_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    -- JSON message for the engine: the serde form of asl::engine::Signal (TaskStarted, TaskSucceeded, ...).
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The executor reads an execution's inbox in id order.
CREATE INDEX execution_inbox_execution ON execution_inbox (execution_id, id);
