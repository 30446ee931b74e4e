-- Table for the Postgres commit-ceiling scripts (pgbench-commit.sql, pgbench-commit-10rows.sql).
-- Run once on a SCRATCH database: psql "$CEILING_DB" -f bench/pgbench-setup.sql
-- (`sfn bench --pgbench URL` runs it for you.)
CREATE TABLE IF NOT EXISTS bench_commit (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload TEXT NOT NULL
);
