#!/usr/bin/env bash
# Issue 11: computes on branches and in the past, against stock mariadbd processes.
#   1. A compute on main and one on a branch of it write at the same time (rows and a table of
#      their own): each sees only its own writes, and the branch everything main had at its LSN.
#      Then branches at random points of a sysbench run on main: every page of each equals
#      main's at its branch LSN (pagectl diff-timelines), and a compute on one checks its tables.
#   2. A table dropped on main comes back through a branch made at a time before the drop (a
#      writable compute on it, and a read-only compute --at the same time): the same rows and
#      CHECKSUM TABLE as before the drop.
#   3. A read-only compute --at-lsn an earlier LSN sees the database as it was then, refuses
#      writes, and its ephemeral branch is gone when it stops.
#   4. Refusals: a compute on an unknown timeline; --at-lsn above the last LSN; --at before any
#      redo arrived. Each a clear error, and no timeline is left behind.
set -euo pipefail
TEST_NAME=compute_branch
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/compute_lib.sh"
new_work_dir
trap cleanup_compute EXIT
BRANCH_SEED=${BRANCH_SEED:-$$}
RANDOM=$BRANCH_SEED

branches() { "$PAGECTL" branch list --server "$HTTP" | awk '{print $1}' | sort | tr '\n' ' '; }
# as NAME: the following sql calls go to compute NAME's socket
as() { SOCK=$WORK/$1.sock; }
declare -A PID_OF  # compute name -> pid
# start_named NAME ARGS...: a compute in $WORK/NAME on $WORK/NAME.sock, kept running next to others
start_named() {
  local name=$1; shift
  as "$name"
  start_compute "$WORK/$name" "$@"
  PID_OF[$name]=$COMPUTE_PID
  OTHER_COMPUTE_PIDS+=("$COMPUTE_PID")
}
# stop_named NAME: SIGTERM; mariadbd shuts down cleanly, the compute exits 0
stop_named() {
  local rc=0
  kill -TERM "${PID_OF[$1]}"
  wait "${PID_OF[$1]}" || rc=$?
  ((rc == 0)) || die "compute $1's clean stop exited $rc: $(tail -20 "$WORK/$1.log")"
}
count_where() { sql -e "SELECT COUNT(*) FROM app.t WHERE src = '$1'"; }

start_pageserver
"$PAGECTL" init --server "$GRPC" >"$WORK/init.log" 2>&1 || die "pagectl init: $(tail -5 "$WORK/init.log")"
start_named main
sql -e "CREATE DATABASE app;
        CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, src VARCHAR(8), pad CHAR(200))
          ENGINE=InnoDB;
        INSERT INTO app.t (src, pad) SELECT 'base', REPEAT('x', 200) FROM app.seq_1_to_1000"
EARLY_LSN=$(server_lsn)

log "1. a branch and main written at the same time"
"$PAGECTL" branch create --server "$HTTP" --name dev >"$WORK/branch-dev.log" ||
  die "pagectl branch create: $(cat "$WORK/branch-dev.log")"
log "   $(cat "$WORK/branch-dev.log")"
start_named dev --timeline dev
grep -q "timeline dev, writer generation" "$WORK/dev.log" || die "the compute does not say it runs on dev: $(head -3 "$WORK/dev.log")"
writer() {  # writer NAME ROWS: one row per transaction through compute NAME
  local sock=$WORK/$1.sock i
  for ((i = 0; i < $2; i += 50)); do
    mariadb --no-defaults --socket="$sock" -uroot -e \
      "$(for ((j = 0; j < 50; j++)); do echo "INSERT INTO app.t (src, pad) VALUES ('$1', REPEAT('y', 200));"; done)"
  done
}
writer main 2000 & MAIN_WRITER=$!
writer dev 2000 & DEV_WRITER=$!
as dev
sql -e "CREATE TABLE app.dev_only (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO app.dev_only VALUES (1), (2)"
wait "$MAIN_WRITER" || die "the writer on main failed"
wait "$DEV_WRITER" || die "the writer on dev failed"
as main
[[ $(count_where main) == 2000 && $(count_where dev) == 0 && $(count_where base) == 1000 ]] ||
  die "main sees main=$(count_where main) dev=$(count_where dev) base=$(count_where base), not 2000/0/1000"
[[ -z $(sql -e "SHOW TABLES FROM app LIKE 'dev_only'") ]] || die "main sees the table made on dev"
as dev
[[ $(count_where dev) == 2000 && $(count_where main) == 0 && $(count_where base) == 1000 ]] ||
  die "dev sees dev=$(count_where dev) main=$(count_where main) base=$(count_where base), not 2000/0/1000"
