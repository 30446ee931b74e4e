-- Executions started through a version or an alias ARN (AWS, 2023) record both: the version ARN the
-- execution ran (the one the alias routed to) and the alias ARN. NULL for an unqualified start.
-- ListExecutions of a version or alias ARN filters on them within the machine's executions.
ALTER TABLE executions ADD COLUMN state_machine_version_arn TEXT;
ALTER TABLE executions ADD COLUMN state_machine_alias_arn TEXT;
