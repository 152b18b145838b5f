# compute_lib.sh: what the compute end-to-end tests share. Sourced after TEST_NAME is set; builds
# on test/follow/follow_lib.sh (log, die, sql, start_pageserver, free_port, install_db,
# start_mariadbd) and adds a compute: start_compute DIR ARGS..., kill_compute, stop_compute,
# restart_pageserver (same ports, same data), and waits for events (never for time).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../follow/follow_lib.sh"

COMPUTE_PID="" COMPUTE_MARIADBD_PID="" COMPUTE_LOG=""
OTHER_COMPUTE_PIDS=()  # computes a test runs next to COMPUTE_PID, killed at exit too

# For benchmarks, after TABLES and ROWS are set: INNODB_OPTS becomes the compute's own settings
# (src/compute/compute.cc), for a stock server to run with too, and SB_OPTS sysbench's options
# for TABLES x ROWS.
use_compute_settings() {
  INNODB_OPTS=(--innodb-use-native-aio=0 --innodb-flush-method=fsync --innodb-log-file-buffering=ON
               --innodb-log-file-mmap=OFF --innodb-doublewrite=0 --innodb-buffer-pool-load-at-startup=0
               --innodb-buffer-pool-dump-at-shutdown=0)
  SB_OPTS=(--db-driver=mysql --mysql-user=root --mysql-db=sbtest --tables="$TABLES" --table-size="$ROWS")
}
# start_compute_bench [DIR]: a benchmark's work directory (DIR, or a new temporary one), cleaned
# up at exit, and the compute's settings (use_compute_settings).
start_compute_bench() {
  new_work_dir "${1:-}"
  trap cleanup_compute EXIT
  use_compute_settings
}

cleanup_compute() {
  local pid
  for pid in $COMPUTE_PID "${OTHER_COMPUTE_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [[ -z $COMPUTE_MARIADBD_PID ]] || kill -9 "$COMPUTE_MARIADBD_PID" 2>/dev/null || true
  local m
  for m in $(awk -v w="$WORK" '$2 ~ "^"w {print $2}' /proc/mounts 2>/dev/null); do
    umount -l "$m" 2>/dev/null || true
  done
  cleanup
}

# start_compute DIR ARGS...: a compute on the fresh workdir DIR (its output in DIR.log), up to its
# "ready" line; sets COMPUTE_PID, COMPUTE_MARIADBD_PID, COMPUTE_LOG.
start_compute() {
  local dir=$1; shift
  COMPUTE_LOG=$dir.log
  "$PAGECTL" compute --server "$GRPC" --workdir "$dir" --socket "$SOCK" "$@" >"$COMPUTE_LOG" 2>&1 &
  COMPUTE_PID=$!
  # Event: the "ready" line; tail ends when the compute exits first.
  timeout 300 grep -q -m1 "^ready" < <(tail -n +1 --pid="$COMPUTE_PID" -F "$COMPUTE_LOG" 2>/dev/null) || true
  grep -q "^ready" "$COMPUTE_LOG" ||
    die "the compute was not ready (exited, or 300 s passed): $(tail -20 "$COMPUTE_LOG")"
  COMPUTE_MARIADBD_PID=$(sed -n 's/^ready: mariadbd pid \([0-9]*\) .*/\1/p' "$COMPUTE_LOG")
}

wait_gone() {  # wait_gone PID WHAT: until the process has exited (tail --pid follows its exit)
  timeout 60 tail --pid="$1" -f /dev/null || die "$2 (pid $1) did not exit within 60 s"
}

# kill -9 of the compute; its mariadbd dies with it (PR_SET_PDEATHSIG), the mount is detached.
kill_compute() {
  kill -9 "$COMPUTE_PID" 2>/dev/null || true
  wait "$COMPUTE_PID" 2>/dev/null || true
  wait_gone "$COMPUTE_MARIADBD_PID" "the killed compute's mariadbd"
  umount -l "${COMPUTE_LOG%.log}/data" 2>/dev/null || true
  COMPUTE_PID="" COMPUTE_MARIADBD_PID=""
}

# SIGTERM: mariadbd shuts down cleanly, the compute unmounts and exits 0.
stop_compute() {
  kill -TERM "$COMPUTE_PID"
  local rc=0
  wait "$COMPUTE_PID" || rc=$?
  ((rc == 0)) || die "the compute's clean stop exited $rc: $(tail -20 "$COMPUTE_LOG")"
  COMPUTE_PID="" COMPUTE_MARIADBD_PID=""
}

# compute_refused WHAT EXPECTED ARGS...: pagectl compute ARGS (on $GRPC) exits 1 with an error
# that says EXPECTED; logs it.
compute_refused() {
  local what=$1 expected=$2 rc=0; shift 2
  "$PAGECTL" compute --server "$GRPC" --workdir "$WORK/refused" --socket "$WORK/refused.sock" \
    --server-wait-seconds 5 "$@" >"$WORK/refused.log" 2>&1 || rc=$?
  ((rc == 1)) || die "$what: the compute exited $rc: $(tail -5 "$WORK/refused.log")"
  grep -q -- "$expected" "$WORK/refused.log" ||
    die "$what: the error does not say \"$expected\": $(tail -5 "$WORK/refused.log")"
  log "   $what: $(grep -m1 -- "$expected" "$WORK/refused.log" | cut -c1-200)"
}

restart_pageserver() {  # kill -9 of the page server, then the same one again on its data
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  launch_pageserver
}

lines() { local n; n=$(wc -l <"$1" 2>/dev/null) || true; echo "${n:-0}"; }