[[ $(sql -e "SELECT COUNT(*) FROM app.dev_only") == 2 ]] || die "dev lost its own table's rows"
for name in main dev; do
  as "$name"
  sql -e "CHECK TABLE app.t" | grep -q "status.OK" || die "CHECK TABLE on $name: $(sql -e "CHECK TABLE app.t")"
done
log "   main: 2000 own rows, none of dev's; dev: 2000 own rows and its table, none of main's"
stop_named dev

log "1b. branches at random points of a sysbench run on main (BRANCH_SEED=$BRANCH_SEED)"
as main
sql -e "CREATE DATABASE sbtest"
SB=(--db-driver=mysql --mysql-socket="$WORK/main.sock" --mysql-user=root --mysql-db=sbtest
    --tables=2 --table-size=5000)
sysbench oltp_write_only "${SB[@]}" prepare >"$WORK/sb-prepare.log" || die "sysbench prepare failed"
sysbench oltp_write_only "${SB[@]}" --threads=2 --time=600 run >"$WORK/sb-run.log" 2>&1 &
SB_PID=$!
declare -A SNAP_LSN
for k in 1 2 3; do
  # Event: a random 20 to 120 more transactions of the same load have committed, counted by a
  # second sysbench run in the foreground, while the background run keeps writing.
  sysbench oltp_write_only "${SB[@]}" --threads=1 --time=0 --events=$((20 + RANDOM % 100)) run \
    >"$WORK/sb-step-$k.log" 2>&1 || die "sysbench step $k failed: $(tail -5 "$WORK/sb-step-$k.log")"
  "$PAGECTL" branch create --server "$HTTP" --name "snap-$k" >"$WORK/snap-$k.log" ||
    die "branching mid-load: $(cat "$WORK/snap-$k.log")"
  SNAP_LSN[$k]=$(sed -n 's/.*branch of main at LSN \([0-9]*\).*/\1/p' "$WORK/snap-$k.log")
done
kill -TERM "$SB_PID" 2>/dev/null || true
wait "$SB_PID" 2>/dev/null || true
for k in 1 2 3; do
  "$PAGECTL" diff-timelines --server "$GRPC" --timeline "snap-$k" --against main \
    --lsn "${SNAP_LSN[$k]}" >"$WORK/diff-$k.log" 2>&1 ||
    die "snap-$k differs from main at LSN ${SNAP_LSN[$k]}: $(tail -12 "$WORK/diff-$k.log")"
  log "   snap-$k at LSN ${SNAP_LSN[$k]}: $(tail -1 "$WORK/diff-$k.log")"
done
# The comparison sees differences where there are some: dev, written apart, against main.
DEV_END=$("$PAGECTL" branch list --server "$HTTP" | awk '$1 == "dev" {for (i = 1; i < NF; i++) if ($i == "LSN" && $(i-1) == "last") print $(i+1)}')
rc=0
"$PAGECTL" diff-timelines --server "$GRPC" --timeline dev --against main --lsn "$DEV_END" \
  >"$WORK/diff-dev.log" 2>&1 || rc=$?
((rc == 1)) || die "dev against main at LSN $DEV_END exited $rc, not 1: $(tail -5 "$WORK/diff-dev.log")"
log "   dev against main at dev's last LSN $DEV_END: $(tail -1 "$WORK/diff-dev.log")"
# A compute on a branch made mid-load rolls back what was in flight there, as after a crash.
start_named snap --timeline snap-2
for t in sbtest1 sbtest2; do
  sql -e "CHECK TABLE sbtest.$t" | grep -q "status.OK" || die "CHECK TABLE sbtest.$t on snap-2: $(sql -e "CHECK TABLE sbtest.$t")"
done
log "   a compute on snap-2: CHECK TABLE OK, $(sql -e "SELECT COUNT(*) FROM sbtest.sbtest1") rows in sbtest1"
stop_named snap
for k in 1 2 3; do "$PAGECTL" branch delete --server "$HTTP" --name "snap-$k" >/dev/null; done

log "2. a dropped table back through a branch at a time before the drop"
as main
sql -e "CREATE TABLE app.precious (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB;
        INSERT INTO app.precious SELECT seq, MD5(seq) FROM app.seq_1_to_5000"
