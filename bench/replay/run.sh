#!/usr/bin/env bash
# bench/replay/run.sh: redo apply speed, `pagectl replay` against MariaDB's own apply
# (`mariadb-backup --prepare`), on the same base datadir and the same redo range.
#
# Usage: bench/replay/run.sh            (run from anywhere; paths are relative to the repo)
# Environment (defaults in brackets):
#   BENCH_DIR [build/bench/replay]  fixture + scratch space (~1.5 GB with the defaults)
#   BENCH_RUNS [3]                  timed runs of each tool (median reported)
#   BENCH_REDO_MB [60]              minimum redo after base's checkpoint, MB = 10^6 bytes
#   BENCH_TABLES [8] BENCH_TABLE_SIZE [50000] BENCH_THREADS [4]   sysbench shape
#   BENCH_USE_MEMORY [1G]           mariadb-backup --prepare --use-memory
#   BENCH_FORCE [0]                 1 = regenerate the fixture even if it is up to date
#   PAGECTL [build/bin/pagectl]
# The table goes to stdout, progress to stderr.  Must run as root (mariadbd --user=root,
# drop_caches).
#
# What is measured
#   fixture: base    = sysbench datadir after a slow shutdown (clean, checkpoint = end of log)
#            crashed = the same server restarted, sysbench oltp_read_write until
#                      >= BENCH_REDO_MB of redo since base's checkpoint, then kill -9
#   range:   base's checkpoint LSN .. end of crashed/ib_logfile0, for both tools
#   pagectl: pagectl replay --base COPY --log crashed/ib_logfile0 --in-place, on an untimed copy
#            of base, as mariadb-backup works in place on an untimed copy; also shown, for
#            context, `--out FRESH_DIR`, whose time includes copying every base file
#   MariaDB: mariadb-backup --prepare --use-memory=$BENCH_USE_MEMORY --target-dir=T where T is a
#            backup-shaped copy of base (copy not timed): base's files, an ib_logfile0 that
#            is crashed's log with its checkpoint blocks pointing at base's checkpoint,
#            xtrabackup_checkpoints and backup-my.cnf (see make_prepare_template).
#            Its wall time includes InnoDB start-up, the final page flush, writing a new
#            ib_logfile0 and the Aria part of --prepare (trivial here: Aria was shut down
#            cleanly in base).
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)
cd "$REPO"

BENCH_DIR=${BENCH_DIR:-build/bench/replay}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_REDO_MB=${BENCH_REDO_MB:-60}
BENCH_TABLES=${BENCH_TABLES:-8}
BENCH_TABLE_SIZE=${BENCH_TABLE_SIZE:-50000}
BENCH_THREADS=${BENCH_THREADS:-4}
BENCH_USE_MEMORY=${BENCH_USE_MEMORY:-1G}
BENCH_FORCE=${BENCH_FORCE:-0}
PAGECTL=${PAGECTL:-build/bin/pagectl}
# 1 GiB: the log must not wrap, so that every byte since base's checkpoint (and base's own
# FILE_CHECKPOINT record) is still in crashed/ib_logfile0.  Checked below.
LOG_FILE_SIZE=$((1024 * 1024 * 1024))

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (mariadbd --user=root, drop_caches)"
for tool in mariadbd mariadb mariadb-admin mariadb-install-db mariadb-backup sysbench python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/setup.sh)"
done
[[ -x $PAGECTL ]] || die "$PAGECTL not built"
PAGECTL=$(readlink -f "$PAGECTL")
((BENCH_RUNS >= 1)) || die "BENCH_RUNS must be >= 1"

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(readlink -f "$BENCH_DIR")
FIXTURE=$BENCH_DIR/fixture
WORK=$BENCH_DIR/work
# Unix socket paths must stay below 108 bytes; BENCH_DIR may be deep.
RUN_DIR=$(mktemp -d /tmp/pgbench.XXXXXX)
SOCK=$RUN_DIR/mysqld.sock

