#!/usr/bin/env bash
# make_fixture.sh OUT_DIR WORKLOAD [--log-size BYTES] [--undo-tablespaces N] [--force]
#
# Generates a redo-replay test fixture with the real, installed mariadbd 10.11: a private
# instance under OUT_DIR (never the system one) is driven through
#   a. bootstrap + schema/initial data, slow shutdown            -> OUT_DIR/base
#   b. restart, workload, kill -9 while it runs                  -> OUT_DIR/crashed
#   c. copy of crashed recovered with innodb_force_recovery=3
#      (redo applied, no rollback), fast shutdown                -> OUT_DIR/crash_recovered
#   d. restart on the crashed datadir (recovery + rollback),
#      a little more workload, slow shutdown                     -> OUT_DIR/final
#   e. OUT_DIR/fixture.env (shell variables describing the fixture)
# unsupported_* workloads only do a + d (see FIXTURE_DIRS in fixture.env).
#
# Workloads: mixed, sysbench, wrap, unsupported_page_compressed, unsupported_compressed,
#            unsupported_encrypted, unsupported_encrypted_log, unsupported_page_size.
# Regeneration is skipped when OUT_DIR/fixture.env exists, is newer than this script and
# redo_scan.py, and was made with the same workload/log size/undo count; --force regenerates.
# After generating, the fixture is checked with redo_scan.py (log continuous from base's
# checkpoint, not overwritten, wrapped for "wrap", undo truncated for "mixed", ...);
# unsupported_encrypted_log only gets its log headers checked (redo_scan.py cannot frame
# encrypted mtrs).
# Exit status: 0 ok, 77 MariaDB not installed (ctest SKIP_RETURN_CODE), other = failure.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
REDO_SCAN="$SCRIPT_DIR/redo_scan.py"

usage() {
  sed -n '2,3p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- arguments
OUT_DIR="" WORKLOAD="" LOG_SIZE_ARG="" UNDO_TABLESPACES=3 FORCE=0
positional=()
while (($#)); do
  case $1 in
    --log-size) LOG_SIZE_ARG=${2:?}; shift 2 ;;
    --log-size=*) LOG_SIZE_ARG=${1#*=}; shift ;;
    --undo-tablespaces) UNDO_TABLESPACES=${2:?}; shift 2 ;;
    --undo-tablespaces=*) UNDO_TABLESPACES=${1#*=}; shift ;;
    --force) FORCE=1; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} == 2)) || usage
OUT_DIR=${positional[0]} WORKLOAD=${positional[1]}

case $WORKLOAD in
  mixed|sysbench|wrap|unsupported_page_compressed|unsupported_compressed|unsupported_encrypted|unsupported_encrypted_log|unsupported_page_size) ;;
  *) echo "unknown workload '$WORKLOAD'" >&2; usage ;;
esac

# Accepts plain bytes or a K/M/G suffix (as mariadbd does); prints bytes.
to_bytes() {
  local v=${1^^}
  case $v in
    *K) echo $((${v%K} * 1024)) ;;
    *M) echo $((${v%M} * 1024 * 1024)) ;;
    *G) echo $((${v%G} * 1024 * 1024 * 1024)) ;;
    *[!0-9]*|"") echo "bad size '$1'" >&2; return 1 ;;
    *) echo "$v" ;;
  esac
}
# The wrap workload needs a small log so that it wraps; 8M leaves room for a realistic
# workload (10.11 rounds anything below 4M up to 4M).  Everything else gets 256M so the log
# never wraps and every byte since base's checkpoint stays in the file.
if [[ -z $LOG_SIZE_ARG ]]; then
  if [[ $WORKLOAD == wrap ]]; then LOG_SIZE_ARG=8M; else LOG_SIZE_ARG=256M; fi
fi
LOG_SIZE=$(to_bytes "$LOG_SIZE_ARG")
PAGE_SIZE=16384
[[ $WORKLOAD == unsupported_page_size ]] && PAGE_SIZE=4096

