#!/usr/bin/env bash
# The scale-out scenario: the pass-chain scenario against 1, 2 and 3 `--role executor` processes sharing one
# Postgres database (API in its own `--role api` process), with the ratio to one process and two checks after
# each run: how many executor processes advanced executions, and how many histories have a duplicated or
# missing event (must be 0).
#
#   cargo build --release
#   bench/scale-out.sh postgres://postgres@127.0.0.1:5432/postgres   # admin URL: creates/drops sfn_scale
#
# Traffic stays on 127.0.0.1. Each run lasts DURATION seconds (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN_URL=${1:-postgres://postgres@127.0.0.1:5432/postgres}
DURATION=${DURATION:-8}
SFN=./target/release/sfn
BASE=${ADMIN_URL%/*}
URL="$BASE/sfn_scale"
pids=()
stop() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; pids=(); }
trap stop EXIT
first=""
for n in 1 2 3; do
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS sfn_scale WITH (FORCE)" -c "CREATE DATABASE sfn_scale" >/dev/null
  "$SFN" migrate --database-url "$URL"
  RUST_LOG=warn "$SFN" serve --listen 127.0.0.1:50071 --database-url "$URL" --role api &
  pids+=($!)
  for i in $(seq 1 "$n"); do
    RUST_LOG=warn "$SFN" serve --listen "127.0.0.1:5008$i" --database-url "$URL" --role executor --executors 16 &
    pids+=($!)
  done
  sleep 3
  rate=$("$SFN" bench --target grpc://127.0.0.1:50071 --scenario pass-chain --duration "$DURATION" --json-only \
         | grep '"pass-chain"' | sed -E 's/.*"executions_per_s":([0-9.]+).*/\1/')
  owners=$(psql "$URL" -Atc "SELECT count(DISTINCT last_owner) FROM executions WHERE status = 'SUCCEEDED'")
  broken=$(psql "$URL" -Atc "SELECT count(*) FROM (SELECT execution_id, count(*) AS c, max(id) AS m \
                              FROM history_events GROUP BY execution_id) h WHERE c <> m")
  first=${first:-$rate}
  ratio=$(awk -v a="$rate" -v b="$first" 'BEGIN { printf "%.2f", a / b }')
  echo "executors=$n executions_per_s=$rate ratio_to_1=$ratio processes_that_advanced=$owners broken_histories=$broken"
  stop
  sleep 2
done
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS sfn_scale WITH (FORCE)" >/dev/null
