-- How many steps of an execution failed in a row (a release after a failed step adds one, a committed step
-- resets it): the executor backs off by it and fails the execution with States.Runtime once it reaches its
-- bound, so a step that can never be written is not retried forever.
ALTER TABLE executions ADD COLUMN step_failures INTEGER NOT NULL DEFAULT 0;
