-- When the task's last heartbeat was accepted: with the HeartbeatSeconds of its scheduled event it says
-- when its reports time out (SendTask* after that gets TaskTimedOut, even before the engine records it).
ALTER TABLE activity_tasks ADD COLUMN heartbeat_at INTEGER;
