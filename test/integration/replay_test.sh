#!/usr/bin/env bash
# replay_test.sh FIXTURE_DIR [CASE...]
#
# Replays a fixture made by make_fixture.sh with pagectl and compares the result with the
# files MariaDB itself wrote.  Cases (all by default, or the ones named):
#   logdump          pagectl logdump agrees with redo_scan.py (fixture.env) on the LSNs
#   crash_via_final  base + final/ib_logfile0 --to-lsn <crash LSN>   == crash_recovered
#   crash_via_crash  base + crashed/ib_logfile0 (to its end)         == crash_recovered
#   final            base + final/ib_logfile0 (to its end)           == final
#   reject           (unsupported_* fixtures only) pagectl replay must fail with a
#                    specific word on stderr
#   bad_input        a log with one byte flipped mid-way, a base whose checkpoint the log does
#                    not continue, a non-empty output directory: each refused with a message
#                    naming what and where, no output tree left behind, nothing altered
# Environment: PAGECTL (default <repo>/build/bin/pagectl), PAGECTL_TIMEOUT (seconds per
# pagectl run, default 900), REPLAY_WORK_DIR (scratch, default mktemp -d), KEEP_WORK=1
# (keep replay output even on success; it is always kept on failure).
# Exit status: 0 all passed, 1 a case failed, 2 usage/fixture error, 77 skipped
# (pagectl not built, or no fixture because MariaDB is not installed).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
PAGECTL=${PAGECTL:-$REPO_ROOT/build/bin/pagectl}
PAGECTL_TIMEOUT=${PAGECTL_TIMEOUT:-900}

log() { printf '[replay_test %s] %s\n' "$(date +%T)" "$*" >&2; }

if (($# < 1)); then
  sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
FIXTURE=$(cd "$1" 2>/dev/null && pwd) || { log "no such fixture directory: $1"; exit 2; }
shift
ONLY=("$@")

if [[ ! -f $FIXTURE/fixture.env ]]; then
  if ! command -v mariadbd >/dev/null; then
    log "SKIP: no fixture in $FIXTURE and MariaDB is not installed"
    exit 77
  fi
  log "no $FIXTURE/fixture.env: generate it with make_fixture.sh first"
  exit 2
fi
if [[ ! -x $PAGECTL ]]; then
  log "SKIP: pagectl not found at $PAGECTL (set PAGECTL)"
  exit 77
fi

# fixture.env is written by make_fixture.sh with printf %q, so sourcing it is safe.
# shellcheck source=/dev/null
source "$FIXTURE/fixture.env"
for d in $FIXTURE_DIRS; do
  [[ -d $FIXTURE/$d ]] || { log "fixture incomplete: $FIXTURE/$d missing"; exit 2; }
done
has_dir() { [[ " $FIXTURE_DIRS " == *" $1 "* ]]; }

WORK=${REPLAY_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/replay_test.XXXXXX")}
mkdir -p "$WORK"
log "fixture $FIXTURE (workload $WORKLOAD, MariaDB $MARIADB_VERSION), pagectl $PAGECTL, work dir $WORK"

PASSED=() FAILED=() SKIPPED=()
wanted() {
  ((${#ONLY[@]} == 0)) && return 0
  local c
  for c in "${ONLY[@]}"; do [[ $c == "$1" ]] && return 0; done
  return 1
}

# pagectl SUBCOMMAND ... with a time limit; stdout/stderr go to $WORK/<case>.<step>.{out,err}.
run_pagectl() {  # run_pagectl CASE STEP args...
  local case=$1 step=$2; shift 2
  local rc=0
  log "$case: pagectl $*"
  timeout --kill-after=30 "$PAGECTL_TIMEOUT" "$PAGECTL" "$@" \
    >"$WORK/$case.$step.out" 2>"$WORK/$case.$step.err" || rc=$?
  ((rc == 124)) && log "$case: pagectl $1 timed out after ${PAGECTL_TIMEOUT}s"
  return "$rc"
}

show_tail() {  # show the end of a log file of a failed step
  [[ -s $1 ]] || return 0
  echo "----- $(basename "$1") (last 30 lines) -----" >&2
  tail -n 30 "$1" >&2
}

json_field() {  # json_field FILE KEY: a numeric field of the single JSON object in FILE
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
if not isinstance(v, int): raise SystemExit(f"{sys.argv[2]} is not an integer: {v!r}")
print(v)' "$1" "$2"
}

# replay + compare; $1 case, $2 expected dir, then replay arguments after --base/--out.
replay_and_compare() {
  local case=$1 expected=$2; shift 2
  local out=$WORK/$case.out.d freed=$WORK/$case.freed
  rm -rf "$out" "$freed"
  if ! run_pagectl "$case" replay replay --base "$FIXTURE/base" --out "$out" --freed-pages "$freed" "$@"; then
    log "$case: FAIL (replay exited non-zero)"
    show_tail "$WORK/$case.replay.err"
    FAILED+=("$case")
    return 0
  fi
  local skip=()
  [[ -f $freed ]] && skip=(--skip-pages "$freed")
  if run_pagectl "$case" compare compare --expected "$FIXTURE/$expected" --actual "$out" "${skip[@]}"; then
    log "$case: PASS"
    PASSED+=("$case")
    [[ ${KEEP_WORK:-0} == 1 ]] || rm -rf "$out"
  else
    log "$case: FAIL (differs from $expected; report in $WORK/$case.compare.out)"
    show_tail "$WORK/$case.compare.out"
    show_tail "$WORK/$case.compare.err"
    FAILED+=("$case")
  fi
}

# expect_refused CASE WORD args...: pagectl replay must exit non-zero (not crash or hang), say
# WORD on stderr, and leave no --out directory behind.
expect_refused() {
  local case=$1 word=$2; shift 2
  local out=$WORK/$case.out.d rc=0
  rm -rf "$out"
  run_pagectl "$case" replay replay --out "$out" "$@" || rc=$?
  if ((rc == 0 || rc >= 124)); then
    log "bad_input/$case: FAIL (pagectl replay exit status $rc, expected a clean refusal)"
    show_tail "$WORK/$case.replay.err"
    return 1
  fi
  if ! grep -qiF -- "$word" "$WORK/$case.replay.err"; then
    log "bad_input/$case: FAIL (stderr does not mention '$word')"
    show_tail "$WORK/$case.replay.err"
    return 1
  fi
  if [[ -e $out ]]; then
    log "bad_input/$case: FAIL (a failed replay left $out behind)"
    return 1
  fi
  log "bad_input/$case: refused: $(head -c 300 "$WORK/$case.replay.err")"
}

# ---------------------------------------------------------------- unsupported fixtures
case $WORKLOAD in
  unsupported_page_compressed) REJECT_WORD="page_compressed" ;;
  unsupported_compressed)      REJECT_WORD="ROW_FORMAT=COMPRESSED" ;;
  unsupported_encrypted)       REJECT_WORD="encrypt" ;;
  unsupported_encrypted_log)   REJECT_WORD="the redo log is encrypted" ;;
  unsupported_page_size)       REJECT_WORD="page size" ;;
  *)                           REJECT_WORD="" ;;
