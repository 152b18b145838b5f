#!/usr/bin/env bash
# Issue 12: a page server with TLS on both ports, client certificates required (mTLS) and auth
# on, and every client over it:
#   1. pagectl init, a compute (stock mariadbd) that writes and reads back, pagectl getpage over
#      gRPC and HTTP, pagectl branch list: each with the CA, a client certificate and a token;
#   2. refused, each naming why, with the database unchanged: a client that trusts another CA,
#      one without a client certificate, one whose certificate another CA signed, a plaintext
#      client (gRPC, HTTP, curl), a TLS client against a plaintext server; a compute that trusts
#      another CA;
#   3. reflection and health through a real gRPC client: served with a token, and UNAUTHENTICATED
#      (16) without one; with --health-without-auth, health alone without one;
#   4. the server refuses to start on a key that is not its certificate's, a file that is not a
#      certificate, and --tls-ca without --tls-cert.
set -euo pipefail
TEST_NAME=compute_tls
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/compute_lib.sh"
new_work_dir
trap cleanup_compute EXIT
GRPC_CONVENTIONS_CHECK=${GRPC_CONVENTIONS_CHECK:-$(dirname "$PAGECTL")/grpc_conventions_check}

PKI=$WORK/pki
bash "$HERE/../../scripts/make_test_pki.sh" "$PKI" >/dev/null
ADMIN=$("$PAGECTL" token --private-key "$PKI/jwt1.pem" --scope admin)
COMPUTE_TOKEN=$("$PAGECTL" token --private-key "$PKI/jwt1.pem" --scope compute)
SERVER_TLS=(--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" --tls-ca "$PKI/ca.pem")
CLIENT_TLS=(--tls-ca "$PKI/ca.pem" --tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key")
CURL_TLS=(--cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key")

# start_server LOG ARGS...: a page server on fresh ports, up to its "serving" line (an event:
# tail ends when the server exits first); sets GRPC, HTTP, SERVER_PID.
start_server() {
  local log=$1; shift
  GRPC=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port)
  "$PAGESERVER" --data-dir "$WORK/ps" --grpc-addr "$GRPC" --http-addr "$HTTP" "$@" >>"$log" 2>&1 &
  SERVER_PID=$!
  timeout 60 grep -q -m1 "serving gRPC" < <(tail -n +1 --pid="$SERVER_PID" -F "$log" 2>/dev/null) || true
  grep -q "serving gRPC" "$log" || die "the pageserver did not start: $(tail -3 "$log")"
}
# refused WHAT EXPECTED COMMAND...: the command fails, and its error says EXPECTED.
refused() {
  local what=$1 expected=$2; shift 2
  if "$@" >"$WORK/refused.out" 2>&1; then die "$what: served: $(tail -3 "$WORK/refused.out")"; fi
  grep -q -- "$expected" "$WORK/refused.out" ||
    die "$what: the error does not say \"$expected\": $(tail -3 "$WORK/refused.out")"
  log "   $what: $(grep -m1 -- "$expected" "$WORK/refused.out" | cut -c1-160)"
}
getpage() { "$PAGECTL" getpage --server "$GRPC" --space 0 --page 0 --retries 0 "$@"; }
getpage_http() { "$PAGECTL" getpage --server "$HTTP" --http --space 0 --page 0 "$@"; }
status_lsn() {
  curl -sf "${CURL_TLS[@]}" -H "authorization: Bearer $ADMIN" "https://$HTTP/api/v1/status" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["last_record_lsn"])'
}

log "1. every client over TLS with a client certificate and a token"
start_server "$WORK/pageserver.log" "${SERVER_TLS[@]}" --auth-public-key "$PKI/jwt1.pub.pem"
grep -q "(TLS, client certificates required), tokens required" "$WORK/pageserver.log" ||
  die "the serving line does not say TLS with client certificates and tokens"
"$PAGECTL" init --server "$GRPC" --token "$ADMIN" "${CLIENT_TLS[@]}" >"$WORK/init.log" 2>&1 ||
  die "pagectl init over TLS: $(tail -5 "$WORK/init.log")"
SOCK=$WORK/main.sock
start_compute "$WORK/main" --token "$COMPUTE_TOKEN" "${CLIENT_TLS[@]}"
sql -e "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v CHAR(100)) ENGINE=InnoDB;
        INSERT INTO app.t SELECT seq, REPEAT('t', 100) FROM app.seq_1_to_3000"
CHECKSUM=$(sql -e "CHECKSUM TABLE app.t" | awk '{print $2}')
stop_compute
# A fresh compute reads every page back from the server, over TLS.
start_compute "$WORK/main2" --token "$COMPUTE_TOKEN" "${CLIENT_TLS[@]}"
[[ $(sql -e "CHECKSUM TABLE app.t" | awk '{print $2}') == "$CHECKSUM" ]] ||
  die "a second compute over TLS reads another table"
[[ $(sql -e "CHECK TABLE app.t" | awk '{print $4}') == OK ]] || die "CHECK TABLE over TLS failed"
stop_compute
LSN=$(status_lsn)
getpage --token "$ADMIN" "${CLIENT_TLS[@]}" >"$WORK/getpage.out" || die "getpage over TLS: $(cat "$WORK/getpage.out")"
getpage_http --token "$ADMIN" "${CLIENT_TLS[@]}" >"$WORK/getpage_http.out" ||
  die "getpage over HTTPS: $(cat "$WORK/getpage_http.out")"
cmp -s "$WORK/getpage.out" "$WORK/getpage_http.out" || die "gRPC and HTTPS give another page 0"
"$PAGECTL" branch list --server "$HTTP" --token "$ADMIN" "${CLIENT_TLS[@]}" | grep -q "^main" ||
  die "pagectl branch list over HTTPS does not list main"
log "   init, two computes (CHECKSUM TABLE $CHECKSUM), getpage (gRPC = HTTPS), branch list: served"

log "2. refused at the handshake"
WRONG_CA=(--tls-ca "$PKI/other-ca.pem" --tls-cert "$PKI/client.pem" --tls-key "$PKI/client.key")
NO_CERT=(--tls-ca "$PKI/ca.pem")
OTHER_CERT=(--tls-ca "$PKI/ca.pem" --tls-cert "$PKI/other-client.pem" --tls-key "$PKI/other-client.key")
refused "gRPC, another CA" "certificate verify failed" getpage --token "$ADMIN" "${WRONG_CA[@]}"
refused "HTTPS, another CA" "not signed by the --tls-ca CA" getpage_http --token "$ADMIN" "${WRONG_CA[@]}"
refused "gRPC, no client certificate" "is --tls-cert one its CA signed" getpage --token "$ADMIN" "${NO_CERT[@]}"
refused "HTTPS, no client certificate" "refuses a client without one" getpage_http --token "$ADMIN" "${NO_CERT[@]}"
refused "gRPC, a client certificate of another CA" "is --tls-cert one its CA signed" getpage --token "$ADMIN" "${OTHER_CERT[@]}"
refused "HTTPS, a client certificate of another CA" "refuses a client without one" \
  getpage_http --token "$ADMIN" "${OTHER_CERT[@]}"
refused "gRPC, plaintext" "a server with TLS on needs --tls-ca" getpage --token "$ADMIN"
refused "HTTP, plaintext" "is the server's port TLS" getpage_http --token "$ADMIN"
refused "curl, plaintext" "Empty reply\|reset\|Recv failure" curl -sS -H "authorization: Bearer $ADMIN" "http://$HTTP/api/v1/ping"
# curl's error depends on when the server's refusal arrives (an alert, a reset, a closed socket).
refused "curl, no client certificate" "curl: (" \
  curl -sS --cacert "$PKI/ca.pem" -H "authorization: Bearer $ADMIN" "https://$HTTP/api/v1/ping"
compute_refused "a compute that trusts another CA" "certificate verify failed" \
  --token "$COMPUTE_TOKEN" "${WRONG_CA[@]}"
[[ $(status_lsn) == "$LSN" ]] || die "the refused clients changed the timeline"

log "3. reflection and health: with a token, and UNAUTHENTICATED without"
"$GRPC_CONVENTIONS_CHECK" --server "$GRPC" "${CLIENT_TLS[@]}" --token "$ADMIN" \
  --expect-service pageserver.PageServer >"$WORK/conventions.out" ||
  die "reflection and health with a token: $(cat "$WORK/conventions.out")"
"$GRPC_CONVENTIONS_CHECK" --server "$GRPC" "${CLIENT_TLS[@]}" --expect-refused 16 \
  --expect-service pageserver.PageServer >"$WORK/conventions.out" ||
  die "reflection and health without a token: $(cat "$WORK/conventions.out")"
log "   $(grep -m1 refused "$WORK/conventions.out")"
curl -sf "${CURL_TLS[@]}" -H "authorization: Bearer $ADMIN" "https://$HTTP/metrics" |
  grep -q 'pageserver_auth_refusals_total{api="grpc",code="unauthenticated"} [1-9]' ||
  die "/metrics does not count the refused reflection and health calls"

log "4. a TLS client against a plaintext server (auth on, health without a token)"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || die "the server did not stop cleanly"
start_server "$WORK/plain.log" --auth-public-key "$PKI/jwt1.pub.pem" --health-without-auth
refused "gRPC over TLS to a plaintext port" "failed to connect" getpage --token "$ADMIN" "${CLIENT_TLS[@]}"
refused "HTTPS to a plaintext port" "SSLConnection" getpage_http --token "$ADMIN" "${CLIENT_TLS[@]}"
getpage --token "$ADMIN" >/dev/null || die "the plaintext server does not serve a plaintext client"
# --health-without-auth: a probe without a token gets health, and nothing else.
"$GRPC_CONVENTIONS_CHECK" --server "$GRPC" --only health --expect-service pageserver.PageServer \
  >"$WORK/conventions.out" || die "health without a token, --health-without-auth: $(cat "$WORK/conventions.out")"
"$GRPC_CONVENTIONS_CHECK" --server "$GRPC" --only reflection --expect-refused 16 \
  >"$WORK/conventions.out" || die "reflection without a token, --health-without-auth: $(cat "$WORK/conventions.out")"
refused "getpage without a token, --health-without-auth" "token refused" getpage
log "   --health-without-auth: health SERVING without a token, reflection and pages refused"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || die "the plaintext server did not stop cleanly"

log "5. the server refuses TLS files that do not fit"
bad_start() {
  local what=$1 expected=$2 rc=0; shift 2
  "$PAGESERVER" --data-dir "$WORK/ps" --grpc-addr "127.0.0.1:0" --http-addr "127.0.0.1:0" "$@" \
    >"$WORK/bad_start.log" 2>&1 || rc=$?
  ((rc == 1)) || die "$what: the server exited $rc: $(tail -3 "$WORK/bad_start.log")"
  grep -q -- "$expected" "$WORK/bad_start.log" ||
    die "$what: the error does not say \"$expected\": $(tail -3 "$WORK/bad_start.log")"
  log "   $what: $(head -1 "$WORK/bad_start.log")"
}
bad_start "a key that is not the certificate's" "is not the key of the certificate" \
  --tls-cert "$PKI/server.pem" --tls-key "$PKI/client.key"
bad_start "a certificate file that is not one" "not a PEM certificate" \
  --tls-cert "$PKI/server.key" --tls-key "$PKI/server.key"
bad_start "--tls-ca alone" "needs both --tls-cert and --tls-key" --tls-ca "$PKI/ca.pem"
bad_start "a missing file" "cannot read it" --tls-cert "$WORK/none.pem" --tls-key "$PKI/server.key"
SERVER_PID=""
log "PASS"
