#!/usr/bin/env bash
# Issue 9: bad situations get a clear error and lose nothing.
#   1. The page server is down when a compute starts: it waits, then fails naming the server.
#   2. A second compute on the same database: it takes the writer lease; the first one's next
#      log flush is refused by the server (fenced), its mariadbd gets EIO on ib_logfile0 and
#      stops, the compute exits naming the new holder. Every commit that returned through the
#      first compute is there through the second, which goes on writing.
# (A page server restarted under load is compute_crash_test.sh's even cycles.)
set -euo pipefail
TEST_NAME=compute_faults
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/compute_lib.sh"
new_work_dir
trap cleanup_compute EXIT

log "1. no page server at the address"
nowhere=127.0.0.1:$(free_port)
rc=0
"$PAGECTL" compute --server "$nowhere" --workdir "$WORK/nowhere" --socket "$WORK/nowhere.sock" \
  --server-wait-seconds 2 >"$WORK/nowhere.log" 2>&1 || rc=$?
((rc == 1)) || die "a compute without a page server exited $rc: $(cat "$WORK/nowhere.log")"
grep -q "the page server at $nowhere did not answer for 2s" "$WORK/nowhere.log" ||
  die "the error does not name the page server: $(cat "$WORK/nowhere.log")"
log "   refused: $(grep "did not answer" "$WORK/nowhere.log" | cut -c1-160)"

log "2. a second compute on the same database"
start_pageserver
"$PAGECTL" init --server "$GRPC" >"$WORK/init.log" 2>&1 || die "pagectl init: $(tail -5 "$WORK/init.log")"
SOCK=$WORK/first.sock
start_compute "$WORK/first"
FIRST_PID=$COMPUTE_PID FIRST_MARIADBD=$COMPUTE_MARIADBD_PID FIRST_LOG=$COMPUTE_LOG
sql -e "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY) ENGINE=InnoDB;
        INSERT INTO app.t SELECT seq FROM app.seq_1_to_100"
SOCK=$WORK/second.sock
start_compute "$WORK/second"
SOCK=$WORK/first.sock
if sql -e "INSERT INTO app.t VALUES (1000)" 2>"$WORK/first-insert.err"; then
  die "the fenced compute committed a transaction"
fi
rc=0
wait "$FIRST_PID" || rc=$?
((rc != 0)) || die "the fenced compute exited 0"
wait_gone "$FIRST_MARIADBD" "the fenced compute's mariadbd"
umount -l "$WORK/first/data" 2>/dev/null || true
grep -q "writer generation 1 is fenced" "$FIRST_LOG" || die "no fencing error: $(tail -20 "$FIRST_LOG")"
grep -q "held by \"compute pid $COMPUTE_PID" "$FIRST_LOG" || die "the error does not name the holder: $(grep fenced "$FIRST_LOG")"
log "   the first compute: $(grep -m1 "fenced" "$FIRST_LOG" | cut -c1-200)"
SOCK=$WORK/second.sock
count=$(sql -e "SELECT COUNT(*) FROM app.t")
((count == 100)) || die "the second compute sees $count rows, not the 100 committed through the first"
sql -e "INSERT INTO app.t VALUES (1000)"
stop_compute
log "PASS: no server: a clear error; a second compute fences the first, nothing committed is lost"
