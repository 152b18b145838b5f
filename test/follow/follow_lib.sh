# follow_lib.sh: what the live-follow end-to-end tests share. Sourced by follow_test.sh and
# follow_boundary_test.sh after they set TEST_NAME; sets up WORK, starts and stops a private
# mariadbd, a pageserver and `pagectl follow`, and waits for events (never for time).
# Provides: log, die, sql, start_mariadbd SIZE, stop_mariadbd, start_pageserver [CONFIG],
# start_follower ARGS..., server_lsn, status_field NAME, log_end, wait_server_at LSN,
# new_sysbench_db LOG_SIZE TEST TABLES ROWS, mariadb_lsn, wait_mariadb_wrote BYTES.
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
PAGESERVER=${PAGESERVER:-$REPO_ROOT/build/bin/pageserver}
PAGECTL=${PAGECTL:-$REPO_ROOT/build/bin/pagectl}
log() { printf '[%s %s] %s\n' "$TEST_NAME" "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

for tool in mariadbd mariadb-install-db mariadb-backup sysbench; do
  command -v "$tool" >/dev/null || { log "SKIP: $tool not installed"; exit 77; }
done
[[ $(id -u) == 0 ]] || { log "SKIP: must run as root (mariadbd --user=root)"; exit 77; }

MARIADBD_PID="" SERVER_PID="" FOLLOW_PID=""
# Every InnoDB file I/O through pread/pwrite into the page cache, where the follower reads it.
INNODB_OPTS=(--innodb-use-native-aio=0 --innodb-flush-method=fsync --innodb-log-file-buffering=ON
             --innodb-log-file-mmap=OFF --innodb-buffer-pool-size=128M --innodb-fast-shutdown=0)

cleanup() {  # each kill may find its process gone already; that must not stop the others
  [[ -z $FOLLOW_PID ]] || kill "$FOLLOW_PID" 2>/dev/null || true
  [[ -z $MARIADBD_PID ]] || kill -9 "$MARIADBD_PID" 2>/dev/null || true
  [[ -z $SERVER_PID ]] || kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}

new_work_dir() {  # new_work_dir [DIR]
  WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX")}
  rm -rf "$WORK" && mkdir -p "$WORK"
  DATA=$WORK/data SOCK=$WORK/mysqld.sock ERR=$WORK/mariadbd.err
  log "work dir $WORK"
}

sql() { mariadb --no-defaults --socket="$SOCK" -uroot --batch --skip-column-names "$@"; }
install_db() {  # install_db LOG_SIZE EXTRA_OPTS...
  local size=$1; shift
  mariadb-install-db --no-defaults --user=root --datadir="$DATA" --auth-root-authentication-method=normal \
    --skip-test-db --innodb-log-file-size="$size" "${INNODB_OPTS[@]}" "$@" >"$WORK/install.log" 2>&1 ||
    die "mariadb-install-db failed; see $WORK/install.log"
}
start_mariadbd() {  # start_mariadbd LOG_SIZE EXTRA_OPTS...
  local size=$1; shift
  mariadbd --no-defaults --user=root --datadir="$DATA" --socket="$SOCK" --skip-networking \
    --log-error="$ERR" --skip-log-bin --innodb-log-file-size="$size" "${INNODB_OPTS[@]}" "$@" &
  MARIADBD_PID=$!
  for _ in $(seq 1200); do
    sql -e "SELECT 1" >/dev/null 2>&1 && { log "mariadbd up (log size $size)"; return 0; }
    kill -0 "$MARIADBD_PID" 2>/dev/null || die "mariadbd exited; see $ERR"
    sleep 0.1
  done
  die "mariadbd did not start within 120 s"
}
stop_mariadbd() {
  sql -e "SHUTDOWN"
  wait "$MARIADBD_PID" || true
  MARIADBD_PID=""
  log "mariadbd shut down"
}
# sysbench_tps LOG: the transactions per second a sysbench run's output gives.
sysbench_tps() { sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.)$/\1/p' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_pageserver() {  # start_pageserver [CONFIG_FILE]
  GRPC=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port)
  launch_pageserver "$@"
}
# launch_pageserver [CONFIG_FILE]: on $GRPC and $HTTP, up to its first answer; PAGESERVER_FLAGS
# (words) are added to its command line.
launch_pageserver() {
  # shellcheck disable=SC2086
  "$PAGESERVER" --data-dir "$WORK/ps" --grpc-addr "$GRPC" --http-addr "$HTTP" ${1:+--config "$1"} ${PAGESERVER_FLAGS:-} \
    >>"$WORK/pageserver.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    curl -sf "http://$HTTP/api/v1/ping" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "the pageserver exited: $(tail -3 "$WORK/pageserver.log")"
    sleep 0.1
  done
  die "the pageserver did not answer within 60 s"
}
started_lines() { local n; n=$(grep -c "from LSN" "$1" 2>/dev/null) || true; echo "${n:-0}"; }
# start_follower OUT ERR ARGS...: pagectl follow in the background, returns once it follows.
start_follower() {
  local out=$1 err=$2; shift 2
  "$PAGECTL" follow --server "$GRPC" --datadir "$DATA" --socket "$SOCK" "$@" >>"$out" 2>>"$err" &
  FOLLOW_PID=$!
  FOLLOW_ERR=$err
  local seen
  seen=$(started_lines "$err")
  for _ in $(seq 3000); do
    (($(started_lines "$err") > seen)) && return 0
    kill -0 "$FOLLOW_PID" 2>/dev/null || die "the follower exited: $(tail -5 "$err" | tr '\r' '\n' | tail -5)"
    sleep 0.1
  done
  die "the follower did not start within 300 s"
}
# new_sysbench_db LOG_SIZE TEST TABLES ROWS: a new datadir with a running mariadbd and a
# prepared sysbench database; sets SB, the sysbench options for it.
new_sysbench_db() {
  SB=(--db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root --mysql-db=sbtest --tables="$3"
      --table-size="$4")
  install_db "$1"
  start_mariadbd "$1"
  sql -e "CREATE DATABASE sbtest"
  sysbench "$2" "${SB[@]}" prepare >"$WORK/sb-prepare.log"
}
mariadb_lsn() { sql -e "SHOW GLOBAL STATUS LIKE 'Innodb_lsn_current'" | cut -f2; }
wait_mariadb_wrote() {  # wait_mariadb_wrote BYTES: until MariaDB has generated BYTES more redo
  local target=$(($(mariadb_lsn) + $1))
  for _ in $(seq 6000); do
    (($(mariadb_lsn) >= target)) && return 0
    sleep 0.05
  done
  die "MariaDB did not write $1 bytes of redo within 300 s"
}
status_field() {
  curl -sf "http://$HTTP/api/v1/status" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"
}
server_lsn() { status_field last_record_lsn; }
log_end() { "$PAGECTL" logdump "$DATA/ib_logfile0" --json | sed -n 's/^  "end_lsn": \([0-9]*\),$/\1/p'; }
wait_server_at() {  # until the page server holds LSN $1
  for _ in $(seq 1200); do
    (($(server_lsn) >= $1)) && return 0
    kill -0 "$FOLLOW_PID" 2>/dev/null ||
      die "the follower exited: $(tail -c 2000 "$FOLLOW_ERR" | tr '\r' '\n' | tail -8)"
    sleep 0.1
  done
  die "the page server did not reach LSN $1 within 120 s (it is at $(server_lsn))"
}