log() { printf '[make_fixture %s %s] %s\n' "$WORKLOAD" "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- prerequisites
for tool in mariadbd mariadb mariadb-admin mariadb-install-db python3; do
  if ! command -v "$tool" >/dev/null; then
    log "SKIP: $tool not installed"
    exit 77
  fi
done
if [[ $WORKLOAD == sysbench ]] && ! command -v sysbench >/dev/null; then
  log "SKIP: sysbench not installed"; exit 77
fi
[[ $(id -u) == 0 ]] || die "must run as root (mariadbd is started with --user=root)"

# ---------------------------------------------------------------- output directory
mkdir -p "$OUT_DIR"
OUT_DIR=$(readlink -f "$OUT_DIR")
fixture_matches() {  # existing fixture made by the current generator with the same arguments
  local env=$OUT_DIR/fixture.env
  [[ -f $env && $env -nt $SCRIPT_PATH && $env -nt $REDO_SCAN ]] &&
    grep -qx "WORKLOAD=$WORKLOAD" "$env" && grep -qx "LOG_SIZE=$LOG_SIZE" "$env" &&
    grep -qx "UNDO_TABLESPACES=$UNDO_TABLESPACES" "$env"
}
if [[ $FORCE == 0 ]] && fixture_matches; then
  log "up to date: $OUT_DIR/fixture.env is newer than the generator and has the same arguments; skipping"
  exit 0
fi
# We rm -rf the old contents, so only ever touch a directory that is empty or that we made.
MARKER=.pageserver-fixture
if [[ -n $(ls -A "$OUT_DIR") && ! -f $OUT_DIR/$MARKER ]]; then
  die "$OUT_DIR is not empty and was not created by make_fixture.sh; refusing to delete it"
fi
find "$OUT_DIR" -mindepth 1 -delete
touch "$OUT_DIR/$MARKER"

DATA=$OUT_DIR/data              # the live datadir of steps a, b, d
ERR_LOG=$OUT_DIR/mariadbd.err   # all server starts append here (phase markers separate them)
# Socket paths must be < 108 bytes, OUT_DIR may be deep: keep the socket in a short /tmp dir.
RUN_DIR=$(mktemp -d /tmp/pgfx.XXXXXX)
SOCK=$RUN_DIR/mysqld.sock

# ---------------------------------------------------------------- server handling
SERVER_PID=""
BG_PIDS=()

# Options for every mariadbd start (and for the bootstrap, which creates the undo
# tablespaces and the log file, so sizes must match from the very beginning):
#  * plain synchronous I/O and a buffered, non-mmapped log file so the files on disk are
#    exactly what a reader of ib_logfile0 sees;
#  * slow shutdown by default so the base/final copies are fully purged and checkpointed;
#  * undo truncation with the smallest threshold so TRIM_PAGES records appear;
#  * innodb_flush_log_at_trx_commit=2: the log is written to the OS at every commit (it
#    survives kill -9, which is a process crash, not an OS crash) but not fsynced, which
#    makes the thousands of small transactions much faster on slow disks.
INNODB_OPTS=(
  --innodb-use-native-aio=0
  --innodb-flush-method=fsync
  --innodb-log-file-buffering=ON
  --innodb-log-file-mmap=OFF
  --innodb-log-file-size="$LOG_SIZE"
  --innodb-undo-tablespaces="$UNDO_TABLESPACES"
  --innodb-buffer-pool-size=256M
  --innodb-fast-shutdown=0
  --innodb-undo-log-truncate=ON
  --innodb-max-undo-log-size=10M
  --innodb-flush-log-at-trx-commit=2
  --innodb-buffer-pool-dump-at-shutdown=OFF
  --innodb-buffer-pool-load-at-startup=OFF
  --innodb-page-size="$PAGE_SIZE"
)
EXTRA_SERVER_OPTS=()   # per-workload additions (encryption plugin, log encryption)

alive() {  # our child mariadbd still running (a zombie counts as dead)
  [[ -n $1 && -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# Appends a marker line to the error log so phases can be told apart later; only called
# while no server is running.
err_marker() { echo "### make_fixture: $*" >>"$ERR_LOG"; }

start_server() {  # start_server DATADIR [extra mariadbd options...]
  local datadir=$1; shift
  [[ -z $SERVER_PID ]] || die "internal: a server is already running"
  rm -f "$SOCK"
  mariadbd --no-defaults --user=root --datadir="$datadir" \
    --socket="$SOCK" --skip-networking --pid-file="$RUN_DIR/mariadbd.pid" \
    --log-error="$ERR_LOG" --skip-log-bin --character-set-server=latin1 \
    "${INNODB_OPTS[@]}" "${EXTRA_SERVER_OPTS[@]}" "$@" 2>>"$ERR_LOG" &
  SERVER_PID=$!
  local i
  # Crash recovery of a few hundred MB of redo can take a while on 2 cores.
  for ((i = 0; i < 3000; i++)); do
    if ! alive "$SERVER_PID"; then
      wait "$SERVER_PID" || true
      SERVER_PID=""
      die "mariadbd exited during startup"
    fi
    if mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1; then
      log "mariadbd $SERVER_PID up on $datadir"
      return 0
    fi
    sleep 0.2
  done
  die "mariadbd did not become ready within 600s"
}

wait_server_exit() {  # reap SERVER_PID, failing after $1 seconds
  local limit=$1 i
  for ((i = 0; i < limit * 5; i++)); do
    alive "$SERVER_PID" || break
    sleep 0.2
  done
  alive "$SERVER_PID" && die "mariadbd $SERVER_PID still running after ${limit}s"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

stop_server() {  # normal shutdown; slow unless the server was started with fast_shutdown
  log "shutting down mariadbd $SERVER_PID"
  mariadb-admin --no-defaults --socket="$SOCK" -uroot shutdown
  wait_server_exit 900
  # A clean shutdown must end with this note; anything else means the copy is not clean.
  tail -n 5 "$ERR_LOG" | grep -q 'Shutdown complete' || die "shutdown did not complete cleanly"
}

crash_server() {
  log "kill -9 mariadbd $SERVER_PID"
  kill -9 "$SERVER_PID"
  # SIGKILL cannot be caught, so a plain wait is safe; reaping here with stderr discarded
  # also keeps bash's "Killed ..." job notice out of the output.
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  set +e
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  if [[ -n $SERVER_PID ]] && alive "$SERVER_PID"; then
    kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
  fi
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$RUN_DIR"
  if ((rc != 0)); then
    log "FAILED (exit $rc)"
    if [[ -f $ERR_LOG ]]; then
      echo "----- tail of $ERR_LOG -----" >&2
      tail -n 40 "$ERR_LOG" >&2
    fi
    # Never leave something that looks like a finished fixture behind.
    [[ -f $OUT_DIR/$MARKER ]] && rm -f "$OUT_DIR/fixture.env"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sql() {  # sql [client options] < statements; -e works too
  mariadb --no-defaults --socket="$SOCK" -uroot --batch --skip-column-names "$@"
}
status_var() {
  sql -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='$1'"
}
current_lsn() { status_var INNODB_LSN_CURRENT; }

bg_sql() {  # run statements from stdin in a background client; it is expected to die at kill
  # Background jobs of a non-interactive shell get /dev/null as stdin, so hand the
  # statements over in a file.
  local f
  f=$(mktemp -p "$RUN_DIR" bg.XXXXXX.sql)
  cat >"$f"
  sql --force <"$f" >>"$OUT_DIR/client-bg.log" 2>&1 &
  BG_PIDS+=($!)
}
reap_bg() {
  local p
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  BG_PIDS=()
}

snapshot() {  # snapshot SRC NAME: copy a stopped datadir to OUT_DIR/NAME
  [[ -z $SERVER_PID ]] || die "internal: snapshot while the server runs"
  cp -a --sparse=always "$1" "$OUT_DIR/$2"
  log "snapshot $2 ($(du -sh "$OUT_DIR/$2" | cut -f1))"
}

scan_kv() {  # scan_kv KEY < redo_scan output
  sed -n "s/^$1=//p"
}

# Waits until LSN >= $1 (churn still running) or $2 seconds passed.
wait_for_lsn() {
  local target=$1 limit=$2 i lsn
  for ((i = 0; i < limit * 5; i++)); do
    lsn=$(current_lsn)
    ((lsn >= target)) && return 0
    sleep 0.2
  done
  log "note: LSN $lsn did not reach $target within ${limit}s"
}

# Waits until a background session's statement is visible in the processlist.
wait_for_query() {  # wait_for_query LIKE-PATTERN TIMEOUT
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    [[ $(sql -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '$1' AND ID <> CONNECTION_ID()") -gt 0 ]] && return 0
    sleep 0.2
  done
  die "background query '$1' never started (see $OUT_DIR/client-bg.log)"
}

truncations() {  # number of undo truncations logged in the error log after marker $1
  awk -v m="### make_fixture: $1" 'index($0, m) == 1 {on = 1} on && /InnoDB: Truncating / {n++} END {print n + 0}' "$ERR_LOG"
}

# ================================================================ workloads
# Each workload provides (all called with the server running):
#   <w>_schema              step a: schema and initial data
#   <w>_before              step b: synchronous DML/DDL after base
#   <w>_inflight_and_kill   step b: background load, kill -9 while it runs
#   <w>_after               step d: DML/DDL after crash recovery
# The unsupported_* fixtures have unsupported_schema/unsupported_after only.

# Three tables with identical shape, one per row format.  latin1 keeps byte lengths
# predictable; u is UNIQUE, k and c(40) are secondary (c prefix index), b/t go off-page
# when large (REDUNDANT/COMPACT keep a 768-byte prefix in the row, DYNAMIC only a pointer).
ROW_TABLE_DEF='(
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  k INT NOT NULL,
  u VARCHAR(40) NOT NULL,
  c VARCHAR(3000) NOT NULL,
  pad CHAR(20) NOT NULL DEFAULT "pad",
  n DECIMAL(12,2) NULL,
  b MEDIUMBLOB NULL,
  t TEXT NULL,
  UNIQUE KEY uk (u), KEY kk (k), KEY kc (c(40))
) ENGINE=InnoDB DEFAULT CHARSET=latin1'

# Row counts of the statements after base, scaled: wrap runs the same statements as mixed
# with SCALE=10 so that steps b + d stay well within its small log.
SCALE=100
[[ $WORKLOAD == wrap ]] && SCALE=10
n() { local v=$(($1 * SCALE / 100)); echo $((v < 1 ? 1 : v)); }

# Common schema of mixed and wrap.  $1 = rows per row-format table, $2 = rows per undo
# fodder table (0 = none).
mixed_schema_sql() {
  local rows=$1 undo_rows=$2
  cat <<EOF
CREATE DATABASE fx;
USE fx;
CREATE TABLE t_red $ROW_TABLE_DEF ROW_FORMAT=REDUNDANT;
CREATE TABLE t_cmp $ROW_TABLE_DEF ROW_FORMAT=COMPACT;
CREATE TABLE t_dyn $ROW_TABLE_DEF ROW_FORMAT=DYNAMIC;
-- R-tree: POINT NOT NULL with a SPATIAL index.
CREATE TABLE t_geo (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, g POINT NOT NULL,
  tag VARCHAR(20) NOT NULL, SPATIAL INDEX sg (g)) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;
-- victims of RENAME / TRUNCATE / DROP after base
CREATE TABLE t_ren $ROW_TABLE_DEF ROW_FORMAT=COMPACT;
CREATE TABLE t_trunc $ROW_TABLE_DEF ROW_FORMAT=REDUNDANT;
CREATE TABLE t_drop $ROW_TABLE_DEF ROW_FORMAT=DYNAMIC;
-- targets of the background churn (own tables: the in-flight transaction locks rows of
-- the others, and a lock wait would stop the churn)
CREATE TABLE t_churn (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL,
  c VARCHAR(2000) NOT NULL, b BLOB NULL, KEY kk (k)) ENGINE=InnoDB ROW_FORMAT=COMPACT;
CREATE TABLE t_geo_churn (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, g POINT NOT NULL,
  SPATIAL INDEX sg (g)) ENGINE=InnoDB ROW_FORMAT=REDUNDANT;
-- Undo fodder: shrinking these 1500-byte values after base writes ~15 MB of undo (the old
-- values) in one transaction, i.e. in one undo tablespace, for little other redo.
CREATE TABLE t_undo1 (id INT NOT NULL PRIMARY KEY, c VARCHAR(2000) NOT NULL)
  ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=latin1;
CREATE TABLE t_undo2 (id INT NOT NULL PRIMARY KEY, c VARCHAR(2000) NOT NULL)
  ENGINE=InnoDB ROW_FORMAT=REDUNDANT DEFAULT CHARSET=latin1;
EOF
  local tb
  for tb in t_red t_cmp t_dyn; do
    cat <<EOF
INSERT INTO $tb (k, u, c, n)
  SELECT seq % 997, CONCAT('u', seq), REPEAT(CHAR(97 + seq % 26), 10 + seq % 200), seq / 7
  FROM seq_1_to_$rows;
-- off-page BLOB/TEXT, 20-60 KB
UPDATE $tb SET b = REPEAT(CHAR(65 + id % 26), 20000 + (id * 37) % 40000),
               t = REPEAT('t', 20000 + id % 1000)
  WHERE id % 200 = 0;
EOF
  done
  cat <<EOF
INSERT INTO t_ren (k, u, c) SELECT seq, CONCAT('r', seq), REPEAT('r', seq % 300) FROM seq_1_to_2000;
INSERT INTO t_trunc (k, u, c) SELECT seq, CONCAT('x', seq), REPEAT('x', seq % 300) FROM seq_1_to_2000;
INSERT INTO t_drop (k, u, c) SELECT seq, CONCAT('d', seq), REPEAT('d', seq % 300) FROM seq_1_to_2000;
INSERT INTO t_geo (g, tag) SELECT POINT(seq % 100, seq DIV 100), CONCAT('g', seq) FROM seq_1_to_3000;
INSERT INTO t_churn (k, c) SELECT seq, REPEAT('c', seq % 500) FROM seq_1_to_1000;
EOF
  if ((undo_rows > 0)); then
    echo "INSERT INTO t_undo1 SELECT seq, REPEAT('w', 1500) FROM seq_1_to_$undo_rows;"
    echo "INSERT INTO t_undo2 SELECT seq, REPEAT('w', 1500) FROM seq_1_to_$undo_rows;"
  fi
  cat <<'EOF'
-- background load used in step b: many small autocommit transactions
DELIMITER //
CREATE PROCEDURE churn(IN n INT, IN pause DOUBLE)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE last BIGINT;  -- signed: LAST_INSERT_ID() - n must not underflow
  WHILE i < n DO
    INSERT INTO t_churn (k, c, b)
      VALUES (i, REPEAT('c', 100 + i % 900), IF(i % 40 = 0, REPEAT('b', 25000), NULL));
    SET last = LAST_INSERT_ID();
    UPDATE t_churn SET c = REPEAT('e', 20 + (i * 13) % 1500) WHERE id = last - 17;
    DELETE FROM t_churn WHERE id = last - 400;
    INSERT INTO t_geo_churn (g) VALUES (POINT(RAND() * 1000, RAND() * 1000));
    SET last = LAST_INSERT_ID();
    DELETE FROM t_geo_churn WHERE id = last - 50;
    -- unthrottled this writes ~60 MB/s of redo here, far too much for the log
    DO SLEEP(pause);
    SET i = i + 1;
  END WHILE;
END//
DELIMITER ;
EOF
}

# DML/DDL mix run after base, once before the kill (tag 1) and once after restart (tag 2).
# $1 = tag, $2 = undo fodder table ("" = none).  Row counts are chosen for ~40 MB of redo
# with the 20000-row tables of mixed (a 256M log must hold b + d).
mixed_dml_sql() {
  local tag=$1 undo=$2
  cat <<EOF
USE fx;
-- grow then shrink VARCHARs (records move, PAGE_GARBAGE, reuse of freed space)
UPDATE t_red SET c = REPEAT('G', 700 + id % 800) WHERE id % 20 = $tag;
UPDATE t_cmp SET c = REPEAT('G', 700 + id % 800) WHERE id % 20 = $tag;
UPDATE t_dyn SET c = REPEAT('G', 700 + id % 800) WHERE id % 20 = $tag;
UPDATE t_red SET c = LEFT(c, 3 + id % 50) WHERE id % 40 = $tag;
UPDATE t_cmp SET c = LEFT(c, 3 + id % 50) WHERE id % 40 = $tag;
UPDATE t_dyn SET c = LEFT(c, 3 + id % 50) WHERE id % 40 = $tag;
-- off-page columns: replace, grow, free
UPDATE t_dyn SET b = REPEAT('B', 30000 + id % 30000) WHERE id % 300 = $tag;
UPDATE t_red SET b = REPEAT('R', 45000) WHERE id % 500 = $tag;
UPDATE t_cmp SET b = NULL, t = NULL WHERE id % 400 = 0;
INSERT INTO t_cmp (k, u, c, b, t)
  SELECT seq, CONCAT('blob$tag-', seq), 'x', REPEAT('b', 20000 + seq * 500), REPEAT('T', 21000)
  FROM seq_1_to_$(n 40);
-- deletes (purged later) and re-inserts into the gaps
DELETE FROM t_cmp WHERE id % 7 = $tag;
DELETE FROM t_red WHERE id BETWEEN $((tag * 1000)) AND $((tag * 1000 + $(n 1500)));
INSERT INTO t_red (k, u, c, n)
  SELECT seq, CONCAT('re$tag-', seq), REPEAT('n', seq % 900), seq FROM seq_1_to_$(n 3000);
UPDATE t_dyn SET u = CONCAT('v$tag-', id) WHERE id % 27 = 0;  -- UNIQUE key churn
-- spatial inserts / deletes / moves
INSERT INTO t_geo (g, tag) SELECT POINT(RAND() * 1000, RAND() * 1000), 'w$tag' FROM seq_1_to_$(n 3000);
DELETE FROM t_geo WHERE id % 3 = $((tag % 3));
UPDATE t_geo SET g = POINT(ST_X(g) + 0.5, ST_Y(g) - 0.5) WHERE id % 5 = 0;
-- explicit rollback of inserts + updates + deletes (undo is applied, not purged)
BEGIN;
INSERT INTO t_dyn (k, u, c, b) SELECT seq, CONCAT('rb$tag-', seq), REPEAT('r', 500), REPEAT('r', 30000)
  FROM seq_1_to_$(n 50);
INSERT INTO t_red (k, u, c) SELECT seq, CONCAT('rb$tag-', seq), REPEAT('r', 300) FROM seq_1_to_$(n 2000);
UPDATE t_cmp SET c = REPEAT('z', 1200), k = k + 1 WHERE id % 50 = 3;
DELETE FROM t_dyn WHERE id % 13 = 0;
DELETE FROM t_geo WHERE id % 7 = 0;
ROLLBACK;
EOF
  # One transaction whose undo log (the old 1500-byte values) outgrows
  # innodb_max_undo_log_size in a single undo tablespace; purge truncates it afterwards.
  [[ -z $undo ]] || echo "UPDATE $undo SET c = CONCAT('s', id % 10);"
}

mixed_ddl1_sql() {
  cat <<EOF
USE fx;
CREATE TABLE t_new1 (id INT NOT NULL PRIMARY KEY, a VARCHAR(200), b INT, KEY kb (b))
  ENGINE=InnoDB ROW_FORMAT=REDUNDANT DEFAULT CHARSET=latin1;
INSERT INTO t_new1 SELECT seq, REPEAT('n', seq % 200), seq % 50 FROM seq_1_to_$(n 5000);
ALTER TABLE t_dyn ADD INDEX kn (n), ALGORITHM=INPLACE;
ALTER TABLE t_red ADD INDEX kpad (pad, k), ALGORITHM=INPLACE;
ALTER TABLE t_cmp ADD COLUMN extra INT NOT NULL DEFAULT 7, ALGORITHM=INSTANT;
RENAME TABLE t_ren TO t_ren2;
TRUNCATE TABLE t_trunc;
INSERT INTO t_trunc (k, u, c) SELECT seq, CONCAT('y', seq), REPEAT('y', seq % 300) FROM seq_1_to_$(n 1000);
DROP TABLE t_drop;
ALTER TABLE t_ren2 FORCE;  -- table rebuild: #sql-alter file, rename over the original
EOF
}

mixed_ddl2_sql() {
  cat <<EOF
USE fx;
CREATE TABLE t_new2 (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a TEXT, g POINT NOT NULL,
  SPATIAL INDEX (g)) ENGINE=InnoDB ROW_FORMAT=COMPACT;
INSERT INTO t_new2 (a, g) SELECT REPEAT('a', seq % 3000), POINT(seq, seq % 77) FROM seq_1_to_$(n 2000);
ALTER TABLE t_new1 ADD UNIQUE INDEX ua (id, b), ALGORITHM=INPLACE;
ALTER TABLE t_cmp DROP INDEX kc, ADD INDEX kc2 (c(20), k);
RENAME TABLE t_new1 TO t_new1b, t_ren2 TO t_ren3;
TRUNCATE TABLE t_trunc;
DROP TABLE t_ren3;
ALTER TABLE t_new2 ROW_FORMAT=DYNAMIC;  -- rebuild with a different row format
EOF
}

# Background session that holds a big uncommitted transaction (rolled back by crash
# recovery in step d, left in place by force_recovery=3 in step c), plus churn.
mixed_inflight() {
  bg_sql <<'EOF'
USE fx;
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;
BEGIN;
UPDATE t_dyn SET c = REPEAT('I', 900) WHERE id % 20 = 0;
INSERT INTO t_cmp (k, u, c, b) SELECT seq, CONCAT('if-', seq), REPEAT('i', 400),
  IF(seq % 100 = 0, REPEAT('I', 40000), NULL) FROM seq_1_to_3000;
DELETE FROM t_red WHERE id % 11 = 0;
INSERT INTO t_geo (g, tag) SELECT POINT(seq, -seq), 'inflight' FROM seq_1_to_500;
SELECT 'inflight-sleeping', SLEEP(3600);
EOF
  wait_for_query "%SLEEP(3600)%" 120
  bg_sql <<<"USE fx; CALL churn(1000000, 0.002);"
}

# The point of the crash: uncommitted changes that recovery must roll back.
log_open_trx() {
  local trx
  trx=$(sql -e "SELECT COUNT(*), COALESCE(SUM(trx_rows_modified), 0) FROM information_schema.INNODB_TRX
                WHERE trx_rows_modified > 0")
  log "crash at LSN ~$(current_lsn); open transactions with changes / their rows: ${trx//$'\t'/ / }"
}

# Kill -9 once the churn has run for at least $2 seconds and produced at least $1 bytes of
# redo (giving up on the redo target after $3 more seconds).
kill_after_redo() {
  local start t0
  start=$(current_lsn) t0=$SECONDS
  sleep "$2"
  wait_for_lsn $((start + $1)) "$3"
  log "churn ran $((SECONDS - t0))s, $(($(current_lsn) - start)) bytes of redo"
  log_open_trx
  crash_server
  reap_bg
}

wait_for_undo_truncation() {  # wait_for_undo_truncation MARKER TIMEOUT
  local i
  for ((i = 0; i < $2; i++)); do
    (( $(truncations "$1") > 0 )) && return 0
    sleep 1
  done
  log "warning: no undo truncation within $2 s"
}

# ---------------------------------------------------------------- mixed
mixed_schema() { mixed_schema_sql 20000 10000 | sql; }
mixed_before() {
  mixed_ddl1_sql | sql
  mixed_dml_sql 1 t_undo1 | sql
  # Truncation runs in the purge coordinator once the big transaction is purged; give it a
  # chance to happen before the crash so both crash replays see TRIM_PAGES too.
  wait_for_undo_truncation "phase b" 60
}
mixed_inflight_and_kill() { mixed_inflight; kill_after_redo $((10 * 1024 * 1024)) 5 60; }
mixed_after() {
  mixed_ddl2_sql | sql
  mixed_dml_sql 2 t_undo2 | sql
  wait_for_undo_truncation "phase d" 60
}

# ---------------------------------------------------------------- wrap
# Like mixed (same statements, 1000-row tables, SCALE=10, no undo fodder), with an 8M log.
# Step a pushes the LSN so that base's checkpoint lies ~2/3 into the ring; b + d then write
# ~6 MB, which crosses the end of the file but stays below one capacity (both checked at
# the end of this script).
WRAP_ROWS=1000
wrap_schema() {
  mixed_schema_sql $WRAP_ROWS 0 | sql
  local cap=$((LOG_SIZE - 12288)) first lsn off
  first=$(python3 "$REDO_SCAN" info "$DATA/ib_logfile0" | scan_kv FIRST_LSN)
  # Junk DML in a throwaway table until the current position is ~70% into the ring.
  sql -D fx -e "CREATE TABLE t_junk (id INT PRIMARY KEY, c VARCHAR(1000)) ENGINE=InnoDB;
                INSERT INTO t_junk SELECT seq, 'j' FROM seq_1_to_400"
  local round=0
  while :; do
    lsn=$(current_lsn)
    off=$(( (lsn - first) % cap ))
    # Stop inside [66%, 72%]: room for the DROP + slow shutdown purge, and a target that
    # the few MB of steps b+d will certainly carry past the end of the file.
    if ((off * 100 >= cap * 66 && off * 100 <= cap * 72)); then break; fi
    round=$((round + 1))
    ((round < 1000)) || die "could not position the log (offset $off of $cap)"
    # Every round changes the values (an UPDATE to identical values writes no redo):
    # big steps of ~1 MB far from the target, steps of ~50 KB close to it.
    if ((off * 100 < cap * 60)); then
      sql -D fx -e "UPDATE t_junk SET c = REPEAT(CHAR(97 + $round % 26), 900)"
    else
      sql -D fx -e "UPDATE t_junk SET c = REPEAT(CHAR(97 + $round % 26), 400 + $round % 2) WHERE id <= 40"
    fi
  done
  sql -e "DROP TABLE fx.t_junk"
  log "log position before base: offset $((12288 + off)) of $LOG_SIZE (LSN $lsn)"
}
wrap_before() {
  mixed_ddl1_sql | sql
  mixed_dml_sql 1 "" | sql
}
wrap_inflight_and_kill() {
  bg_sql <<'EOF'
USE fx;
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;
BEGIN;
UPDATE t_dyn SET c = REPEAT('I', 900) WHERE id % 20 = 0;
DELETE FROM t_red WHERE id % 11 = 0;
SELECT 'inflight-sleeping', SLEEP(3600);
EOF
  wait_for_query "%SLEEP(3600)%" 120
  bg_sql <<<"USE fx; CALL churn(1000000, 0.01);"
  # Bounded by redo, not time: b + d must stay well below one capacity.
  kill_after_redo $((300 * 1024)) 1 30
}
wrap_after() {
  mixed_ddl2_sql | sql
  sql <<'EOF'
USE fx;
UPDATE t_cmp SET c = REPEAT('A', 300 + id % 500) WHERE id % 3 = 0;
DELETE FROM t_dyn WHERE id % 4 = 1;
INSERT INTO t_geo (g, tag) SELECT POINT(RAND() * 100, RAND() * 100), 'after' FROM seq_1_to_500;
DELETE FROM t_geo WHERE id % 4 = 0;
EOF
}

# ---------------------------------------------------------------- sysbench
SB_ARGS=()
sb_init() {
  SB_ARGS=(--db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root --mysql-db=sbtest
           --tables=4 --table-size=20000)
}
sysbench_schema() {
  sb_init
  sql -e "CREATE DATABASE sbtest"
  sysbench oltp_read_write "${SB_ARGS[@]}" prepare >"$OUT_DIR/sysbench-prepare.log"
  # sysbench creates DYNAMIC tables; cover the other row formats too (rebuilds before base).
  sql -e "ALTER TABLE sbtest.sbtest1 ROW_FORMAT=REDUNDANT; ALTER TABLE sbtest.sbtest2 ROW_FORMAT=COMPACT"
}
sysbench_before() { :; }
sysbench_inflight_and_kill() {
  sb_init
  # sysbench's own transactions are short, so the crash may or may not catch one with
  # changes; this one is guaranteed to be open.  Ids far above --table-size never collide
  # with sysbench's rows (it deletes/inserts ids <= table-size).
  bg_sql <<'EOF'
USE sbtest;
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;
BEGIN;
INSERT INTO sbtest4 (id, k, c, pad) SELECT 1000000 + seq, seq, REPEAT('i', 120), REPEAT('p', 60)
  FROM seq_1_to_2000;
SELECT 'inflight-sleeping', SLEEP(3600);
EOF
  wait_for_query "%SLEEP(3600)%" 120
  local start
  start=$(current_lsn)
  sysbench oltp_read_write "${SB_ARGS[@]}" --threads=2 --time=300 --report-interval=5 \
    run >"$OUT_DIR/sysbench-run-b.log" 2>&1 &
  BG_PIDS+=($!)
  # Bounded by redo as well as time (~1.4 KB of redo per sysbench transaction; a fast
  # machine does several thousand per second) so that b + d fit in the log.
  sleep 5
  wait_for_lsn $((start + 60 * 1024 * 1024)) 20
  log_open_trx
  crash_server
  reap_bg
}
sysbench_after() {
  sb_init
  sysbench oltp_read_write "${SB_ARGS[@]}" --threads=2 --time=30 --events=10000 \
    run >"$OUT_DIR/sysbench-run-d.log"
}

# ---------------------------------------------------------------- unsupported_*
# Tiny fixtures: base has the unsupported table; final adds rows so the log after base's
# checkpoint has page records for it.  A normal table of each row format is there too.
unsupported_table_opts() {
  case $WORKLOAD in
    unsupported_page_compressed) echo "PAGE_COMPRESSED=1" ;;
    unsupported_compressed)      echo "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8" ;;
    unsupported_encrypted)       echo "ENCRYPTED=YES ENCRYPTION_KEY_ID=1" ;;
    unsupported_page_size)       echo "ROW_FORMAT=DYNAMIC" ;;  # the whole instance is 4k
    unsupported_encrypted_log)   echo "ROW_FORMAT=DYNAMIC" ;;  # the redo log is encrypted
  esac
}
unsupported_schema() {
  sql <<EOF
CREATE DATABASE fx;
USE fx;
CREATE TABLE t_odd (id INT NOT NULL PRIMARY KEY, k INT, c VARCHAR(500), KEY kk (k))
  ENGINE=InnoDB $(unsupported_table_opts);
INSERT INTO t_odd SELECT seq, seq % 10, REPEAT('o', seq % 500) FROM seq_1_to_500;
CREATE TABLE t_red (id INT PRIMARY KEY, c VARCHAR(200)) ENGINE=InnoDB ROW_FORMAT=REDUNDANT;
CREATE TABLE t_cmp (id INT PRIMARY KEY, c VARCHAR(200)) ENGINE=InnoDB ROW_FORMAT=COMPACT;
CREATE TABLE t_dyn (id INT PRIMARY KEY, c VARCHAR(200)) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;
INSERT INTO t_red SELECT seq, REPEAT('r', seq % 200) FROM seq_1_to_300;
INSERT INTO t_cmp SELECT seq, REPEAT('c', seq % 200) FROM seq_1_to_300;
INSERT INTO t_dyn SELECT seq, REPEAT('d', seq % 200) FROM seq_1_to_300;
EOF
}
unsupported_after() {
  sql <<'EOF'
USE fx;
INSERT INTO t_odd SELECT 1000 + seq, seq % 10, REPEAT('p', seq % 500) FROM seq_1_to_2000;
UPDATE t_odd SET c = REPEAT('q', 300) WHERE id % 3 = 0;
DELETE FROM t_odd WHERE id % 5 = 0;
INSERT INTO t_dyn SELECT 1000 + seq, 'after' FROM seq_1_to_100;
EOF
}
unsupported_check() {
  # Make sure the server really created what the fixture claims to contain.
  local flags
  flags=$(sql -e "SELECT FLAG FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME='fx/t_odd'")
  case $WORKLOAD in
    unsupported_encrypted)
      [[ $(sql -e "SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION
                  WHERE NAME='fx/t_odd' AND ENCRYPTION_SCHEME=1") == 1 ]] \
        || die "t_odd is not encrypted" ;;
    unsupported_page_size)
      [[ $(sql -e "SELECT @@innodb_page_size") == 4096 ]] || die "page size is not 4k" ;;
    unsupported_encrypted_log)
      [[ $(sql -e "SELECT @@innodb_encrypt_log") == 1 ]] || die "innodb_encrypt_log is not ON" ;;
  esac
  ODD_SPACE_ID=$(sql -e "SELECT SPACE FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME='fx/t_odd'")
  log "t_odd: space $ODD_SPACE_ID, FSP flags (as shown by the server, incl. in-memory bits) $flags"
}

# ================================================================ the sequence
FIXTURE_DIRS=()
: >"$ERR_LOG"

# ---- a. bootstrap, schema, slow shutdown -> base
case $WORKLOAD in
  unsupported_encrypted|unsupported_encrypted_log)
    # file_key_management ships with Debian's mariadb-server (plugin dir); key 1 is the
    # default key id, a second key makes it look like a real key file.
    printf '1;%s\n2;%s\n' "$(printf 'a1%.0s' {1..32})" "$(printf 'b2%.0s' {1..32})" \
      >"$OUT_DIR/keys.txt"
    EXTRA_SERVER_OPTS=(--plugin-load-add=file_key_management
                       --file-key-management-filename="$OUT_DIR/keys.txt")
    # The log is encrypted from the bootstrap on (which gets these options too): a start
    # with a different innodb_encrypt_log would rebuild ib_logfile0.
    [[ $WORKLOAD == unsupported_encrypted_log ]] && EXTRA_SERVER_OPTS+=(--innodb-encrypt-log=ON)
    ;;
esac

log "a. bootstrap ($(mariadbd --version | awk '{print $3}'), log $LOG_SIZE bytes, $UNDO_TABLESPACES undo tablespaces, page size $PAGE_SIZE)"
err_marker "phase a (bootstrap)"
T0=$SECONDS
# mariadb-install-db passes unknown options to the bootstrap mariadbd: the undo tablespaces,
# the page size and the log file are created here and must match every later start.
mariadb-install-db --no-defaults --user=root --datadir="$DATA" \
  --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
  --log-error="$ERR_LOG" "${INNODB_OPTS[@]}" "${EXTRA_SERVER_OPTS[@]}" >"$OUT_DIR/install-db.log" 2>&1 \
  || die "mariadb-install-db failed, see $OUT_DIR/install-db.log"
start_server "$DATA"
case $WORKLOAD in
  mixed)    mixed_schema ;;
  wrap)     wrap_schema ;;
  sysbench) sysbench_schema ;;
  unsupported_*) unsupported_schema; unsupported_check ;;
