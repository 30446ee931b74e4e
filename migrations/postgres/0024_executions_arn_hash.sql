-- no-transaction
-- Lookups by executionArn through a hash index instead of the B-tree of the UNIQUE constraint (dropped by
-- 0025). ARNs end in a caller's name or a UUID, so every insert lands on a random leaf of the B-tree; once a
-- database holds about a million executions that index outgrows the buffer cache, and each insert reads a
-- page back and, after every checkpoint, writes a full-page image to the WAL. A hash index is a fraction of
-- the size (it stores a 4-byte hash, not the ARN) and serves the only lookup made by ARN, equality. The
-- ARN's uniqueness is kept by executions_machine_name (a standard ARN is its machine's ARN and its name) and by
-- the UUID in an Express ARN.
CREATE INDEX CONCURRENTLY IF NOT EXISTS executions_arn_hash ON executions USING hash (arn);
