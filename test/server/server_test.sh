#!/usr/bin/env bash
# server_test.sh FIXTURE_DIR [CASE...]
#
# The page server against MariaDB, on a fixture made by test/integration/make_fixture.sh: a real
# `pageserver` process, fed through `pagectl import` and `pagectl push`, read through gRPC and
# HTTP with `pagectl verify`, compared byte for byte with the datadirs MariaDB wrote.
# Always: the import of base/ is verified (every page and every aux file at the base LSN).
# Cases (all by default, or the ones named, in this order):
#   serve       import base/; push final/ib_logfile0 in seeded random chunk sizes; every page at
#               the crash LSN == crash_recovered/ (gRPC), at the end == final/ (gRPC and HTTP)
#   restart     SIGTERM (exit 0), start again, the same pages at both LSNs
#   branch      (issue 11) `pagectl branch create` at the crash LSN, at the end, and a branch of
#               the crash branch: every page of each (`pagectl verify --timeline`) == MariaDB's
#               there, before and after a restart; a branch above the last LSN and one of an
#               unknown timeline are refused with nothing made; a cascade delete
#   restore     (issue 10) a second server with --remote $REMOTE_URL (default file://WORK/bucket):
#               import, push, wait until remote_consistent_lsn reaches the end; kill -9, delete
#               its data directory, start a new one on the bucket alone: every page at the crash
#               LSN and at the end, and every aux file at the base, as above; with
#               RESTORE_DISK_BUDGET=N the restored server keeps its local layers within N bytes
#   gc          (issue 10) a third server with a PITR window just wider than crash..end, layers
#               every 1/16 and full image sets every 1/5 of the fixture's redo: after the push the GC cutoff is past the
#               base and at or below the crash LSN, the pages at the crash LSN and at the end are
#               still MariaDB's, a read below the cutoff is refused naming it; prints the
#               storage amplification (layer bytes over final/'s size)
#   bad_input   a table of bad requests over HTTP (gap, differing overlap, corrupt bytes,
#               malformed JSON, bad base64, unknown space, page past the end, LSN below the base,
#               LSN never reached): each a 4xx/5xx with a JSON error naming what and where, and
#               the server's status and a page read unchanged afterwards
# Environment: PAGESERVER, PAGECTL (default <repo>/build/bin/...), TEST_SEED (chunking seed;
# random and printed when unset), SERVER_WORK_DIR (scratch; default mktemp -d), KEEP_WORK=1.
# Exit status: 0 passed, 1 a case failed, 2 usage/fixture error, 77 skipped.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
# shellcheck source=test/server/server_lib.sh
source "$SCRIPT_DIR/server_lib.sh"