esac
stop_server
snapshot "$DATA" base
FIXTURE_DIRS+=(base)
log "a. done in $((SECONDS - T0))s"

if [[ $WORKLOAD != unsupported_* ]]; then
  # ---- b. restart, workload, kill -9 -> crashed
  T0=$SECONDS
  err_marker "phase b"
  start_server "$DATA"
  log "b. workload"
  "${WORKLOAD}_before"
  log "b. in-flight load, then kill -9"
  "${WORKLOAD}_inflight_and_kill"
  snapshot "$DATA" crashed
  FIXTURE_DIRS+=(crashed)
  log "b. done in $((SECONDS - T0))s"

  # ---- c. MariaDB's own view at the crash LSN: redo applied, nothing rolled back, no purge
  T0=$SECONDS
  err_marker "phase c"
  cp -a --sparse=always "$OUT_DIR/crashed" "$OUT_DIR/crash_recovered.tmp"
  start_server "$OUT_DIR/crash_recovered.tmp" --innodb-force-recovery=3 --innodb-fast-shutdown=1
  stop_server
  mv "$OUT_DIR/crash_recovered.tmp" "$OUT_DIR/crash_recovered"
  FIXTURE_DIRS+=(crash_recovered)
  log "c. done in $((SECONDS - T0))s"