# ---------------------------------------------------------------- cleanup
SERVER_PID="" SB_PID=""
SERVER_LOG_TAIL=""  # set while the fixture is generated: show the server's log on failure
# Our child still running?  A zombie is dead, and so is a pid whose /proc entry vanished
# (read the state once: bash may reap the child between a -r test and the read).
alive() {
  local state
  [[ -n $1 ]] || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
cleanup() {
  local rc=$?
  set +e
  # Only our own children, by pid.
  if alive "$SB_PID"; then kill "$SB_PID"; wait "$SB_PID" 2>/dev/null; fi
  if alive "$SERVER_PID"; then kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; fi
  rm -rf "$RUN_DIR"
  if ((rc != 0)); then
    log "FAILED (exit $rc)"
    [[ -n $SERVER_LOG_TAIL && -f $FIXTURE/mariadbd.err ]] && { echo "--- tail of $FIXTURE/mariadbd.err" >&2; tail -n 20 "$FIXTURE/mariadbd.err" >&2; }
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
# logdump_field LOG FIELD [logdump options]: one field of `pagectl logdump --json`.
logdump_field() {
  local f=$1 field=$2; shift 2
  "$PAGECTL" logdump "$f" --json "$@" | python3 -c "import json,sys; print(json.load(sys.stdin)['$field'])"
}

# Options of every mariadbd start and of the bootstrap (the log file is created there, and
# a different size at a later start would make the server re-create it, losing base's log).
#  * synchronous I/O and a buffered, non-mmapped log file: what is on disk after kill -9 is
#    exactly what the server wrote;
#  * innodb_flush_log_at_trx_commit=2: the log reaches the OS at every commit (kill -9 is a
#    process crash, so it survives) without an fsync per commit -> redo is produced faster;
#  * a buffer pool that holds the whole data set, so the workload is not I/O bound.
SERVER_OPTS=(
  --innodb-use-native-aio=0
  --innodb-flush-method=fsync
  --innodb-log-file-buffering=ON
  --innodb-log-file-mmap=OFF
  "--innodb-log-file-size=$LOG_FILE_SIZE"
  --innodb-fast-shutdown=0
  --innodb-buffer-pool-size=1G
  --innodb-flush-log-at-trx-commit=2
  --innodb-buffer-pool-dump-at-shutdown=OFF
  --innodb-buffer-pool-load-at-startup=OFF
)

start_server() {  # start_server DATADIR
  rm -f "$SOCK"
  mariadbd --no-defaults --user=root --datadir="$1" --socket="$SOCK" --skip-networking \
    --pid-file="$RUN_DIR/mariadbd.pid" --log-error="$FIXTURE/mariadbd.err" --skip-log-bin \
    "${SERVER_OPTS[@]}" 2>>"$FIXTURE/mariadbd.err" &  # early warnings, before --log-error applies
  SERVER_PID=$!
  local i
  for ((i = 0; i < 1500; i++)); do
    alive "$SERVER_PID" || die "mariadbd exited during startup"
    mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "mariadbd did not come up within 300 s"
}
wait_server_exit() {
  local i
  for ((i = 0; i < $1 * 5; i++)); do alive "$SERVER_PID" || break; sleep 0.2; done
  alive "$SERVER_PID" && die "mariadbd $SERVER_PID still running after $1 s"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
sql() { mariadb --no-defaults --socket="$SOCK" -uroot --batch --skip-column-names "$@"; }
SB_ARGS=(--db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root --mysql-db=sbtest
         --tables="$BENCH_TABLES" --table-size="$BENCH_TABLE_SIZE")

# ---------------------------------------------------------------- fixture
# Parameters that shape the fixture; a fixture made with others is regenerated.
FIXTURE_KEY="redo_mb=$BENCH_REDO_MB tables=$BENCH_TABLES table_size=$BENCH_TABLE_SIZE threads=$BENCH_THREADS log=$LOG_FILE_SIZE"

generate_fixture() {
  local t0=$SECONDS data=$FIXTURE/data
  SERVER_LOG_TAIL=1
  rm -rf "$FIXTURE"
  mkdir -p "$FIXTURE"
  log "fixture: bootstrap ($(mariadbd --version | awk '{print $3}'), log file $LOG_FILE_SIZE bytes)"
  mariadb-install-db --no-defaults --user=root --datadir="$data" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    --log-error="$FIXTURE/mariadbd.err" "${SERVER_OPTS[@]}" >"$FIXTURE/install-db.log" 2>&1 \
    || die "mariadb-install-db failed, see $FIXTURE/install-db.log"

  start_server "$data"
  log "fixture: sysbench prepare ($BENCH_TABLES tables x $BENCH_TABLE_SIZE rows)"
  sql -e "CREATE DATABASE sbtest"
  sysbench oltp_read_write "${SB_ARGS[@]}" prepare >"$FIXTURE/sysbench-prepare.log"
  # Slow shutdown (innodb_fast_shutdown=0): purge done, everything flushed, the checkpoint
  # is at the end of the log -> a clean base that needs no redo at all.
  log "fixture: slow shutdown -> base"
  mariadb-admin --no-defaults --socket="$SOCK" -uroot shutdown
  wait_server_exit 600
  cp -a --sparse=always "$data" "$FIXTURE/base"

  local base_ckpt target lsn
  base_ckpt=$(logdump_field "$FIXTURE/base/ib_logfile0" checkpoint_lsn)
  target=$((base_ckpt + BENCH_REDO_MB * 1000000))
  start_server "$data"
  log "fixture: sysbench run ($BENCH_THREADS threads) until LSN >= $target (base checkpoint $base_ckpt + $BENCH_REDO_MB MB)"
  # Started directly (not through a function) so that $! is sysbench itself.
  sysbench oltp_read_write "${SB_ARGS[@]}" --threads="$BENCH_THREADS" --time=0 \
    --report-interval=10 run >"$FIXTURE/sysbench-run.log" 2>&1 &
  SB_PID=$!
  local i last_report=$SECONDS
  for ((i = 0; ; i++)); do
    lsn=$(sql -e "SHOW GLOBAL STATUS LIKE 'Innodb_lsn_current'" | cut -f2)
    ((lsn >= target)) && break
    alive "$SB_PID" || die "sysbench stopped early, see $FIXTURE/sysbench-run.log"
    if ((SECONDS - last_report >= 10)); then
      log "fixture: $(((lsn - base_ckpt) / 1000000)) MB of redo so far"
      last_report=$SECONDS
    fi
    sleep 0.5
  done
  # The crash: kill -9 the server while sysbench is still running, then stop sysbench.
  log "fixture: LSN $lsn reached, kill -9 mariadbd -> crashed"
  kill -9 "$SERVER_PID"
  wait_server_exit 60
  kill "$SB_PID" 2>/dev/null || true
  wait "$SB_PID" 2>/dev/null || true
  SB_PID=""
  cp -a --sparse=always "$data" "$FIXTURE/crashed"
  rm -rf "$data"

  # The log must be the same file throughout (never re-created) and must not have wrapped.
  local first_base first_crash end capacity
  first_base=$(logdump_field "$FIXTURE/base/ib_logfile0" first_lsn)
  first_crash=$(logdump_field "$FIXTURE/crashed/ib_logfile0" first_lsn)
  [[ $first_base == "$first_crash" ]] || die "ib_logfile0 was re-created ($first_base -> $first_crash)"
  end=$(logdump_field "$FIXTURE/crashed/ib_logfile0" end_lsn --from-lsn "$base_ckpt")
  capacity=$((LOG_FILE_SIZE - 12288))
  ((end - first_base < capacity)) || die "the log wrapped; raise LOG_FILE_SIZE"
  ((end - base_ckpt >= BENCH_REDO_MB * 1000000)) || die "only $((end - base_ckpt)) bytes of redo"
  echo "$FIXTURE_KEY" >"$FIXTURE/fixture.key"
  SERVER_LOG_TAIL=""
  log "fixture: ready in $((SECONDS - t0)) s ($(du -sh "$FIXTURE" | cut -f1)); redo since base: $((end - base_ckpt)) bytes"
}

if [[ $BENCH_FORCE != 1 && -f $FIXTURE/fixture.key && $FIXTURE/fixture.key -nt $SCRIPT_PATH \
      && $(cat "$FIXTURE/fixture.key") == "$FIXTURE_KEY" ]]; then
  log "fixture: reusing $FIXTURE"
else
  generate_fixture
fi
BASE=$FIXTURE/base
CRASH_LOG=$FIXTURE/crashed/ib_logfile0

# ---------------------------------------------------------------- the redo range
# base's checkpoint block: (checkpoint_lsn, end_lsn); end_lsn is where base's
# FILE_CHECKPOINT record sits.  The range ends at the last complete mini-transaction of
# the crashed log when it is read from base's checkpoint.
START_LSN=$(logdump_field "$BASE/ib_logfile0" checkpoint_lsn)
START_END_LSN=$(logdump_field "$BASE/ib_logfile0" checkpoint_end_lsn)
END_LSN=$(logdump_field "$CRASH_LOG" end_lsn --from-lsn "$START_LSN")
REDO_BYTES=$((END_LSN - START_LSN))
log "range: LSN $START_LSN .. $END_LSN ($REDO_BYTES bytes; base FILE_CHECKPOINT at $START_END_LSN)"

# ---------------------------------------------------------------- mariadb-backup input
# mariadb-backup --prepare (10.11, extra/mariabackup/xtrabackup.cc) does, in --target-dir:
#  * reads backup-my.cnf as its only option file (InnoDB geometry: data file path, page
#    size, undo tablespaces, log size);
#  * reads xtrabackup_checkpoints: backup_type must be "full-backuped"; after recovery it
#    fails with "The log was only applied up to LSN x, instead of y" if InnoDB's recovered
#    LSN is below to_lsn;
#  * starts InnoDB in SRV_OPERATION_RESTORE mode, i.e. ordinary crash recovery from the
#    newest valid checkpoint block of ./ib_logfile0 (recv_sys_t::find_checkpoint: blocks at
#    4096 and 8192, the higher checkpoint_lsn wins), applies everything to the end of the
#    log, flushes, and replaces ib_logfile0 with an empty one whose checkpoint is the
#    recovered LSN.  No rollback, no purge.
# A backup's ib_logfile0 only differs from a server's in its creator string ("Backup ...")
# and in starting near the checkpoint; recovery reads either.  So: crashed's log with both
# checkpoint blocks rewritten to base's (checkpoint_lsn, end_lsn).  base's FILE_CHECKPOINT
# record is still in that log because it did not wrap, so recovery finds what it expects.
# to_lsn is set to the end of the range (a real backup has its checkpoint there), which
# makes mariadb-backup itself fail if it stops short.
make_prepare_template() {  # make_prepare_template DIR
  local dir=$1
  rm -rf "$dir"
  cp -a --sparse=always "$BASE" "$dir"
  rm -f "$dir/ib_logfile0"
  cp --sparse=always "$CRASH_LOG" "$dir/ib_logfile0"
  python3 - "$dir/ib_logfile0" "$START_LSN" "$START_END_LSN" <<'EOF'
import struct, sys
path, ckpt, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
with open(path, 'r+b') as f:
    for off in (4096, 8192):
        f.seek(off)
        old = f.read(64)
        # Sanity check of our CRC: a block MariaDB wrote must verify (an unused block is 0s).
        if any(old) and crc32c(old[:60]) != struct.unpack('>I', old[60:])[0]:
            sys.exit(f'checkpoint block at {off}: CRC mismatch, not a 10.8+ log?')
        blk = struct.pack('>QQ', ckpt, end) + bytes(44)
        f.seek(off)
        f.write(blk + struct.pack('>I', crc32c(blk)))
EOF
  cat >"$dir/xtrabackup_checkpoints" <<EOF
backup_type = full-backuped
from_lsn = 0
to_lsn = $END_LSN
last_lsn = $END_LSN
recover_binlog_info = 0
EOF
  # Same keys as backup_mysql.cc write_backup_config_file(); values of the fixture server.
  cat >"$dir/backup-my.cnf" <<EOF
# This options file was generated by innobackupex.

# The server
[mysqld]
innodb_checksum_algorithm=full_crc32
innodb_data_file_path=ibdata1:12M:autoextend
innodb_log_file_size=$LOG_FILE_SIZE
innodb_page_size=16384
innodb_undo_directory=./
innodb_undo_tablespaces=0
innodb_compression_level=6
EOF
}

rm -rf "$WORK"
mkdir -p "$WORK"
TEMPLATE=$WORK/template
make_prepare_template "$TEMPLATE"
# The rewritten log must read exactly like the range: from base's checkpoint to END_LSN.
[[ $(logdump_field "$TEMPLATE/ib_logfile0" checkpoint_lsn) == "$START_LSN" &&
   $(logdump_field "$TEMPLATE/ib_logfile0" end_lsn) == "$END_LSN" ]] \
  || die "rewritten log does not cover $START_LSN .. $END_LSN"

# ---------------------------------------------------------------- timed runs
CACHE_NOTE="page cache dropped before each run"
drop_caches() {
  sync
  if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    CACHE_NOTE="page cache NOT dropped (no permission): runs after the first are warm"
  fi
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }  # floating-point arithmetic

# Each run checks that the tool covered exactly START_LSN .. END_LSN.
# Like for like with mariadb-backup: pagectl applies in place to an untimed copy of base.
run_pagectl() {  # run_pagectl RUNDIR -> prints seconds
  local d=$1 t0 t1
  cp -a --sparse=always "$BASE" "$d/target"
  drop_caches
  t0=$(now)
  "$PAGECTL" replay --base "$d/target" --log "$CRASH_LOG" --in-place >"$d/pagectl.log" 2>&1 \
    || die "pagectl replay failed, see $d/pagectl.log"
  t1=$(now)
  check_pagectl_range "$d/pagectl.log"
  calc "$t1 - $t0"
}
check_pagectl_range() {
  grep -q "^replayed LSN $START_LSN .. $END_LSN: $REDO_BYTES bytes" "$1" \
    || die "pagectl replayed another range: $(grep '^replayed' "$1")"
}
# Context: pagectl writing a new datadir tree (--out), which includes copying every base file.
run_pagectl_out() {  # run_pagectl_out RUNDIR -> prints seconds
  local d=$1 t0 t1
  drop_caches
  t0=$(now)
  "$PAGECTL" replay --base "$BASE" --log "$CRASH_LOG" --out "$d/out" >"$d/pagectl.log" 2>&1 \
    || die "pagectl replay --out failed, see $d/pagectl.log"
  t1=$(now)
  check_pagectl_range "$d/pagectl.log"
  rm -rf "$d/out"
  calc "$t1 - $t0"
}
run_prepare() {  # run_prepare RUNDIR -> prints seconds
  local d=$1 t0 t1 from to
  cp -a --sparse=always "$TEMPLATE" "$d/target"
  drop_caches
  t0=$(now)
  mariadb-backup --prepare --use-memory="$BENCH_USE_MEMORY" --target-dir="$d/target" \
    >"$d/prepare.log" 2>&1 || die "mariadb-backup --prepare failed, see $d/prepare.log"
  t1=$(now)
  # Where recovery started and ended: InnoDB's notes, and the new ib_logfile0 written by
  # --prepare, which ends at the recovered LSN (xtrabackup.cc innodb_init(): a
  # FILE_CHECKPOINT record at recovered LSN - 16).
  from=$(sed -n 's/.*Starting crash recovery from checkpoint LSN=\([0-9]*\).*/\1/p' "$d/prepare.log")
  to=$(sed -n 's/.*End of log at LSN=\([0-9]*\).*/\1/p' "$d/prepare.log")
  [[ $from == "$START_LSN" && $to == "$END_LSN" ]] \
    || die "mariadb-backup recovered LSN '$from' .. '$to', not $START_LSN .. $END_LSN"
  [[ $(logdump_field "$d/target/ib_logfile0" end_lsn) == "$END_LSN" ]] \
    || die "the ib_logfile0 written by mariadb-backup does not end at $END_LSN"
  calc "$t1 - $t0"
}

PG_TIMES=() MB_TIMES=() CP_TIMES=()
for ((r = 1; r <= BENCH_RUNS; r++)); do
  # Alternate the order so that drift in the machine's load hits both tools alike.
  order=(prepare pagectl pagectl_out)
  ((r % 2)) || order=(pagectl_out pagectl prepare)
  for tool in "${order[@]}"; do
    # Only the last run of each tool is kept (for the page comparison below).
    rm -rf "$WORK/$tool"-*
    d=$WORK/$tool-$r
    mkdir -p "$d"
    s=$("run_$tool" "$d")
    log "run $r/$BENCH_RUNS: $tool $(printf '%.3f' "$s") s"
    case $tool in
      pagectl) PG_TIMES+=("$s") ;;
      prepare) MB_TIMES+=("$s") ;;
      pagectl_out) CP_TIMES+=("$s") ;;
    esac
  done
