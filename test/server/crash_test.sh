#!/usr/bin/env bash
# crash_test.sh FIXTURE_DIR [CYCLES]
#
# Kills the page server with SIGKILL at random moments while `pagectl push` streams a real
# MariaDB log into it, CYCLES times (default 20; CRASH_CYCLES overrides, for a longer soak).
# After every restart:
#   - last_record_lsn >= the last LSN push saw acknowledged (nothing acknowledged is lost);
#   - every page at that acknowledged LSN equals a datadir replayed independently to the same LSN
#     with `pagectl replay --to-lsn` (what is served is exact, nothing half-written shows).
# Then the push is completed and the final pages are checked against MariaDB's final/.
# Environment: as server_test.sh; TEST_SEED seeds kill delays and chunk sizes.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
# shellcheck source=test/server/server_lib.sh
source "$SCRIPT_DIR/server_lib.sh"

(($# >= 1)) || { sed -n '2,3p' "$0" >&2; exit 2; }
load_fixture "$1"
CYCLES=${CRASH_CYCLES:-${2:-20}}
SEED=${TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$((SEED % 32768))
log "fixture $FIXTURE, $CYCLES kill cycles, TEST_SEED=$SEED, work dir $WORK"
LOG=$FIXTURE/final/ib_logfile0

start_server first
run_pagectl import import --server "$GRPC" --datadir "$FIXTURE/base" ||
  { cat "$WORK/import.err" >&2; exit 1; }

failures=0
in_flight=0  # kills that hit the server while push was still streaming
last_acked=$BASE_CHECKPOINT_LSN
checked=0
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  # Small batches so that acknowledgements come often; random chunk sizes split records.
  "$PAGECTL" push --server "$GRPC" --log "$LOG" --seed "$((SEED + cycle))" --max-chunk 32768 \
    --batch-bytes 262144 >"$WORK/push.$cycle.out" 2>"$WORK/push.$cycle.err" &
  push_pid=$!
  sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
  kill -0 "$push_pid" 2>/dev/null && in_flight=$((in_flight + 1))
  kill_server
  wait "$push_pid" 2>/dev/null || true
  acked=$(awk '$1 == "acked" { v = $2 } END { print v }' "$WORK/push.$cycle.out")
  [[ -n $acked ]] && ((acked > last_acked)) && last_acked=$acked
  start_server "cycle$cycle"
  served=$(status_field last_record_lsn)
  if ((served < last_acked)); then
    log "cycle $cycle: LOST acknowledged redo: acknowledged up to $last_acked, served up to $served"
    failures=$((failures + 1))
    continue
  fi
  # Check the pages at the acknowledged LSN on a few cycles (each check replays the log).
  if ((last_acked > BASE_CHECKPOINT_LSN && (cycle % 5 == 0 || cycle == 1) && last_acked != checked)); then
    ref=$WORK/ref
    rm -rf "$ref"
    if ! run_pagectl "replay.$cycle" replay --base "$FIXTURE/base" --log "$LOG" \
        --to-lsn "$last_acked" --out "$ref"; then
      log "cycle $cycle: reference replay failed: $(tail -2 "$WORK/replay.$cycle.err")"
      failures=$((failures + 1))
    elif ! run_pagectl "verify.$cycle" verify --server "$GRPC" --datadir "$ref" --lsn "$last_acked"; then
      log "cycle $cycle: pages at acknowledged LSN $last_acked differ: $(tail -3 "$WORK/verify.$cycle.out")"
      failures=$((failures + 1))
    else
      log "cycle $cycle: at LSN $last_acked: $(tail -1 "$WORK/verify.$cycle.out")"
      checked=$last_acked
    fi
  fi
  log "cycle $cycle: acknowledged $last_acked, served $served after kill -9"
  if ((served == FINAL_END_LSN && cycle < CYCLES)); then
    # The whole log is in: start over on an empty data directory so the next kills again land
    # in the middle of ingest.
    stop_server || true
    rm -rf "$DATA_DIR"
    start_server "fresh$cycle"
    run_pagectl "import.$cycle" import --server "$GRPC" --datadir "$FIXTURE/base" ||
      { cat "$WORK/import.$cycle.err" >&2; exit 1; }
    last_acked=$BASE_CHECKPOINT_LSN
    checked=0
  fi
done
log "$in_flight of $CYCLES kills hit the server while push was streaming"
if ((in_flight < CYCLES / 2)); then
  log "too few kills during ingest to count as a crash test"
  failures=$((failures + 1))
fi

if run_pagectl push.final push --server "$GRPC" --log "$LOG" &&
   [[ $(status_field last_record_lsn) == "$FINAL_END_LSN" ]] &&
   run_pagectl verify.final verify --server "$GRPC" --datadir "$FIXTURE/final" --lsn "$FINAL_END_LSN"; then
  log "final: $(tail -1 "$WORK/verify.final.out")"
else
  log "final push or check failed: $(tail -3 "$WORK/push.final.err" "$WORK/verify.final.out" 2>/dev/null)"
  failures=$((failures + 1))
fi
stop_server || true
if ((failures)); then
  log "FAILED: $failures problem(s); work dir kept: $WORK (TEST_SEED=$SEED)"
  exit 1
fi
log "PASS: $CYCLES kill -9 cycles, nothing acknowledged lost, pages exact"
[[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"
exit 0
