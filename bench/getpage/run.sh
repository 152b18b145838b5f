#!/usr/bin/env bash
# bench/getpage/run.sh: GetPage latency and throughput, and durable ingest, of a real pageserver
# process on loopback, printed next to their floors (raw TCP round trip with a 16 KiB answer;
# pwrite + fdatasync to the same disk) measured by the same binary in the same run.
#
# Usage: bench/getpage/run.sh
# Environment: BENCH_DIR [build/bench/getpage] (data, on the disk under test),
#   BENCH_ITERATIONS [5000] requests per latency figure, BENCH_INGEST_MB [256],
#   PAGESERVER, GETPAGE_BENCH [build/bin/...].
# Two servers are started, one after the other:
#   latency: in_memory_layer_bytes 1 MiB and image_chain_threshold 1000, so that the chains
#            of 1, 10 and 100 records are read from delta layer files, not from memory and not
#            shortened by compaction images; then the same pages on a branch five levels deep;
#   ingest:  the default configuration (64 MiB in-memory layer);
#   then two at once (issue 12), plaintext and TLS + mTLS + auth, with the same data: GetPage
#   and GetPages on each, side by side.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/build/bench/getpage}
PAGESERVER=${PAGESERVER:-$REPO_ROOT/build/bin/pageserver}
GETPAGE_BENCH=${GETPAGE_BENCH:-$REPO_ROOT/build/bin/getpage_bench}
ITERATIONS=${BENCH_ITERATIONS:-5000}
INGEST_MB=${BENCH_INGEST_MB:-256}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start NAME CONFIG_JSON [SERVER_ARGS...]: a pageserver on fresh ports, up to its "serving"
# line; sets GRPC, HTTP, SERVER_PID (the server started last) and SERVERS (all).
SERVERS=()
start() {
  local name=$1 config=$2; shift 2
  local dir=$BENCH_DIR/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$config" >"$dir/server.json"
  GRPC=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port)
  "$PAGESERVER" --data-dir "$dir/data" --grpc-addr "$GRPC" --http-addr "$HTTP" \
    --config "$dir/server.json" "$@" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  SERVERS+=("$SERVER_PID")
  timeout 60 grep -q -m1 "serving" < <(tail -n +1 --pid="$SERVER_PID" -F "$dir/server.log" 2>/dev/null) ||
    { echo "pageserver $name did not start: $(tail -3 "$dir/server.log")" >&2; exit 1; }
}
stop_all() {
  local pid
  for pid in "${SERVERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; done
  SERVERS=() SERVER_PID=""
}
trap stop_all EXIT

# run NAME CONFIG_JSON BENCH_ARGS... (@HTTP@ in an argument becomes the server's HTTP address)
run() {
  local name=$1 config=$2; shift 2
  start "$name" "$config"
  local args=() a
  for a in "$@"; do args+=("${a//@HTTP@/$HTTP}"); done
  "$GETPAGE_BENCH" --server "$GRPC" --data-dir "$BENCH_DIR/$name" --iterations "$ITERATIONS" \
    --ingest-mb "$INGEST_MB" "${args[@]}"
  stop_all
}

echo "== GetPage (pageserver $(git -C "$REPO_ROOT" rev-parse --short HEAD), $(nproc) CPUs) =="
run latency '{"in_memory_layer_bytes": 1048576, "image_chain_threshold": 1000}' --no-ingest \
  --http @HTTP@
echo "== Ingest =="
run ingest '{}' --no-latency
echo "== TLS and auth =="
# Two servers with the same configuration and data, one plaintext, one with TLS on, client
# certificates required (mTLS) and a token checked on every call.
PKI=$BENCH_DIR/pki
bash "$REPO_ROOT/scripts/make_test_pki.sh" "$PKI" >/dev/null
TOKEN=$("$(dirname "$PAGESERVER")/pagectl" token --private-key "$PKI/jwt1.pem" --scope admin)
LATENCY_CONFIG='{"in_memory_layer_bytes": 1048576, "image_chain_threshold": 1000}'
start plain "$LATENCY_CONFIG"
PLAIN_GRPC=$GRPC
start secure "$LATENCY_CONFIG" --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" --tls-ca "$PKI/ca.pem" \
  --auth-public-key "$PKI/jwt1.pub.pem"
"$GETPAGE_BENCH" --server "$PLAIN_GRPC" --data-dir "$BENCH_DIR/plain" --iterations "$ITERATIONS" \
  --secure-server "$GRPC" --tls-ca "$PKI/ca.pem" --tls-cert "$PKI/client.pem" \
  --tls-key "$PKI/client.key" --token "$TOKEN"
stop_all
