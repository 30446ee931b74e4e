-- RedriveExecution (AWS, 2023-11): how many times an execution was redriven, when it last was, and the
-- clientToken of that redrive (a repeat of the same token within 15 minutes answers without redriving).
ALTER TABLE executions ADD COLUMN redrive_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN redrive_date TIMESTAMPTZ;
ALTER TABLE executions ADD COLUMN redrive_token TEXT;
-- Executions that closed before this migration were stored without the states a redrive restarts from: AWS
-- calls them "started before the launch of RedriveExecution", and they cannot be redriven.
ALTER TABLE executions ADD COLUMN closed_before_redrive BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE executions SET closed_before_redrive = TRUE WHERE status <> 'RUNNING';
