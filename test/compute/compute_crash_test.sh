#!/usr/bin/env bash
# Issue 9: a stateless compute survives kill -9 of itself and of the page server.
#
# A page server and `pagectl init`; then COMPUTE_CYCLES cycles (default 10), each on a fresh,
# empty workdir: a compute with a buffer pool smaller than the data and --verify-writes (every
# page mariadbd writes is compared with the server's page at its FIL_PAGE_LSN), sysbench
# oltp_read_write, a DDL loop (ddl_iteration.sh) and a ledger client that records each INSERT
# whose commit returned. At a random number of recorded commits, odd cycles kill -9 the compute;
# even cycles kill -9 the page server and start it again under the load (the compute must stall,
# then resume: more commits return), then kill -9 the compute.
# Afterwards, on a last compute: every recorded commit is present, CHECK TABLE ... EXTENDED passes
# on every table, no page write differed from the server, and CHECKSUM TABLE of every table the
# finished DDL iterations made equals that of a stock local mariadbd that ran the same iterations.
# COMPUTE_SEED replays the kill points.
set -euo pipefail
TEST_NAME=compute_crash
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/compute_lib.sh"
CYCLES=${COMPUTE_CYCLES:-10}
SEED=${COMPUTE_SEED:-$RANDOM}
RANDOM=$SEED
log "seed $SEED (COMPUTE_SEED=$SEED replays the kill points), $CYCLES cycles"

new_work_dir
trap cleanup_compute EXIT
COMPUTE_OPTS=(--verify-writes -- --innodb-buffer-pool-size=6M)
start_pageserver
"$PAGECTL" init --server "$GRPC" >"$WORK/init.log" 2>&1 || die "pagectl init: $(tail -5 "$WORK/init.log")"
SOCK=$WORK/compute.sock

# The database: sysbench tables larger than the buffer pool, the ledger, the DDL loop's schema.
start_compute "$WORK/c0" "${COMPUTE_OPTS[@]}"
sql -e "CREATE DATABASE sbtest; CREATE DATABASE app;
        CREATE TABLE app.ledger (id BIGINT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6)) ENGINE=InnoDB"
sql <"$HERE/ddl_setup.sql"
SB=(--db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root --mysql-db=sbtest --tables=2
    --table-size=25000)
sysbench oltp_read_write "${SB[@]}" prepare >"$WORK/sb-prepare.log" 2>&1 || die "sysbench prepare failed"
stop_compute
log "database ready: sysbench tables, ledger, DDL schema"

COMMITTED=$WORK/committed DDL_DONE=$WORK/ddl_done
touch "$COMMITTED" "$DDL_DONE"
NEXT_DDL=1

ledger_loop() {  # ledger_loop FIRST_ID: one autocommit INSERT at a time; records each that returned
  local id=$1
  while sql -e "INSERT INTO app.ledger (id) VALUES ($id)" 2>/dev/null; do
    echo "$id" >>"$COMMITTED"
    id=$((id + 1))
  done
}
ddl_loop() {  # ddl_loop FIRST: iterations FIRST, FIRST+1, ...; records each that finished
  local i=$1
  while "$HERE/ddl_iteration.sh" "$i" | sql >>"$WORK/ddl.log" 2>&1; do
    echo "$i" >>"$DDL_DONE"
    i=$((i + 1))
  done
}
wait_commits() {  # wait_commits N WHAT: until N commits are recorded (following the file's lines)
  timeout 120 head -n "$1" < <(tail -n +1 --pid="$COMPUTE_PID" -F "$COMMITTED" 2>/dev/null) >/dev/null || true
  (($(lines "$COMMITTED") >= $1)) ||
    die "no $1 recorded commits ($2): the compute exited or 120 s passed: $(tail -5 "$COMPUTE_LOG")"
}

