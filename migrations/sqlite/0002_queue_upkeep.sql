-- Postgres storage settings for its queue tables (fillfactor, autovacuum); SQLite has no equivalent.
SELECT 1;
