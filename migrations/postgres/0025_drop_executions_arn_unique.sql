-- no-transaction
-- Replaced by executions_arn_hash (0024). Only once that index is valid: a build of it that was cut short
-- leaves an invalid index (dropped and rebuilt at the next start, see CONCURRENT_INDEXES), and dropping the
-- constraint then would leave lookups by ARN scanning the whole table.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE c.relname = 'executions_arn_hash' AND i.indisvalid
                     AND pg_table_is_visible(c.oid)) THEN
        RAISE EXCEPTION 'executions_arn_hash is missing or invalid; restart to rebuild it';
    END IF;
    SET LOCAL lock_timeout = '10s';
    ALTER TABLE executions DROP CONSTRAINT IF EXISTS executions_arn_key;
END
$$;
