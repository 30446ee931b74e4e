-- When the task's last heartbeat was accepted: with the HeartbeatSeconds of its scheduled event it says
-- when its reports time out (SendTask* after that gets TaskTimedOut, even before the engine records it).
ALTER TABLE activity_tasks ADD COLUMN heartbeat_at TIMESTAMPTZ;
-- Tasks started before this migration may have heartbeated without it being recorded: count their
-- heartbeat window from now, so a worker that kept its task alive is not refused at its next report.
UPDATE activity_tasks SET heartbeat_at = now() WHERE status = 'STARTED';
