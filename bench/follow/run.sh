#!/usr/bin/env bash
# bench/follow/run.sh: what following costs a live MariaDB, and how far the page server trails.
#
# One stock mariadbd (1 GiB log, default durability: every commit syncs the log), sysbench
# oltp_write_only with BENCH_THREADS threads for BENCH_SECONDS, three runs in this order:
#   1. alone (the baseline),
#   2. followed by `pagectl follow --socket` into a pageserver on the same machine,
#   3. alone again (so that a table grown by run 2 does not pass for the follower's cost).
# Prints transactions/s of each run, the ratio of the followed run to the mean of the two
# baselines, and the follower's lag over run 2: bytes (MariaDB's Innodb_lsn_current minus the
# server's LSN) and seconds (how long the oldest byte not yet acknowledged waited), median, p99
# and max, as the follower reports them when stopped. Needs root, mariadb-server,
# mariadb-backup, sysbench (scripts/setup.sh) and a build (build/bin/pagectl, pageserver).
# Environment: BENCH_SECONDS [30], BENCH_THREADS [2], BENCH_TRX_COMMIT [1].
set -euo pipefail
TEST_NAME=bench_follow
# shellcheck source=test/follow/follow_lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../test/follow" && pwd)/follow_lib.sh"
SECONDS_OF_LOAD=${BENCH_SECONDS:-30}
THREADS=${BENCH_THREADS:-2}
INNODB_OPTS+=(--innodb-flush-log-at-trx-commit="${BENCH_TRX_COMMIT:-1}")
new_work_dir "${1:-}"
trap cleanup EXIT
new_sysbench_db 1G oltp_write_only 4 20000
tps() {  # tps NAME: one sysbench run; prints its transactions/s
  sysbench oltp_write_only "${SB[@]}" --threads="$THREADS" --time="$SECONDS_OF_LOAD" run >"$WORK/sb-$1.log" 2>&1
  sysbench_tps "$WORK/sb-$1.log"
}
log "baseline 1: sysbench alone"
alone1=$(tps alone1)
start_pageserver
start_follower "$WORK/follow.out" "$WORK/follow.err" --bootstrap --backup-dir "$WORK/bootstrap"
log "followed: sysbench with pagectl follow streaming into a pageserver"
followed=$(tps followed)
wait_server_at "$(sql -e "SHOW GLOBAL STATUS LIKE 'Innodb_lsn_flushed'" | cut -f2)"
kill -TERM "$FOLLOW_PID"; wait "$FOLLOW_PID" 2>/dev/null || true; FOLLOW_PID=""
summary=$(tr '\r' '\n' <"$WORK/follow.err" | grep "max lag" | tail -1)
log "baseline 2: sysbench alone again"
alone2=$(tps alone2)
stop_mariadbd

echo "follow benchmark: sysbench oltp_write_only, $THREADS threads, ${SECONDS_OF_LOAD}s per run, innodb_flush_log_at_trx_commit=${BENCH_TRX_COMMIT:-1}"
printf '%-34s %12s\n' "run" "trx/s"
printf '%-34s %12s\n' "mariadbd alone (before)" "$alone1"
printf '%-34s %12s\n' "mariadbd followed by pagectl" "$followed"
printf '%-34s %12s\n' "mariadbd alone (after)" "$alone2"
python3 -c "import sys; a,b,f=map(float,sys.argv[1:]); print(f'followed / mean(alone) = {f/((a+b)/2):.3f}')" \
  "$alone1" "$alone2" "$followed"
echo "follower: ${summary#pagectl follow: }"
rm -rf "$WORK"