BEFORE=$(sql -e "CHECKSUM TABLE app.precious" | cut -f2)
INSERTED_LSN=$(server_lsn)
# Event: the clock's second changes after the insert returned, so that every redo of it arrived
# before the start of the second named (a time given to the second means its start). Branching
# at a time resolves to the second (the server's arrival map), so this wait is the event itself:
# its outcome does not depend on how loaded the machine is, only on the clock moving on.
committed=$(date -u +%s)
while (($(date -u +%s) <= committed)); do sleep 0.05; done
WHEN=$(date -u -d "@$((committed + 1))" '+%Y-%m-%d %H:%M:%S')
sql -e "DROP TABLE app.precious"
log "   the table made and filled by LSN $INSERTED_LSN (before $WHEN UTC), dropped by LSN $(server_lsn)"
[[ -z $(sql -e "SHOW TABLES FROM app LIKE 'precious'") ]] || die "the table is still on main"
"$PAGECTL" branch create --server "$HTTP" --name recover --at "$WHEN" >"$WORK/branch-recover.log" ||
  die "pagectl branch create --at: $(cat "$WORK/branch-recover.log")"
log "   $(cat "$WORK/branch-recover.log")"
start_named recover --timeline recover
[[ $(sql -e "CHECKSUM TABLE app.precious" | cut -f2) == "$BEFORE" ]] ||
  die "the recovered table's checksum is $(sql -e "CHECKSUM TABLE app.precious" | cut -f2), not $BEFORE"
[[ $(sql -e "SELECT COUNT(*) FROM app.precious") == 5000 ]] || die "the recovered table lacks rows"
stop_named recover
start_named past --at "$WHEN" --api "$HTTP"
grep -q "read-only at LSN [0-9]* of timeline main, on the ephemeral branch ephemeral-" "$WORK/past.log" ||
  die "no ephemeral branch: $(head -3 "$WORK/past.log")"
[[ $(sql -e "CHECKSUM TABLE app.precious" | cut -f2) == "$BEFORE" ]] ||
  die "the read-only compute's checksum is not $BEFORE"
log "   recovered: 5000 rows, CHECKSUM TABLE $BEFORE, through a writable branch and read-only --at '$WHEN'"
stop_named past

log "3. read-only at an earlier LSN"
start_named early --at-lsn "$EARLY_LSN" --api "$HTTP"
[[ $(sql -e "SELECT COUNT(*) FROM app.t") == 1000 ]] ||
  die "at LSN $EARLY_LSN app.t has $(sql -e "SELECT COUNT(*) FROM app.t") rows, not 1000"
if sql -e "INSERT INTO app.t (src) VALUES ('early')" 2>"$WORK/early-insert.err"; then
  die "the read-only compute took a write"
fi
grep -q "read only\|read-only\|READ-ONLY" "$WORK/early-insert.err" || die "the refusal does not say read-only: $(cat "$WORK/early-insert.err")"
ephemeral=$(sed -n 's/.*on the ephemeral branch \(ephemeral-[0-9a-f-]*\) .*/\1/p' "$WORK/early.log")
[[ $(branches) == *"$ephemeral"* ]] || die "the ephemeral branch $ephemeral is not listed: $(branches)"
stop_named early
grep -q "deleted the ephemeral branch $ephemeral" "$WORK/early.log" || die "the ephemeral branch was not deleted: $(tail -3 "$WORK/early.log")"
[[ $(branches) == "dev main recover " ]] || die "timelines after the read-only computes: $(branches)"
log "   1000 rows at LSN $EARLY_LSN, the write refused ($(grep -m1 ERROR "$WORK/early-insert.err" | cut -c1-120)), $ephemeral deleted"

log "4. refusals"
as main
compute_refused "an unknown timeline" 'no timeline named "nosuch"' --timeline nosuch
compute_refused "--at-lsn above the last LSN" "above" --at-lsn $(($(server_lsn) + 1000000)) --api "$HTTP"
compute_refused "--at before any redo arrived" "no redo of the timeline is known to have arrived before" --at "2001-01-01 00:00:00" --api "$HTTP"
compute_refused "--at-lsn without --api" "give its address with --api" --at-lsn "$EARLY_LSN"
[[ $(branches) == "dev main recover " ]] || die "timelines after the refusals: $(branches)"
as main
[[ $(count_where main) == 2000 ]] || die "main changed"
stop_named main
log "PASS: main and a branch written at once keep apart; a dropped table comes back at a time before the drop; read-only computes in the past; refusals"
