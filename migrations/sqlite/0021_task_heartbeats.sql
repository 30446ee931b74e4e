-- When the task's last heartbeat was accepted: with the HeartbeatSeconds of its scheduled event it says
-- when its reports time out (SendTask* after that gets TaskTimedOut, even before the engine records it).
ALTER TABLE activity_tasks ADD COLUMN heartbeat_at INTEGER;
-- Tasks started before this migration may have heartbeated without it being recorded: count their
-- heartbeat window from now (microseconds since the epoch, as every time here), so a worker that kept its
-- task alive is not refused at its next report.
UPDATE activity_tasks SET heartbeat_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
WHERE status = 'STARTED';