fi

# ---- d. normal restart (crash recovery + rollback), more workload, slow shutdown -> final
T0=$SECONDS
err_marker "phase d"
start_server "$DATA"
case $WORKLOAD in
  unsupported_*) unsupported_after ;;
  *) "${WORKLOAD}_after" ;;
esac
stop_server
snapshot "$DATA" final
FIXTURE_DIRS+=(final)
log "d. done in $((SECONDS - T0))s"

# ================================================================ checks + fixture.env
# Everything below reads only the copies, through redo_scan.py (independent of pagectl).
scan() { python3 "$REDO_SCAN" "$@"; }
count_of() {  # count_of KIND-PREFIX < scan --pages output: sum of matching record counts
  sed -n 's/^RECORD_COUNTS=//p' | tr ',' '\n' | awk -F: -v k="$1" 'index($1, k) == 1 {n += $2} END {print n + 0}'
}
env_lines=()
add_env() { env_lines+=("$(printf '%s=%q' "$1" "$2")"); }
write_fixture_env() {  # the last step: fixture.env marks a finished fixture
  # The scratch datadir is not part of the fixture.
  rm -rf "$DATA"
  {
    echo "# Generated by test/integration/make_fixture.sh on $(date -u +%FT%TZ); sourced by replay_test.sh"
    printf '%s\n' "${env_lines[@]}"
  } >"$OUT_DIR/fixture.env.tmp"
  mv "$OUT_DIR/fixture.env.tmp" "$OUT_DIR/fixture.env"
  log "fixture ready in $OUT_DIR ($(du -sh "$OUT_DIR" | cut -f1))"
}
add_env WORKLOAD "$WORKLOAD"
add_env LOG_SIZE "$LOG_SIZE"
add_env UNDO_TABLESPACES "$UNDO_TABLESPACES"
add_env PAGE_SIZE "$PAGE_SIZE"
add_env FIXTURE_DIRS "${FIXTURE_DIRS[*]}"
add_env MARIADB_VERSION "$(mariadbd --version | awk '{print $3}')"