esac

if [[ -n $REJECT_WORD ]]; then
  if wanted reject; then
    rc=0
    run_pagectl reject replay replay --base "$FIXTURE/base" --log "$FIXTURE/final/ib_logfile0" \
      --out "$WORK/reject.out.d" || rc=$?
    if ((rc == 0)); then
      log "reject: FAIL (pagectl replay accepted a $WORKLOAD fixture)"
      FAILED+=(reject)
    elif ((rc >= 124)); then
      # 124 = timeout, >= 128 = killed by a signal: a crash is not a clean rejection.
      log "reject: FAIL (pagectl replay died with status $rc instead of rejecting the input)"
      show_tail "$WORK/reject.replay.err"
      FAILED+=(reject)
    elif grep -qiF -- "$REJECT_WORD" "$WORK/reject.replay.err"; then
      log "reject: PASS (exit $rc, stderr mentions '$REJECT_WORD')"
      PASSED+=(reject)
    else
      log "reject: FAIL (exit $rc, but stderr does not mention '$REJECT_WORD')"
      show_tail "$WORK/reject.replay.err"
      FAILED+=(reject)
    fi
  fi
else
  # -------------------------------------------------------------- logdump cross-check
  CRASH_LSN=""
  if has_dir crashed && { wanted logdump || wanted crash_via_final; } &&
     run_pagectl logdump crashed logdump "$FIXTURE/crashed/ib_logfile0" --json; then
    CRASH_LSN=$(json_field "$WORK/logdump.crashed.out" end_lsn) || CRASH_LSN=""
  fi
  if wanted logdump; then
    problems=()
    expect() {  # expect FILE_TAG KEY VALUE
      local got
      got=$(json_field "$WORK/logdump.$1.out" "$2" 2>&1) || got="(unreadable: $got)"
      [[ $got == "$3" ]] || problems+=("$1: $2 = $got, redo_scan.py says $3")
    }
    for which in base final; do
      run_pagectl logdump "$which" logdump "$FIXTURE/$which/ib_logfile0" --json \
        || problems+=("logdump of $which/ib_logfile0 failed")
    done
    expect base checkpoint_lsn "$BASE_CHECKPOINT_LSN"
    expect base first_lsn "$LOG_FIRST_LSN"
    expect final end_lsn "$FINAL_END_LSN"
    expect final first_lsn "$LOG_FIRST_LSN"
    if has_dir crashed; then
      expect crashed end_lsn "$CRASH_END_LSN"
      expect crashed checkpoint_lsn "$CRASH_CHECKPOINT_LSN"
    fi
    if ((${#problems[@]} == 0)); then
      log "logdump: PASS"
      PASSED+=(logdump)
    else
      log "logdump: FAIL"
      printf '  %s\n' "${problems[@]}" >&2
      FAILED+=(logdump)
    fi
  fi

  # -------------------------------------------------------------- replays
  if has_dir crashed && has_dir crash_recovered; then
    if wanted crash_via_final; then
      if [[ -z $CRASH_LSN ]]; then
        log "crash_via_final: FAIL (no end_lsn from pagectl logdump of crashed/ib_logfile0)"
        show_tail "$WORK/logdump.crashed.err"
        FAILED+=(crash_via_final)
      else
        replay_and_compare crash_via_final crash_recovered \
          --log "$FIXTURE/final/ib_logfile0" --to-lsn "$CRASH_LSN"
      fi
    fi
    if wanted crash_via_crash; then
      replay_and_compare crash_via_crash crash_recovered --log "$FIXTURE/crashed/ib_logfile0"
    fi
  else
    for c in crash_via_final crash_via_crash; do wanted "$c" && SKIPPED+=("$c"); done
  fi
  if wanted final; then
    replay_and_compare final final --log "$FIXTURE/final/ib_logfile0"
  fi

  # -------------------------------------------------------------- bad input
  if wanted bad_input; then
    ok=1
    # One byte flipped half-way between base's checkpoint and the end of the final log: the
    # valid log now ends there, before the log's own checkpoint, which must be an error.
    corrupt=$WORK/corrupt_ib_logfile0
    cp "$FIXTURE/final/ib_logfile0" "$corrupt"
    mid=$(( BASE_CHECKPOINT_LSN + (FINAL_END_LSN - BASE_CHECKPOINT_LSN) / 2 ))
    offset=$(( 12288 + (mid - LOG_FIRST_LSN) % LOG_CAPACITY ))
    byte=$(od -An -tu1 -j "$offset" -N1 "$corrupt" | tr -d ' ')
    printf "$(printf '\\%03o' $(( byte ^ 0x5a )))" |
      dd of="$corrupt" bs=1 seek="$offset" conv=notrunc status=none
    expect_refused corrupt_log "damaged" --base "$FIXTURE/base" --log "$corrupt" || ok=0
    rm -f "$corrupt"
    # The final datadir as base: its checkpoint is the end of the log, with nothing after it
    # from a later pass; base's log does not reach it.
    expect_refused wrong_base "LSN" --base "$FIXTURE/final" --log "$FIXTURE/base/ib_logfile0" || ok=0
    # An output directory that holds something is refused and left as it was.
    mkdir -p "$WORK/occupied.out.d" && echo keep >"$WORK/occupied.out.d/file"
    rc=0
    run_pagectl occupied replay replay --base "$FIXTURE/base" --log "$FIXTURE/final/ib_logfile0" \
      --out "$WORK/occupied.out.d" || rc=$?
    if ((rc == 0 || rc >= 124)) || [[ $(cat "$WORK/occupied.out.d/file") != keep ]] ||
       ! grep -q "not empty" "$WORK/occupied.replay.err"; then
      log "bad_input/occupied: FAIL (status $rc)"
      ok=0
    fi
    rm -rf "$WORK/occupied.out.d"
    if ((ok)); then PASSED+=(bad_input); else FAILED+=(bad_input); fi
  fi
fi

# ---------------------------------------------------------------- summary
log "summary for $WORKLOAD: passed: ${PASSED[*]:-none}; failed: ${FAILED[*]:-none}${SKIPPED:+; not applicable: ${SKIPPED[*]}}"
if ((${#FAILED[@]})); then
  log "replay output kept in $WORK"
  exit 1
fi
if ((${#PASSED[@]} == 0)); then
  log "no case ran (unknown case name?)"
  exit 2
fi
[[ ${KEEP_WORK:-0} == 1 || -n ${REPLAY_WORK_DIR:-} ]] || rm -rf "$WORK"
exit 0
