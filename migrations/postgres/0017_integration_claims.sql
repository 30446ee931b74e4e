-- The integration runner's claim on a task row. claim_version fences a call's reports: a process that
-- re-drives a call takes the next version, so the first call's late report is refused. claim_expires_at is
-- renewed while the call runs and cleared once the call is done (the task then waits for its token or its
-- child); a claim left to expire means its process died or lost the report, and another one re-drives it.
ALTER TABLE activity_tasks ADD COLUMN claim_version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN claim_expires_at TIMESTAMPTZ;
-- Calls in flight when this migration runs were claimed without an expiry (a process of the previous
-- version re-drove a request-response call 75 s after it started): give them that expiry, so a call whose
-- process died is made again. Callbacks are left alone, as before (their call may have reached the service).
UPDATE activity_tasks SET claim_expires_at = COALESCE(started_at, 'epoch'::TIMESTAMPTZ) + INTERVAL '75 seconds'
WHERE status = 'STARTED' AND activity_arn LIKE 'arn:aws:states:::%'
  AND activity_arn NOT LIKE '%.waitForTaskToken';