done

# ---------------------------------------------------------------- cross-check
# Both tools applied the same range to the same pages, so the InnoDB pages must match,
# except pages that are free at the end (their contents are irrelevant, MariaDB may not
# even write them).  The free-page list comes from an extra, untimed pagectl run.
PG_LAST=$WORK/pagectl-$BENCH_RUNS/target MB_LAST=$WORK/prepare-$BENCH_RUNS/target
log "cross-check: pagectl compare (needs a free-page list: one more, untimed, pagectl run)"
"$PAGECTL" replay --base "$BASE" --log "$CRASH_LOG" --out "$WORK/freed-run" \
  --freed-pages "$WORK/freed-pages.txt" >"$WORK/freed-run.log" 2>&1 \
  || die "pagectl replay --freed-pages failed, see $WORK/freed-run.log"
rm -rf "$WORK/freed-run"
set +e
"$PAGECTL" compare --expected "$MB_LAST" --actual "$PG_LAST" \
  --skip-pages "$WORK/freed-pages.txt" >"$WORK/compare.log" 2>&1
CMP_RC=$?
set -e
log "cross-check: exit $CMP_RC; $(tail -n 1 "$WORK/compare.log")"

# ---------------------------------------------------------------- report
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
PG_MED=$(median "${PG_TIMES[@]}")
MB_MED=$(median "${MB_TIMES[@]}")
CP_MED=$(median "${CP_TIMES[@]}")
REDO_MB=$(calc "$REDO_BYTES / 1000000")

