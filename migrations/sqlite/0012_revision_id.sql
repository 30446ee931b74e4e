-- The revisionId of a state machine revision (AWS, 2023): NULL for the revision CreateStateMachine made,
-- a new UUID for each UpdateStateMachine that changed the definition, role, logging or tracing.
ALTER TABLE state_machine_versions ADD COLUMN revision_id TEXT;