if [[ $WORKLOAD == unsupported_encrypted_log ]]; then
  # redo_scan.py frames plain mtrs only: in an encrypted log the record payloads are
  # encrypted and every mtr carries an 8-byte nonce before its checksum, so it refuses to
  # scan one and none of the checks below can be made.  Header (format 0xf09f979d since
  # 10.11.15) and checkpoints are plain ("info"): check that both logs are encrypted (bytes
  # 48..51 non-zero), are the same file, and that final's checkpoint is past base's.
  BASE_INFO=$(scan info "$OUT_DIR/base/ib_logfile0")
  FINAL_INFO=$(scan info "$OUT_DIR/final/ib_logfile0")
  [[ $(scan_kv ENCRYPTED <<<"$BASE_INFO") == 1 ]] || die "base/ib_logfile0 is not encrypted"
  [[ $(scan_kv ENCRYPTED <<<"$FINAL_INFO") == 1 ]] || die "final/ib_logfile0 is not encrypted"
  [[ $(scan_kv FIRST_LSN <<<"$FINAL_INFO") == "$(scan_kv FIRST_LSN <<<"$BASE_INFO")" ]] \
    || die "ib_logfile0 was re-created since base"
  BASE_CKPT=$(scan_kv CHECKPOINT_LSN <<<"$BASE_INFO")
  FINAL_CKPT=$(scan_kv CHECKPOINT_LSN <<<"$FINAL_INFO")
  ((FINAL_CKPT > BASE_CKPT)) || die "final's checkpoint $FINAL_CKPT is not after base's $BASE_CKPT"
  log "encrypted log: base checkpoint $BASE_CKPT, final checkpoint $FINAL_CKPT"
  add_env LOG_CAPACITY "$(scan_kv CAPACITY <<<"$BASE_INFO")"
  add_env LOG_FIRST_LSN "$(scan_kv FIRST_LSN <<<"$BASE_INFO")"
  add_env BASE_CHECKPOINT_LSN "$BASE_CKPT"
  add_env FINAL_CHECKPOINT_LSN "$FINAL_CKPT"
  add_env ODD_TABLE_SPACE_ID "$ODD_SPACE_ID"
  write_fixture_env
  exit 0
