#!/usr/bin/env bash
# follow_test.sh [WORK_DIR]
#
# End to end: a real, stock mariadbd under sysbench oltp_read_write plus DDL, followed live by
# `pagectl follow --bootstrap` (mariadb-backup --backup + --prepare, import, then tail
# ib_logfile0) into a real pageserver. During the run: two mariadb-backup snapshots, a mariadbd
# restart, a restart that resizes the log (a new first LSN) and a restart of the follower itself.
# The log is small so it wraps.
# Afterwards:
#   - every page at each snapshot's LSN equals the prepared snapshot's pages;
#   - after a slow shutdown, every page at the final LSN equals the datadir's.
# Prints the follower's lag lines (bytes, seconds) as it goes.
# Environment: PAGESERVER, PAGECTL; FOLLOW_SECONDS [20] sysbench time per phase.
# Exit status: 0 passed, 1 failed, 77 skipped (no MariaDB/sysbench).
set -euo pipefail

TEST_NAME=follow_test
# shellcheck source=test/follow/follow_lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/follow_lib.sh"
SECONDS_PER_PHASE=${FOLLOW_SECONDS:-20}
INNODB_OPTS+=(--innodb-flush-log-at-trx-commit=2)
new_work_dir "${1:-}"
trap cleanup EXIT
new_sysbench_db 32M oltp_read_write 4 20000
start_pageserver

# One command: backup + prepare + import + follow.
start_follower "$WORK/follow.out" "$WORK/follow.err" --bootstrap --backup-dir "$WORK/bootstrap"
log "bootstrapped: $(grep imported "$WORK/follow.out" || true)"

workload() {  # workload PHASE: sysbench plus DDL, for $SECONDS_PER_PHASE seconds
  local phase=$1
  sysbench oltp_read_write "${SB[@]}" --threads=2 --time="$SECONDS_PER_PHASE" run >>"$WORK/sb-run.log" 2>&1 &
  local sb=$!
  local i=0
  while kill -0 "$sb" 2>/dev/null; do
    i=$((i + 1))
    local t=sbtest.ddl${phase}_$i
    sql sbtest -e "CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;
            INSERT INTO $t SELECT seq, REPEAT('x', seq % 100) FROM seq_1_to_2000;
            ALTER TABLE $t ADD INDEX (v);
            RENAME TABLE $t TO ${t}_r;" || die "DDL failed"
    if ((i % 2 == 0)); then sql -e "DROP TABLE sbtest.ddl${phase}_$((i - 1))_r" || die "DROP failed"; fi
    sleep 2
  done
  wait "$sb" || true
}

snapshot() {  # snapshot N: a mariadb-backup of the running server, prepared
  local dir=$WORK/snap$1
  mariadb-backup --backup --user=root --socket="$SOCK" --target-dir="$dir" >"$dir.log" 2>&1 ||
    die "mariadb-backup --backup failed; see $dir.log"
  mariadb-backup --prepare --target-dir="$dir" >>"$dir.log" 2>&1 || die "prepare failed; see $dir.log"
  # The LSN its pages are at: the end of the prepared log (as pagectl import takes it).
  "$PAGECTL" logdump "$dir/ib_logfile0" --json | sed -n 's/^  "end_lsn": \([0-9]*\),$/\1/p' >"$dir.lsn"
  log "snapshot $1 at LSN $(cat "$dir.lsn")"
}

workload 1 & W=$!
wait_mariadb_wrote $((4 << 20)); snapshot 1  # a snapshot in the middle of the load
wait "$W"
log "restart mariadbd (same log size)"
stop_mariadbd
wait_server_at "$(log_end)"
start_mariadbd 32M
workload 2 & W=$!
wait_mariadb_wrote $((4 << 20)); snapshot 2
log "restart the follower itself under load (it resumes from the server's LSN)"
kill -TERM "$FOLLOW_PID"; wait "$FOLLOW_PID" 2>/dev/null || true
start_follower "$WORK/follow.out" "$WORK/follow.err"
wait "$W"
log "restart mariadbd with a larger log (rebuilt with a new first LSN)"
stop_mariadbd
wait_server_at "$(log_end)"
start_mariadbd 48M
workload 3
stop_mariadbd  # slow shutdown: the datadir is the final state
FINAL=$(log_end)
wait_server_at "$FINAL"
kill "$FOLLOW_PID"; wait "$FOLLOW_PID" 2>/dev/null || true; FOLLOW_PID=""
log "follower: $(grep -a "lag" "$WORK/follow.err" | tr '\r' '\n' | grep "max lag" | tail -1)"

failed=0
for n in 1 2; do
  if "$PAGECTL" verify --server "$GRPC" --datadir "$WORK/snap$n" --lsn "$(cat "$WORK/snap$n.lsn")" >"$WORK/verify$n.out" 2>&1; then
    log "snapshot $n: $(tail -1 "$WORK/verify$n.out")"
  else
    log "snapshot $n differs: $(tail -5 "$WORK/verify$n.out")"; failed=1
  fi
done
if "$PAGECTL" verify --server "$GRPC" --datadir "$DATA" --lsn "$FINAL" >"$WORK/verify_final.out" 2>&1; then
  log "final at LSN $FINAL: $(tail -1 "$WORK/verify_final.out")"
else
  log "final differs: $(tail -5 "$WORK/verify_final.out")"; failed=1
fi
curl -sf "http://$HTTP/api/v1/status" >&2; echo >&2

# A follower that falls behind MariaDB's checkpoint by more than the log holds must stop with a
# clear error, and the server must keep exactly what it had.
log "overwrite: a stalled follower while mariadbd writes more than its 48M log"
start_mariadbd 48M
start_follower "$WORK/follow2.out" "$WORK/follow2.err"
kill -STOP "$FOLLOW_PID"
held=$(server_lsn)
target=$((held + 80 * 1024 * 1024))
sysbench oltp_read_write "${SB[@]}" --threads=2 --time=300 run >>"$WORK/sb-run.log" 2>&1 &
SB_PID=$!
checkpoint() { "$PAGECTL" logdump "$DATA/ib_logfile0" --json | sed -n 's/^  "checkpoint_lsn": \([0-9]*\),$/\1/p'; }
for _ in $(seq 3000); do
  (($(checkpoint) > target)) && break
  kill -0 "$SB_PID" 2>/dev/null || die "sysbench ended before MariaDB's checkpoint passed LSN $target"
  sleep 0.2
done
(($(checkpoint) > target)) || die "MariaDB's checkpoint did not pass LSN $target within 600 s"
kill "$SB_PID"; wait "$SB_PID" 2>/dev/null || true
kill -CONT "$FOLLOW_PID"
rc=0; wait "$FOLLOW_PID" || rc=$?; FOLLOW_PID=""
if ((rc == 0)) || ! grep -q "MariaDB overwrote redo the follower had not read" "$WORK/follow2.err"; then
  log "the stalled follower did not stop with the overwrite error (exit $rc): $(tail -2 "$WORK/follow2.err")"
  failed=1
else
  log "stalled follower: $(grep -a "overwrote" "$WORK/follow2.err" | cut -c1-200)..."
fi
if [[ $(server_lsn) != "$held" ]]; then
  log "the server moved from LSN $held to $(server_lsn) although the follower was stalled"
  failed=1
fi
stop_mariadbd
((failed == 0)) || die "see above; work dir $WORK"
log "PASS"
rm -rf "$WORK"
