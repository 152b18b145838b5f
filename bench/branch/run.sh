#!/usr/bin/env bash
# bench/branch/run.sh: how long a branch takes to make (POST /api/v1/timelines, over HTTP on
# loopback, curl's whole request) next to copying the database (cp -a of the datadir MariaDB
# wrote, and of the page server's timeline directory), on a page server holding a real MariaDB
# history: a fixture of test/integration/make_fixture.sh, its base/ imported, then its
# final/ib_logfile0 pushed, measured at both sizes.
#
# Usage: bench/branch/run.sh   (after a build and `ctest -R fixture_mixed`, which makes the
#                               fixture)
# Environment: BENCH_FIXTURE [build/fixtures/mixed], BENCH_BRANCHES [20] per size,
#   PAGESERVER, PAGECTL [build/bin/...].
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIXTURE=${BENCH_FIXTURE:-$REPO_ROOT/build/fixtures/mixed}
BRANCHES=${BENCH_BRANCHES:-20}
PAGESERVER=${PAGESERVER:-$REPO_ROOT/build/bin/pageserver}
PAGECTL=${PAGECTL:-$REPO_ROOT/build/bin/pagectl}
if [[ ! -f $FIXTURE/fixture.env ]]; then
  echo "no fixture at $FIXTURE: run ctest --test-dir build -R fixture_mixed first" >&2
  exit 2
fi
WORK=$(mktemp -d /tmp/bench_branch.XXXXXX)
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
SERVER_PID=""
cleanup() {
  [[ -z $SERVER_PID ]] || { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[bench_branch $(date +%T)] $*" >&2; }

GRPC=127.0.0.1:$(free_port)
HTTP=127.0.0.1:$(free_port)
"$PAGESERVER" --data-dir "$WORK/data" --grpc-addr "$GRPC" --http-addr "$HTTP" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
until grep -q "serving" "$WORK/server.log" 2>/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
calc() { python3 -c "print($1)"; }
seconds_of() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); calc "$t1 - $t0"; }

# measure KEY LABEL DATADIR: branch creations (named KEY-N) next to copies of DATADIR and of the
# timeline.
measure() {
  local key=$1 label=$2 datadir=$3 i
  sync
  for i in $(seq "$BRANCHES"); do
    curl -sf -o /dev/null -w '%{time_total}\n' -X POST -H 'Content-Type: application/json' \
      -d "{\"name\": \"$key-$i\"}" "http://$HTTP/api/v1/timelines"
  done >"$WORK/$key.branch"
  for i in 1 2 3; do
    seconds_of cp -a "$datadir" "$WORK/copy" >>"$WORK/$key.copy"
    rm -rf "$WORK/copy"
    seconds_of cp -a "$WORK/data/timelines/main" "$WORK/copy" >>"$WORK/$key.copy_timeline"
    rm -rf "$WORK/copy"
  done
  local branch copy copy_timeline
  branch=$(median <"$WORK/$key.branch")
  copy=$(median <"$WORK/$key.copy")
  copy_timeline=$(median <"$WORK/$key.copy_timeline")
  printf '%-28s %10.2f ms  %10.1f ms (%s)  %10.1f ms (%s)  %8.0fx\n' "$label" \
    "$(calc "$branch * 1000")" "$(calc "$copy * 1000")" \
    "$(du -sh "$datadir" | cut -f1)" "$(calc "$copy_timeline * 1000")" \
    "$(du -sh "$WORK/data/timelines/main" | cut -f1)" "$(calc "$copy / $branch")"
}

echo "== bench/branch ($(git -C "$REPO_ROOT" rev-parse --short HEAD), $(nproc) CPUs, fixture $(basename "$FIXTURE"), medians of $BRANCHES branches and 3 copies) =="
printf '%-28s %13s  %26s  %26s  %9s\n' "history held" "branch" "cp -a MariaDB's datadir" \
  "cp -a the timeline" "copy/branch"
log "importing $FIXTURE/base"
"$PAGECTL" import --server "$GRPC" --datadir "$FIXTURE/base" >"$WORK/import.log" 2>&1
measure base "base imported" "$FIXTURE/base"
log "pushing $FIXTURE/final/ib_logfile0"
"$PAGECTL" push --server "$GRPC" --log "$FIXTURE/final/ib_logfile0" >"$WORK/push.log" 2>&1
curl -sf -X PUT -d '' "http://$HTTP/api/v1/checkpoint" >/dev/null
measure pushed "whole log pushed" "$FIXTURE/final"