if (($# < 1)); then
  sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
load_fixture "$1"
shift
ONLY=("$@")
wanted() {
  ((${#ONLY[@]} == 0)) && return 0
  local c
  for c in "${ONLY[@]}"; do [[ $c == "$1" ]] && return 0; done
  return 1
}
SEED=${TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
log "fixture $FIXTURE, work dir $WORK, TEST_SEED=$SEED"

PASSED=() FAILED=()
pass() { PASSED+=("$1"); log "PASS $1"; }
fail() { FAILED+=("$1"); log "FAIL $1: $2"; }

# verify CASE DATADIR LSN [extra pagectl verify args]
verify() {
  local case=$1 dir=$2 lsn=$3; shift 3
  if run_pagectl "$case" verify --server "$GRPC" --datadir "$FIXTURE/$dir" --lsn "$lsn" "$@"; then
    log "$case: $(tail -1 "$WORK/$case.out")"
    return 0
  fi
  cat "$WORK/$case.err" >&2
  return 1
}

# import_and_push CASE: the fixture's base, then its whole log, into the server; prints why not.
import_and_push() {
  if ! run_pagectl "$1.import" import --server "$GRPC" --datadir "$FIXTURE/base"; then
    echo "import failed: $(tail -3 "$WORK/$1.import.err")"
  elif ! run_pagectl "$1.push" push --server "$GRPC" --log "$FIXTURE/final/ib_logfile0" \
      --seed "$SEED" --max-chunk 65536 --batch-bytes 1048576; then
    echo "push failed: $(tail -3 "$WORK/$1.push.err")"
  else
    return 0
  fi
  return 1
}

# verify_history CASE: the server holds the whole log, and its pages at the crash LSN and at the
# end are MariaDB's; prints what differs otherwise.
verify_history() {
  local case=$1
  if [[ $(status_field last_record_lsn) != "$FINAL_END_LSN" ]]; then
    echo "last_record_lsn is $(status_field last_record_lsn), expected $FINAL_END_LSN"
  elif ! verify "$case.crash" crash_recovered "$CRASH_END_LSN"; then
    echo "pages at the crash LSN $CRASH_END_LSN differ from crash_recovered/"
  elif ! verify "$case.final" final "$FINAL_END_LSN"; then
    echo "pages at LSN $FINAL_END_LSN differ from final/ (gRPC)"
  else
    return 0
  fi
  return 1
}

start_server main
if ! run_pagectl import import --server "$GRPC" --datadir "$FIXTURE/base"; then
  cat "$WORK/import.err" >&2
  log "import failed"
  exit 1
fi
# The base as imported: every page and every aux file (.frm, db.opt, Aria tables, ...) of base/.
if verify import.base base "$(status_field base_lsn)" --aux; then
  pass import
else
  fail import "the base's pages or aux files differ from base/ right after import"
fi

if wanted serve; then
  if ! run_pagectl push push --server "$GRPC" --log "$FIXTURE/final/ib_logfile0" \
      --seed "$SEED" --max-chunk 65536 --batch-bytes 1048576; then
    fail serve "push failed: $(tail -3 "$WORK/push.err")"
  elif ! why=$(verify_history serve); then
    fail serve "$why"
  elif ! verify serve.final_http final "$FINAL_END_LSN" --http-server "$HTTP"; then
    fail serve "pages at LSN $FINAL_END_LSN differ from final/ (HTTP)"
  else
    pass serve
  fi
fi

if wanted restart; then
  if ! stop_server; then
    fail restart "the server did not exit 0 on SIGTERM"
  else
    start_server restarted
    if ! why=$(verify_history restart); then
      fail restart "after the restart, $why"
    else
      pass restart
    fi
  fi
fi

if wanted branch; then
  branches() { "$PAGECTL" branch list --server "$HTTP" | awk '{print $1}' | paste -sd' '; }
  verify_branches() {
    if ! verify "branch.$1.crash" crash_recovered "$CRASH_END_LSN" --timeline atcrash; then
      echo "the pages of the branch at the crash LSN differ from crash_recovered/"
    elif ! verify "branch.$1.nested" crash_recovered "$CRASH_END_LSN" --timeline nested; then
      echo "the pages of the branch of the crash branch differ from crash_recovered/"
    elif ! verify "branch.$1.final" final "$FINAL_END_LSN" --timeline atend; then
      echo "the pages of the branch at the end differ from final/"
    else
      return 0
    fi
    return 1
  }
  if ! run_pagectl branch.create branch create --server "$HTTP" --name atcrash \
      --lsn "$CRASH_END_LSN" ||
      ! run_pagectl branch.create branch create --server "$HTTP" --name atend ||
      ! run_pagectl branch.create branch create --server "$HTTP" --name nested --from atcrash; then
    fail branch "pagectl branch create failed: $(tail -2 "$WORK/branch.create.err")"
  elif run_pagectl branch.above branch create --server "$HTTP" --name above \
      --lsn "$((FINAL_END_LSN + 1))"; then
    fail branch "a branch above the last LSN was made"
  elif ! grep -q "above the timeline's last LSN" "$WORK/branch.above.err"; then
    fail branch "a branch above the last LSN failed without saying why: $(cat "$WORK/branch.above.err")"
  elif run_pagectl branch.unknown branch create --server "$HTTP" --name x --from nowhere; then
    fail branch "a branch of an unknown timeline was made"
  elif [[ $(branches) != "main atcrash nested atend" ]]; then
    fail branch "the timelines listed are \"$(branches)\", not main atcrash nested atend"
  elif ! why=$(verify_branches live); then
    fail branch "$why"
  elif ! stop_server; then
    fail branch "the server did not exit 0 on SIGTERM"
  else
    start_server branched
    if ! why=$(verify_branches restarted); then
      fail branch "after a restart, $why"
    elif ! run_pagectl branch.delete branch delete --server "$HTTP" --name atcrash --cascade; then
      fail branch "the cascade delete failed: $(tail -2 "$WORK/branch.delete.err")"
    elif [[ $(branches) != "main atend" || -e $DATA_DIR/timelines/nested ]]; then
      fail branch "after the cascade delete: \"$(branches)\""
    else
      pass branch
    fi
  fi
fi

if wanted bad_input; then
  # shellcheck source=test/server/bad_input_cases.sh
  source "$SCRIPT_DIR/bad_input_cases.sh"
  if run_bad_input_cases; then pass bad_input; else fail bad_input "see above"; fi
fi

stop_server || true

if wanted restore; then
  REMOTE_URL=${REMOTE_URL:-file://$WORK/bucket}
  DATA_DIR=$WORK/data.uploading
  start_server restore.uploading --remote "$REMOTE_URL"
  if ! why=$(import_and_push restore); then
    fail restore "$why"
  else
    # The event: the server says everything it stored is in the bucket.
    api_curl -sf --max-time 700 "$HTTP_SCHEME://$HTTP/api/v1/wait_uploaded?timeout_ms=600000" >/dev/null ||
      log "restore: the uploads did not complete in 600 s"
    uploaded=$(status_field remote_consistent_lsn)
    base_lsn=$(status_field base_lsn)
    kill_server
    rm -rf "$DATA_DIR"
    DATA_DIR=$WORK/data.restored
    if ((uploaded < FINAL_END_LSN)); then
      fail restore "remote_consistent_lsn $uploaded never reached $FINAL_END_LSN"
    else
      budget=()
      [[ -z ${RESTORE_DISK_BUDGET:-} ]] || budget=(--local-disk-budget-bytes "$RESTORE_DISK_BUDGET")
      start_server restore.restored --remote "$REMOTE_URL" "${budget[@]}"
      log "restore: $(grep -h 'pageserver: restored' "$WORK/server.restore.restored.log" | tr '\n' ' ')"
      if ! why=$(verify_history restore); then
        fail restore "after the restore, $why"
      elif ! verify restore.base base "$base_lsn" --aux; then
        fail restore "restored pages or aux files at the base differ from base/"
      elif log "restore: $(api_curl -sf "$HTTP_SCHEME://$HTTP/api/v1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(", ".join(f"{k} {s[k]}" for k in ("layer_bytes","local_layer_bytes","layer_downloads","layer_evictions","layer_remote_reads")))')"
        [[ -n ${RESTORE_DISK_BUDGET:-} ]] &&
          (($(status_field local_layer_bytes) > RESTORE_DISK_BUDGET)); then
        fail restore "local layers hold $(status_field local_layer_bytes) bytes, over the budget"
      else
        pass restore
      fi
    fi
  fi
  stop_server || true
fi

if wanted gc; then
  DATA_DIR=$WORK/data.gc
  window=$((FINAL_END_LSN - CRASH_END_LSN + 1048576))
  # Layers and full image sets often enough for the fixture's redo, whatever its size.
  redo=$((FINAL_END_LSN - BASE_CHECKPOINT_LSN))
  start_server gc --pitr-window-bytes "$window" \
    --image-creation-delta-bytes "$((redo / 5 > 1048576 ? redo / 5 : 1048576))" \
    --in-memory-layer-bytes "$((redo / 16 > 262144 ? redo / 16 : 262144))" \
    --compaction-threshold 4 --compaction-target-bytes "$((redo / 20 > 262144 ? redo / 20 : 262144))"
  if ! why=$(import_and_push gc); then
    fail gc "$why"
  elif ! api_curl -sf --max-time 600 -X PUT -d '' "$HTTP_SCHEME://$HTTP/api/v1/checkpoint" >/dev/null; then
    fail gc "the checkpoint (flush, compaction, GC) failed: $(api_curl -s -X PUT -d '' "$HTTP_SCHEME://$HTTP/api/v1/checkpoint")"
  else
    cutoff=$(status_field gc_cutoff_lsn)
    layers=$(status_field layer_bytes)
    datadir=$(du -sb "$FIXTURE/final" | cut -f1)
    log "gc: cutoff $cutoff, $(status_field full_image_sets) full image sets," \
      "$(status_field compactions) compactions ($(status_field level1_delta_layers) level-1 layers left), layers $layers" \
      "bytes for a $datadir-byte datadir: amplification $(python3 -c "print(round($layers / $datadir, 2))")"
    if (($(status_field compactions) == 0)); then
      fail gc "no compaction ran, with level-0 layers of a sixteenth of the redo and a threshold of 4"
    elif ((cutoff <= BASE_CHECKPOINT_LSN || cutoff > CRASH_END_LSN)); then
      fail gc "GC cutoff $cutoff is not between the base $BASE_CHECKPOINT_LSN and the crash LSN $CRASH_END_LSN"
    elif ! why=$(verify_history gc); then
      fail gc "after GC, $why"
    elif run_pagectl gc.below getpage --server "$GRPC" --space 0 --page 0 --lsn "$((cutoff - 1))"; then
      fail gc "a read below the GC cutoff was served"
    elif ! named=$(grep -o 'below the GC cutoff, LSN [0-9]*' "$WORK/gc.below.err") ||
        ((${named##* } != cutoff)); then
      fail gc "a read below the cutoff failed without naming it: $(tail -2 "$WORK/gc.below.err")"
    else
      pass gc
    fi
  fi
  stop_server || true
fi

log "passed: ${PASSED[*]:-none}; failed: ${FAILED[*]:-none}"
if ((${#FAILED[@]})); then
  log "work dir kept: $WORK (TEST_SEED=$SEED)"
  exit 1
fi
[[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$WORK"
exit 0