fi

BASE_SCAN=$(scan scan "$OUT_DIR/base/ib_logfile0")
CAPACITY=$(scan_kv CAPACITY <<<"$BASE_SCAN")
FIRST_LSN=$(scan_kv FIRST_LSN <<<"$BASE_SCAN")
BASE_CKPT=$(scan_kv CHECKPOINT_LSN <<<"$BASE_SCAN")
# base is a clean (slow) shutdown copy: its log ends with one FILE_CHECKPOINT mtr.
[[ $(scan_kv BYTES <<<"$BASE_SCAN") == 16 ]] || die "base log does not end right after a shutdown checkpoint"

FINAL_SCAN=$(scan scan "$OUT_DIR/final/ib_logfile0")
FINAL_END=$(scan_kv END_LSN <<<"$FINAL_SCAN")
[[ $(scan_kv BYTES <<<"$FINAL_SCAN") == 16 ]] || die "final log does not end right after a shutdown checkpoint"
# The log file must never have been re-created (that would drop the log since base).
[[ $(scan_kv FIRST_LSN <<<"$FINAL_SCAN") == "$FIRST_LSN" ]] || die "ib_logfile0 was re-created since base"
# Everything from base's checkpoint to the end of final must still be in the ring...
REDO_AFTER_BASE=$((FINAL_END - BASE_CKPT))
((REDO_AFTER_BASE < CAPACITY)) \
  || die "redo since base ($REDO_AFTER_BASE) >= capacity ($CAPACITY): the log needed for replay was overwritten; use a bigger --log-size"
