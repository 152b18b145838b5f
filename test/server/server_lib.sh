# Shared by the page-server test scripts (sourced): fixture loading, a pageserver process on
# free loopback ports, pagectl runs with a time limit, HTTP calls.
# Needs: REPO_ROOT. Sets: FIXTURE, WORK, PAGESERVER, PAGECTL, GRPC, HTTP, SERVER_PID, DATA_DIR.
#
# SERVER_SECURE=1 (issue 12): every server has TLS on both ports, requires client certificates
# and tokens; every client carries the test CA's client certificate and an admin token: pagectl
# through PAGESERVER_TOKEN and PAGESERVER_TLS_*, curl through api_curl and HTTP_SCHEME.

PAGESERVER=${PAGESERVER:-$REPO_ROOT/build/bin/pageserver}
PAGECTL=${PAGECTL:-$REPO_ROOT/build/bin/pagectl}
PAGECTL_TIMEOUT=${PAGECTL_TIMEOUT:-900}
SERVER_PID=""

log() { printf '[%s %s] %s\n' "$(basename "$0" .sh)" "$(date +%T)" "$*" >&2; }

# load_fixture DIR: sources its fixture.env; exits 77 when there is none and no MariaDB.
load_fixture() {
  FIXTURE=$(cd "$1" 2>/dev/null && pwd) || { log "no such fixture directory: $1"; exit 2; }
  if [[ ! -f $FIXTURE/fixture.env ]]; then
    command -v mariadbd >/dev/null || { log "SKIP: no fixture and no MariaDB"; exit 77; }
    log "no $FIXTURE/fixture.env: generate it with make_fixture.sh first"
    exit 2
  fi
  for tool in "$PAGESERVER" "$PAGECTL"; do
    [[ -x $tool ]] || { log "SKIP: $tool not built"; exit 77; }
  done
  # shellcheck source=/dev/null
  source "$FIXTURE/fixture.env"
  WORK=${SERVER_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/server_test.XXXXXX")}
  mkdir -p "$WORK"
  DATA_DIR=$WORK/data
  secure_clients
}

HTTP_SCHEME=http
CURL_SECURITY=()
SERVER_SECURITY=()
# With SERVER_SECURE=1: test keys and certificates in WORK/pki, and the arguments and variables
# that make servers and clients use them.
secure_clients() {
  [[ ${SERVER_SECURE:-0} == 1 ]] || return 0
  local pki=$WORK/pki
  bash "$REPO_ROOT/scripts/make_test_pki.sh" "$pki" >/dev/null
  PAGESERVER_TOKEN=$("$PAGECTL" token --private-key "$pki/jwt1.pem" --scope admin --ttl 86400)
  export PAGESERVER_TOKEN PAGESERVER_TLS_CA=$pki/ca.pem PAGESERVER_TLS_CERT=$pki/client.pem \
         PAGESERVER_TLS_KEY=$pki/client.key
  SERVER_SECURITY=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-ca "$pki/ca.pem"
                   --auth-public-key "$pki/jwt1.pub.pem")
  CURL_SECURITY=(--cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key"
                 -H "authorization: Bearer $PAGESERVER_TOKEN")
  HTTP_SCHEME=https
  log "secure: TLS with client certificates and tokens on every server and client"
}

# api_curl CURL_ARGS...: curl with the client certificate and token when SERVER_SECURE=1.
api_curl() { curl "${CURL_SECURITY[@]}" "$@"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server NAME [extra pageserver args]: starts it on fresh ports and waits for /ping.
start_server() {
  local name=$1; shift
  GRPC=127.0.0.1:$(free_port)
  HTTP=127.0.0.1:$(free_port)
  # A short wait limit, so that the "LSN never reached" case fails fast.
  printf '{"read_wait_limit_ms": 1000}\n' >"$WORK/server.json"
  "$PAGESERVER" --data-dir "$DATA_DIR" --grpc-addr "$GRPC" --http-addr "$HTTP" \
    --config "$WORK/server.json" "${SERVER_SECURITY[@]}" "$@" >>"$WORK/server.$name.log" 2>&1 &
  SERVER_PID=$!
  # A restart replays the WAL tail before it listens: give a loaded machine time.
  local deadline=$((SECONDS + ${SERVER_START_LIMIT:-180}))
  while ((SECONDS < deadline)); do
    if api_curl -sf --max-time 10 "$HTTP_SCHEME://$HTTP/api/v1/ping" >/dev/null 2>&1; then
      log "pageserver $SERVER_PID up (gRPC $GRPC, HTTP $HTTP)"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "pageserver did not answer /ping within ${SERVER_START_LIMIT:-180}s (or exited); its log:"
  cat "$WORK/server.$name.log" >&2
  exit 1
}

# stop_server: SIGTERM and wait; returns the server's exit status.
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  return "$rc"
}

# kill_server: kill -9, as a crash.
kill_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# run_pagectl NAME args...: stdout/stderr in $WORK/NAME.{out,err}.
run_pagectl() {
  local name=$1; shift
  local rc=0
  timeout --kill-after=30 "$PAGECTL_TIMEOUT" "$PAGECTL" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  return "$rc"
}

# status_field NAME: one field of GET /api/v1/status.
status_field() {
  api_curl -sf "$HTTP_SCHEME://$HTTP/api/v1/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}
