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
# With CRASH_REMOTE=1 (issue 10) the server runs on a file:// bucket, so the kills also land in
# its uploads; on the checked cycles it is killed again once remote_consistent_lsn has reached
# what it serves, its data directory is deleted, and the pages are checked on a server restored
# from the bucket alone, which carries on as the server for the next cycles. With CRASH_GC=1 the
# server also writes full image sets and garbage-collects (a 40 MB PITR window) as it goes, so
# kills land in compaction and GC too; the acknowledged LSN stays inside the window.
# Environment: as server_test.sh; TEST_SEED seeds the kill points and chunk sizes;
# ACK_WAIT_LIMIT (300 s) bounds the wait for push's acknowledgements before a kill.
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

REMOTE=()
bucket=0
[[ ${CRASH_REMOTE:-0} != 1 ]] || REMOTE=(--remote "file://$WORK/bucket.$bucket")
GC=()
[[ ${CRASH_GC:-0} != 1 ]] || GC=(--pitr-window-bytes 40000000 --image-creation-delta-bytes 24000000
  --in-memory-layer-bytes 6000000 --compaction-threshold 3 --compaction-target-bytes 8000000)
# restore_from_bucket NAME: kill -9 once the bucket holds what the server serves, delete the data
# directory, start a server restored from the bucket alone.
restore_from_bucket() {
  local serving uploaded
  serving=$(status_field last_record_lsn)
  # The event: the server says everything it stored is in the bucket.
  if ! uploaded=$(api_curl -sf --max-time 700 "$HTTP_SCHEME://$HTTP/api/v1/wait_uploaded?timeout_ms=600000"); then
    log "$1: the uploads did not complete: $(api_curl -s "$HTTP_SCHEME://$HTTP/api/v1/wait_uploaded?timeout_ms=0")"
    return 1
  fi
  uploaded=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['remote_consistent_lsn'])" "$uploaded")
  ((uploaded >= serving)) || { log "$1: remote_consistent_lsn $uploaded is below $serving"; return 1; }
  kill_server
  rm -rf "$DATA_DIR"
  start_server "$1" "${REMOTE[@]}" "${GC[@]}"
  log "$1: $(grep -h 'pageserver: restored' "$WORK/server.$1.log" | tr '\n' ' ')"
}

start_server first "${REMOTE[@]}" "${GC[@]}"
run_pagectl import import --server "$GRPC" --datadir "$FIXTURE/base" ||
  { cat "$WORK/import.err" >&2; exit 1; }

# Seconds a push may take to print the acknowledgements a kill waits for (a loaded machine).
ACK_WAIT_LIMIT=${ACK_WAIT_LIMIT:-300}
ack_count() {  # "acked" lines in FILE so far (0 before push has created it)
  local n
  n=$(grep -c '^acked ' "$1" 2>/dev/null) || true
  echo "${n:-0}"
}
# wait_for_acks FILE N PID LIMIT: until FILE holds N "acked" lines, or PID has exited (a push
# that reached the end of the log); fails only when LIMIT seconds pass first.
wait_for_acks() {
  local deadline=$((SECONDS + $4))
  while (($(ack_count "$1") < $2)); do
    kill -0 "$3" 2>/dev/null || return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.02
  done
}

failures=0
in_flight=0  # kills that hit the server while push was still streaming
last_acked=$BASE_CHECKPOINT_LSN
checked=0
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  # Small batches so that acknowledgements come often; random chunk sizes split records.
  "$PAGECTL" push --server "$GRPC" --log "$LOG" --seed "$((SEED + cycle))" --max-chunk 32768 \
    --batch-bytes 262144 >"$WORK/push.$cycle.out" 2>"$WORK/push.$cycle.err" &
  push_pid=$!
  # Kill after push has printed `want` acknowledgements, not after a fixed delay: on a loaded
  # machine a delay can run out before push has even connected, and the cycle tests nothing.
  # Half the kills come within a few batches of the restart, the rest up to 32 MB later (the
  # cycles walk through the whole log, ~8 MB a cycle). Push sends its next batch as soon as an
  # acknowledgement arrives, so the kill lands inside an ingest; the polling adds jitter.
  if ((RANDOM % 2)); then want=$((1 + RANDOM % 4)); else want=$((1 + RANDOM % 128)); fi
  if ! wait_for_acks "$WORK/push.$cycle.out" "$want" "$push_pid" "$ACK_WAIT_LIMIT"; then
    log "cycle $cycle: push printed $(ack_count "$WORK/push.$cycle.out") of $want" \
      "acknowledgements in ${ACK_WAIT_LIMIT}s: $(tail -2 "$WORK/push.$cycle.err")"
    failures=$((failures + 1))
  fi
  if kill -0 "$push_pid" 2>/dev/null; then
    in_flight=$((in_flight + 1))
    kill_server
    wait "$push_pid" 2>/dev/null || true  # fails: its server is gone
  else
    # Push ended before the kill: it reached the end of the log, or it failed.
    push_rc=0
    wait "$push_pid" 2>/dev/null || push_rc=$?
    if ((push_rc != 0)); then
      log "cycle $cycle: push failed before the kill (exit $push_rc):" \
        "$(tail -2 "$WORK/push.$cycle.err")"
      failures=$((failures + 1))
    fi
    kill_server
  fi
  acked=$(awk '$1 == "acked" { v = $2 } END { print v }' "$WORK/push.$cycle.out")
  [[ -n $acked ]] && ((acked > last_acked)) && last_acked=$acked
  start_server "cycle$cycle" "${REMOTE[@]}" "${GC[@]}"
  check=0
  ((last_acked > BASE_CHECKPOINT_LSN && (cycle % 5 == 0 || cycle == 1) && last_acked != checked)) && check=1
  if ((check)) && ((${#REMOTE[@]})) && ! restore_from_bucket "restored$cycle"; then
    failures=$((failures + 1))
    continue
  fi
  served=$(status_field last_record_lsn)
  if ((served < last_acked)); then
    log "cycle $cycle: LOST acknowledged redo: acknowledged up to $last_acked, served up to $served"
    failures=$((failures + 1))
    continue
  fi
  # Check the pages at the acknowledged LSN on a few cycles (each check replays the log).
  if ((check)); then
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
    if ((${#REMOTE[@]})); then  # a new database: a new bucket
      bucket=$((bucket + 1))
      REMOTE=(--remote "file://$WORK/bucket.$bucket")
    fi
    start_server "fresh$cycle" "${REMOTE[@]}" "${GC[@]}"
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

# The background work the push started (compaction, image sets, GC) done first: the event.
if run_pagectl push.final push --server "$GRPC" --log "$LOG" &&
   api_curl -sf --max-time 600 -X PUT -d '' "$HTTP_SCHEME://$HTTP/api/v1/checkpoint" >/dev/null &&
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
