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
#   ingest:  the default configuration (64 MiB in-memory layer).
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
SERVER_PID=""
stop() { [[ -z $SERVER_PID ]] || { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""; }; }
trap stop EXIT

# run NAME CONFIG_JSON BENCH_ARGS... (@HTTP@ in an argument becomes the server's HTTP address)
run() {
  local name=$1 config=$2; shift 2
  local dir=$BENCH_DIR/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$config" >"$dir/server.json"
  GRPC=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port)
  "$PAGESERVER" --data-dir "$dir/data" --grpc-addr "$GRPC" --http-addr "$HTTP" \
    --config "$dir/server.json" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q "serving" "$dir/server.log" 2>/dev/null && break; sleep 0.1; done
  local args=() a
  for a in "$@"; do args+=("${a//@HTTP@/$HTTP}"); done
  "$GETPAGE_BENCH" --server "$GRPC" --data-dir "$dir" --iterations "$ITERATIONS" \
    --ingest-mb "$INGEST_MB" "${args[@]}"
  stop
}

echo "== GetPage (pageserver $(git -C "$REPO_ROOT" rev-parse --short HEAD), $(nproc) CPUs) =="
run latency '{"in_memory_layer_bytes": 1048576, "image_chain_threshold": 1000}' --no-ingest \
  --http @HTTP@
echo "== Ingest =="
run ingest '{}' --no-latency