echo
echo "redo apply: $(printf '%.1f' "$REDO_MB") MB (LSN $START_LSN .. $END_LSN), sysbench oltp_read_write $BENCH_TABLES x $BENCH_TABLE_SIZE; MB = 10^6 bytes"
echo "$CACHE_NOTE; $(nproc) CPUs; mariadb-backup --prepare --use-memory=$BENCH_USE_MEMORY ($(mariadb-backup --version 2>&1 | awk '{print $6}'))"
printf '%-26s %4s %9s %8s   %s\n' tool runs median_s MB/s "all runs (s)"
row() {
  printf '%-26s %4d %9.3f %8.1f   %s\n' "$1" "$2" "$3" "$(calc "$REDO_MB / $3")" "$4"
}
row "pagectl replay --in-place" "${#PG_TIMES[@]}" "$PG_MED" "$(printf '%.3f ' "${PG_TIMES[@]}" | sed 's/ $//')"
row "mariadb-backup --prepare" "${#MB_TIMES[@]}" "$MB_MED" "$(printf '%.3f ' "${MB_TIMES[@]}" | sed 's/ $//')"
row "pagectl replay --out" "${#CP_TIMES[@]}" "$CP_MED" "$(printf '%.3f ' "${CP_TIMES[@]}" | sed 's/ $//')  <- also copies every base file"
RATIO=$(calc "$MB_MED / $PG_MED")
# < 1 means pagectl is slower; say so in words too rather than leave "0.5 x faster".
printf 'ratio: pagectl --in-place is %.2f x faster than mariadb-backup --prepare (median wall time)%s\n' \
  "$RATIO" "$(awk -v r="$RATIO" 'BEGIN { if (r < 1) printf ", i.e. %.2f x slower", 1 / r }')"
echo "pages: $(tail -n 1 "$WORK/compare.log") (pagectl compare, free pages skipped; exit $CMP_RC)"
