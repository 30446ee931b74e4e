-- RedriveExecution answers a repeat of any of the last 10 clientTokens that redrove the execution (each for
-- 15 minutes after its redrive), not only the last one: JSON [{"token", "date"}], oldest first. Rows redriven
-- before this keep their one token in redrive_token (read as a list of one).
ALTER TABLE executions ADD COLUMN redrive_tokens TEXT;
