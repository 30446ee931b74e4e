-- Published state machine versions (PublishStateMachineVersion, publish on Create/UpdateStateMachine):
-- an immutable number per machine pointing at one revision (a state_machine_versions row). Numbers are
-- never reused, so the machine keeps the last one it gave.
ALTER TABLE state_machines ADD COLUMN last_version_number INTEGER NOT NULL DEFAULT 0;

CREATE TABLE state_machine_published_versions (
    state_machine_id INTEGER NOT NULL REFERENCES state_machines (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    version_id INTEGER NOT NULL REFERENCES state_machine_versions (id) ON DELETE CASCADE,
    description TEXT,
    creation_date INTEGER NOT NULL,
    -- Primary key serves lookups by version ARN and ListStateMachineVersions (newest first).
    PRIMARY KEY (state_machine_id, number)
);