for cycle in $(seq 1 "$CYCLES"); do
  start_compute "$WORK/c$cycle" "${COMPUTE_OPTS[@]}"
  ledger_loop $((cycle * 1000000)) &
  LEDGER=$!
  ddl_loop "$NEXT_DDL" &
  DDL=$!
  sysbench oltp_read_write "${SB[@]}" --threads=2 --time=0 --events=0 run >>"$WORK/sb-run.log" 2>&1 &
  SYSBENCH=$!
  target=$(($(lines "$COMMITTED") + 30 + RANDOM % 150))
  wait_commits "$target" "cycle $cycle"
  if ((cycle % 2 == 0)); then
    restart_pageserver
    wait_commits $(($(lines "$COMMITTED") + 20)) "cycle $cycle after the page server restarted"
    what="page server killed and restarted, then the compute killed"
  else
    what="compute killed"
  fi
  kill_compute
  wait "$LEDGER" "$DDL" "$SYSBENCH" 2>/dev/null || true
  NEXT_DDL=$(( $(tail -1 "$DDL_DONE" 2>/dev/null || echo 0) + 1 ))
  grep "compute verify:" "$COMPUTE_LOG" && die "cycle $cycle: a page mariadbd wrote differs from the server's"
  log "cycle $cycle: $what at $(lines "$COMMITTED") recorded commits, $(lines "$DDL_DONE") DDL iterations done"
done

# The last compute: nothing recorded is lost, every table is sound.
start_compute "$WORK/final" "${COMPUTE_OPTS[@]}"
# comm needs the order of sort (not sort -n).
sort "$COMMITTED" >"$WORK/committed.sorted"
sql -e "SELECT id FROM app.ledger" | sort >"$WORK/ledger.sorted"
comm -23 "$WORK/committed.sorted" "$WORK/ledger.sorted" >"$WORK/missing"
(($(lines "$WORK/missing") == 0)) || die "$(lines "$WORK/missing") recorded commits are missing: $(head -5 "$WORK/missing" | tr '\n' ' ')"
log "all $(lines "$COMMITTED") recorded commits present ($(lines "$WORK/ledger.sorted") rows in the ledger)"

tables=$(sql -e "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables
                 WHERE table_schema IN ('sbtest', 'app', 'det') AND engine = 'InnoDB' ORDER BY 1")
checked=0
for t in $tables; do
  result=$(sql -e "CHECK TABLE $t EXTENDED" | awk -F'\t' '$3 == "status" || $3 == "error" {print $4}' | tail -1)
  [[ $result == OK ]] || die "CHECK TABLE $t EXTENDED: $(sql -e "CHECK TABLE $t EXTENDED")"
  checked=$((checked + 1))
done
log "CHECK TABLE ... EXTENDED: $checked tables OK"

det_tables() { for i in $(sort -n "$DDL_DONE"); do echo "det.r_$i det.s_$i det.p_$i det.f_$i det.pr_$i"; done; }
DET=$(det_tables | tr '\n' ' ')
[[ -n $DET ]] || die "no DDL iteration finished"
sql -e "CHECKSUM TABLE $(echo $DET | tr ' ' ',')" >"$WORK/checksum.compute"
sql -e "SELECT user FROM mysql.user WHERE user LIKE 'u\\_%' ORDER BY 1" >"$WORK/users.compute"
stop_compute
grep -q "verified [0-9]* pages, 0 mismatches" "$COMPUTE_LOG" || die "the last compute's verification: $(tail -2 "$COMPUTE_LOG")"

# The same DDL iterations on a stock mariadbd on local disk.
SOCK=$WORK/stock.sock DATA=$WORK/stock ERR=$WORK/stock.err
install_db 256M
start_mariadbd 256M
sql <"$HERE/ddl_setup.sql"
for i in $(sort -n "$DDL_DONE"); do "$HERE/ddl_iteration.sh" "$i" | sql >/dev/null; done
sql -e "CHECKSUM TABLE $(echo $DET | tr ' ' ',')" >"$WORK/checksum.stock"
stop_mariadbd
diff "$WORK/checksum.stock" "$WORK/checksum.compute" >&2 || die "CHECKSUM TABLE differs from the stock mariadbd's"
log "CHECKSUM TABLE of $(wc -w <<<"$DET") tables of $(lines "$DDL_DONE") DDL iterations equals the stock mariadbd's"
done_users=$(lines "$DDL_DONE"); got_users=$(lines "$WORK/users.compute")
((got_users >= done_users)) || die "$got_users users, but $done_users DDL iterations each created one"
log "PASS: $CYCLES kill -9 cycles, $(lines "$COMMITTED") recorded commits, $(lines "$DDL_DONE") DDL iterations"
