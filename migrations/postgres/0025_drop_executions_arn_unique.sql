-- no-transaction
-- Replaced by executions_arn_hash (0024).
ALTER TABLE executions DROP CONSTRAINT IF EXISTS executions_arn_key;
