-- The Postgres durable-commit ceiling: one single-row INSERT per transaction (autocommit), i.e. one WAL flush
-- per commit with the default synchronous_commit = on. Compare sfn's figures to this.
-- Run on a SCRATCH database after bench/pgbench-setup.sql:
--   pgbench -n -c 8 -j 2 -T 10 -f bench/pgbench-commit.sql "$CEILING_DB"
-- The payload is about the size of a history event's details.
INSERT INTO bench_commit (payload)
VALUES ('{"name":"Step1","input":"{\"n\":1}","inputDetails":{"truncated":false},"executionArn":"arn:aws:states:us-east-1:123456789012:execution:bench:x"}');
