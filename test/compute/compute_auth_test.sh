#!/usr/bin/env bash
# Issue 12: a page server with auth on, and the clients that carry tokens (pagectl token mints
# them; --token or PAGESERVER_TOKEN):
#   1. pagectl init with an admin token; a compute with a compute token of main takes writes;
#   2. a compute without a token, with a read token, or with main's token on a branch: each
#      refused, naming why; the database is unchanged;
#   3. pagectl getpage with a read token; pagectl branch create with a compute token refused,
#      with an admin token made; a compute on the branch with the branch's compute token;
#   4. the HTTP API: 401 without a token, 403 with too small a scope, /metrics with any valid one.
set -euo pipefail
TEST_NAME=compute_auth
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/compute_lib.sh"
new_work_dir
trap cleanup_compute EXIT

bash "$HERE/../../scripts/make_test_pki.sh" "$WORK/pki" >/dev/null
token() { "$PAGECTL" token --private-key "$WORK/pki/jwt1.pem" "$@"; }
ADMIN=$(token --scope admin)
PAGESERVER_FLAGS="--auth-public-key $WORK/pki/jwt1.pub.pem --auth-public-key $WORK/pki/jwt2.pub.pem"
start_pageserver_with_auth() {
  GRPC=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port)
  # shellcheck disable=SC2086
  "$PAGESERVER" --data-dir "$WORK/ps" --grpc-addr "$GRPC" --http-addr "$HTTP" $PAGESERVER_FLAGS \
    >>"$WORK/pageserver.log" 2>&1 &
  SERVER_PID=$!
  # Event: its "serving" line (tail ends when the server exits first).
  timeout 60 grep -q -m1 "serving gRPC" < <(tail -n +1 --pid="$SERVER_PID" -F "$WORK/pageserver.log" 2>/dev/null) || true
  grep -q "serving gRPC" "$WORK/pageserver.log" ||
    die "the pageserver did not start (exited, or 60 s passed): $(tail -3 "$WORK/pageserver.log")"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$HTTP/api/v1/ping") == 401 ]] ||
    die "ping without a token is not refused with 401"
}
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

log "1. init with an admin token, a compute with main's compute token"
start_pageserver_with_auth
PAGESERVER_TOKEN=$ADMIN "$PAGECTL" init --server "$GRPC" >"$WORK/init.log" 2>&1 ||
  die "pagectl init with an admin token: $(tail -5 "$WORK/init.log")"
SOCK=$WORK/main.sock
start_compute "$WORK/main" --token "$(token --scope compute)"
sql -e "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY) ENGINE=InnoDB;
        INSERT INTO app.t SELECT seq FROM app.seq_1_to_100"
MAIN_PID=$COMPUTE_PID
OTHER_COMPUTE_PIDS+=("$MAIN_PID")
LSN=$(curl -sf -H "authorization: Bearer $ADMIN" "http://$HTTP/api/v1/status" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["last_record_lsn"])')

log "2. computes refused for their token"
compute_refused "no token" "token refused: no \"authorization: Bearer <token>\" header" --token ""
compute_refused "a read token" "writing needs a compute token" --token "$(token --scope read)"
compute_refused "an expired token" "token refused: expired" --token "$(token --scope compute --ttl=-60)"
compute_refused "a token of an unknown key" "token refused: its signature" \
  --token "$("$PAGECTL" token --private-key "$WORK/pki/other-ca.key" --scope compute)"
[[ $(sql -e "SELECT COUNT(*) FROM app.t") == 100 ]] || die "main changed"

log "3. getpage with a read token; branches need an admin token"
"$PAGECTL" getpage --server "$GRPC" --space 0 --page 0 --token "$(token --scope read)" >"$WORK/getpage.log" ||
  die "getpage with a read token: $(cat "$WORK/getpage.log")"
if "$PAGECTL" branch create --server "$HTTP" --name dev --token "$(token --scope compute)" 2>"$WORK/branch.err"; then
  die "a compute token made a branch"
fi
grep -q "HTTP 403" "$WORK/branch.err" || die "the branch refusal is not a 403: $(cat "$WORK/branch.err")"
"$PAGECTL" branch create --server "$HTTP" --name dev --lsn "$LSN" --token "$ADMIN" >/dev/null
compute_refused "main's token on a branch" "not for timeline dev" --timeline dev --token "$(token --scope compute)"
SOCK=$WORK/dev.sock
start_compute "$WORK/dev" --timeline dev --token "$(token --scope compute --timeline dev)"
sql -e "INSERT INTO app.t VALUES (1000)"
[[ $(sql -e "SELECT COUNT(*) FROM app.t") == 101 ]] || die "the branch compute lost a row"
stop_compute

log "4. the HTTP API"
[[ $(http_code "http://$HTTP/api/v1/status") == 401 ]] || die "status without a token is not 401"
[[ $(http_code -H "authorization: Bearer $(token --scope read --timeline dev)" "http://$HTTP/api/v1/status") == 403 ]] ||
  die "status of main with dev's read token is not 403"
[[ $(http_code -H "authorization: Bearer $(token --scope read)" "http://$HTTP/api/v1/timelines") == 403 ]] ||
  die "the timelines with a read token is not 403"
[[ $(http_code "http://$HTTP/metrics") == 401 ]] || die "/metrics without a token is not 401"
metrics=$(curl -sf -H "authorization: Bearer $(token --scope read --timeline dev)" "http://$HTTP/metrics")
grep -q 'pageserver_auth_refusals_total{api="grpc",code="unauthenticated"} [1-9]' <<<"$metrics" ||
  die "the refusals are not counted: $(grep auth_refusals <<<"$metrics")"
log "   $(grep auth_refusals_total <<<"$metrics" | grep -v '^#' | tr '\n' ' ')"
log "PASS: with auth on, every client carries its token, and every other token is refused naming why"
