-- The Postgres ceiling when 10 rows share a commit (one multi-row INSERT per transaction), like a batch of
-- history events written by one executor step. rows/s = tps x 10.
-- Run on a SCRATCH database after bench/pgbench-setup.sql:
--   pgbench -n -c 8 -j 2 -T 10 -f bench/pgbench-commit-10rows.sql "$CEILING_DB"
INSERT INTO bench_commit (payload)
SELECT '{"name":"Step' || i || '","input":"{\"n\":1}","inputDetails":{"truncated":false}}'
FROM generate_series(1, 10) AS i;
