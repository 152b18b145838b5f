#!/usr/bin/env bash
# follow_boundary_test.sh [WORK_DIR]
#
# Issue 8's race, end to end: a stock mariadbd with default durability (every commit flushes the
# log, so MariaDB rewrites the last block of its log, padded with stale mini-transactions, all
# the time) under sysbench oltp_write_only (2 threads) beside a mixed DDL workload (bulk
# INSERT ... SELECT, ALTER, OPTIMIZE, a FULLTEXT table), followed live by `pagectl follow
# --bootstrap --print-acks`. The log (1 GiB) does not wrap during the run (checked), so MariaDB's final
# log still holds every LSN the server acknowledged. After a slow shutdown:
#   - an independent walk of the final log (test/integration/redo_scan.py, which shares no code
#     with the C++) from the base LSN: every LSN the server acknowledged is a mini-transaction
#     boundary of it, and the server's stored WAL holds exactly the log's bytes;
#   - every page of every InnoDB file of the datadir equals the server's at the final LSN.
# Environment: PAGESERVER, PAGECTL; FOLLOW_SECONDS [20] of workload; FOLLOW_SOAK [1] runs, each
# on a fresh datadir (the soak of issue 8 is FOLLOW_SOAK=20).
# Exit status: 0 passed, 1 failed, 77 skipped (no MariaDB/sysbench).
set -euo pipefail

TEST_NAME=follow_boundary_test
# shellcheck source=test/follow/follow_lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/follow_lib.sh"
SECONDS_OF_LOAD=${FOLLOW_SECONDS:-20}
RUNS=${FOLLOW_SOAK:-1}
SCAN=$REPO_ROOT/test/integration/redo_scan.py
trap cleanup EXIT

one_run() {  # one_run N
  new_work_dir "${BASE_WORK:+$BASE_WORK/run$1}"
  new_sysbench_db 1G oltp_write_only 2 10000
  # The server keeps every byte of WAL (no layer flush), for the byte comparison below.
  printf 'in_memory_layer_bytes=4294967296\nwal_segment_bytes=67108864\n' >"$WORK/pageserver.conf"
  start_pageserver "$WORK/pageserver.conf"
  start_follower "$WORK/follow.out" "$WORK/follow.err" --bootstrap --backup-dir "$WORK/bootstrap" \
    --print-acks
  local base
  base=$(status_field base_lsn)
  log "run $1: bootstrapped at LSN $base"

  sysbench oltp_write_only "${SB[@]}" --threads=2 --time="$SECONDS_OF_LOAD" run >"$WORK/sb-run.log" 2>&1 &
  local sb=$! i=0
  sql sbtest -e "CREATE TABLE ft (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT, FULLTEXT (body)) ENGINE=InnoDB" ||
    die "CREATE TABLE ft failed"
  while kill -0 "$sb" 2>/dev/null; do
    i=$((i + 1))
    sql sbtest -e "CREATE TABLE bulk$i ENGINE=InnoDB SELECT * FROM sbtest1 LIMIT 3000;
                   INSERT INTO bulk$i (k, c, pad) SELECT k, c, pad FROM sbtest2 LIMIT 3000;
                   ALTER TABLE bulk$i ADD INDEX (c);
                   OPTIMIZE TABLE bulk$i;
                   INSERT INTO ft (body) SELECT CONCAT(c, ' ', pad) FROM sbtest1 LIMIT 500;
                   DELETE FROM ft WHERE id % 3 = 0;
                   DROP TABLE bulk$i;" >/dev/null || die "DDL failed"
  done
  wait "$sb" || die "sysbench failed; see $WORK/sb-run.log"
  stop_mariadbd  # slow shutdown: the datadir is the final state
  local final
  final=$(log_end)
  wait_server_at "$final"
  kill "$FOLLOW_PID"; wait "$FOLLOW_PID" 2>/dev/null || true; FOLLOW_PID=""
  log "run $1: follower: $(tr '\r' '\n' <"$WORK/follow.err" | grep "max lag" | tail -1)"

  local failed=0 capacity
  capacity=$(python3 "$SCAN" info "$DATA/ib_logfile0" | sed -n 's/^CAPACITY=//p')
  ((final - base < capacity)) ||
    die "run $1: MariaDB wrote $((final - base)) bytes of redo, more than its log holds ($capacity): shorten FOLLOW_SECONDS"
  server_lsn >>"$WORK/follow.out"
  sed -n 's/^acked \([0-9]*\)$/\1/p' "$WORK/follow.out" >"$WORK/acks"
  [[ -s $WORK/acks ]] || die "run $1: the follower printed no acknowledged LSN"
  if python3 "$SCAN" follow-check "$DATA/ib_logfile0" "$base" "$WORK/acks" "$WORK/ps/timelines/main/wal" \
       >"$WORK/check.out"; then
    log "run $1: $(tr '\n' ' ' <"$WORK/check.out")"
  else
    log "run $1: acknowledged LSNs or stored WAL disagree with MariaDB's log: $(tr '\n' ' ' <"$WORK/check.out")"
    failed=1
  fi
  if "$PAGECTL" verify --server "$GRPC" --datadir "$DATA" --lsn "$final" >"$WORK/verify.out" 2>&1; then
    log "run $1: final at LSN $final: $(tail -1 "$WORK/verify.out")"
  else
    log "run $1: pages differ at LSN $final: $(tail -5 "$WORK/verify.out")"; failed=1
  fi
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  ((failed == 0)) || die "run $1 failed; work dir $WORK"
  log "run $1: PASS"
  rm -rf "$WORK"
}

BASE_WORK=${1:-}
for run in $(seq "$RUNS"); do one_run "$run"; done
log "PASS ($RUNS runs)"