# ...and readable as one unbroken chain of mtrs.
FINAL_FROM_BASE=$(scan scan "$OUT_DIR/final/ib_logfile0" --from "$BASE_CKPT" --pages)
[[ $(scan_kv END_LSN <<<"$FINAL_FROM_BASE") == "$FINAL_END" ]] \
  || die "final log is not continuous from base's checkpoint (stops at $(scan_kv END_LSN <<<"$FINAL_FROM_BASE"))"
offset_of() { echo $((12288 + ($1 - FIRST_LSN) % CAPACITY)); }
pass_of() { echo $((($1 - FIRST_LSN) / CAPACITY)); }
LOG_WRAPPED=0
if [[ $(pass_of "$FINAL_END") != "$(pass_of "$BASE_CKPT")" ]]; then LOG_WRAPPED=1; fi
log "redo after base: $REDO_AFTER_BASE bytes in $(scan_kv MTRS <<<"$FINAL_FROM_BASE") mtrs (capacity $CAPACITY); base checkpoint at offset $(offset_of "$BASE_CKPT") pass $(pass_of "$BASE_CKPT"), final end at offset $(offset_of "$FINAL_END") pass $(pass_of "$FINAL_END")"
log "records after base: $(scan_kv RECORD_COUNTS <<<"$FINAL_FROM_BASE")"
if [[ $WORKLOAD == wrap ]]; then
  if ! ((LOG_WRAPPED && $(offset_of "$FINAL_END") < $(offset_of "$BASE_CKPT"))); then
    die "wrap fixture did not wrap: base checkpoint offset $(offset_of "$BASE_CKPT"), final end offset $(offset_of "$FINAL_END")"
  fi
  # Usually one mtr is split by the end of the file (its bytes continue at offset 12288).
  log "mtrs split by the end of the file start at LSN: $(scan_kv SPLIT_MTRS <<<"$FINAL_FROM_BASE")"
fi
TRIMS_AFTER_BASE=$(count_of TRIM_PAGES <<<"$FINAL_FROM_BASE")

add_env LOG_CAPACITY "$CAPACITY"
add_env LOG_FIRST_LSN "$FIRST_LSN"
add_env BASE_CHECKPOINT_LSN "$BASE_CKPT"
add_env FINAL_END_LSN "$FINAL_END"
add_env REDO_BYTES_AFTER_BASE "$REDO_AFTER_BASE"
add_env LOG_WRAPPED "$LOG_WRAPPED"
add_env RECORDS_AFTER_BASE "$(scan_kv RECORD_COUNTS <<<"$FINAL_FROM_BASE")"
add_env UNDO_TRUNCATIONS_AFTER_BASE "$TRIMS_AFTER_BASE"
add_env SPLIT_MTR_LSNS "$(scan_kv SPLIT_MTRS <<<"$FINAL_FROM_BASE")"

if [[ -d $OUT_DIR/crashed ]]; then
  CRASH_SCAN=$(scan scan "$OUT_DIR/crashed/ib_logfile0" --from "$BASE_CKPT" --pages)
  CRASH_END=$(scan_kv END_LSN <<<"$CRASH_SCAN")
  CRASH_CKPT=$(scan_kv CHECKPOINT_LSN <<<"$CRASH_SCAN")
  ((CRASH_END > BASE_CKPT && CRASH_END < FINAL_END)) || die "crash LSN $CRASH_END outside (base, final)"
  # Reading from the crashed log's own checkpoint must find the same end.
  [[ $(scan scan "$OUT_DIR/crashed/ib_logfile0" | scan_kv END_LSN) == "$CRASH_END" ]] \
    || die "crashed log: end of log differs depending on the start point"
  # Recovery in step d must have continued the log exactly at the crash LSN, so that
  # "final log up to the crash LSN" and "crashed log" are the same mtrs.
  scan same "$OUT_DIR/crashed/ib_logfile0" "$OUT_DIR/final/ib_logfile0" "$BASE_CKPT" "$CRASH_END" >/dev/null \
    || die "final log differs from crashed log before the crash LSN"
  TRIMS_BEFORE_CRASH=$(count_of TRIM_PAGES <<<"$CRASH_SCAN")
  RECOVERED_CKPT=$(scan info "$OUT_DIR/crash_recovered/ib_logfile0" | scan_kv CHECKPOINT_LSN)
  # What did MariaDB write between the crash LSN and its shutdown in step c?  Only
  # checkpoint bookkeeping (FILE_MODIFY/FILE_CHECKPOINT) keeps crash_recovered comparable
  # with a replay that stops at the crash LSN.
  EXTRA=$(scan scan "$OUT_DIR/crash_recovered/ib_logfile0" --from "$CRASH_END" --pages)
  EXTRA_PAGES=$(scan_kv PAGES <<<"$EXTRA")
  log "crash: checkpoint $CRASH_CKPT, end $CRASH_END ($((CRASH_END - BASE_CKPT)) bytes after base, $TRIMS_BEFORE_CRASH TRIM_PAGES); crash_recovered checkpoint $RECOVERED_CKPT; records written by step c: $(scan_kv RECORD_COUNTS <<<"$EXTRA") on $EXTRA_PAGES pages"
  if ((EXTRA_PAGES != 0)); then
    log "warning: step c modified pages after the crash LSN:"
    grep '^PAGE=' <<<"$EXTRA" | head -20 >&2
  fi
  add_env CRASH_CHECKPOINT_LSN "$CRASH_CKPT"
  add_env CRASH_END_LSN "$CRASH_END"
  add_env CRASH_RECOVERED_CHECKPOINT_LSN "$RECOVERED_CKPT"
  add_env CRASH_RECOVERY_EXTRA_PAGES "$EXTRA_PAGES"
  add_env UNDO_TRUNCATIONS_BEFORE_CRASH "$TRIMS_BEFORE_CRASH"
fi

log "undo truncations (TRIM_PAGES records) after base: $TRIMS_AFTER_BASE"
if [[ $WORKLOAD == mixed ]] && ((TRIMS_AFTER_BASE == 0)); then
  die "mixed workload did not truncate any undo tablespace"
fi
if [[ $WORKLOAD == unsupported_* ]]; then
  # The point of these fixtures: page records for the unsupported tablespace after base.
  n=$(grep -c "^PAGE=$ODD_SPACE_ID:" <<<"$FINAL_FROM_BASE" || true)
  ((n > 0)) || die "no page records for t_odd (space $ODD_SPACE_ID) after base"
  log "t_odd (space $ODD_SPACE_ID): $n pages modified after base"
  add_env ODD_TABLE_SPACE_ID "$ODD_SPACE_ID"
fi

write_fixture_env
