#!/usr/bin/env bash
# The S3 remote storage against a real S3 server: a single-node Ceph cluster with radosgw
# (scripts/radosgw.sh) on a free port, then
#   1. ps_remote_s3_test ($PS_REMOTE_S3_TEST) on a bucket of it;
#   2. a page server ($PAGESERVER) with --remote on that bucket and a database made by
#      `pagectl init` ($PAGECTL): its layers and manifest reach the bucket byte for byte, and
#      remote_consistent_lsn in /metrics reaches disk_consistent_lsn;
#   3. with RESTORE_FIXTURE (a fixture directory), test/server/server_test.sh's restore case
#      against the bucket: a page server restored from radosgw alone serves MariaDB's pages.
# The cluster and the page server are stopped and removed whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST_BIN=${PS_REMOTE_S3_TEST:?the ps_remote_s3_test binary}
WORK=$(mktemp -d /tmp/s3_test.XXXXXX)
SERVER_PID=""
cleanup() {
  [[ -z $SERVER_PID ]] || kill -9 "$SERVER_PID" 2>/dev/null || true
  "$ROOT/scripts/radosgw.sh" stop "$WORK/ceph" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The monitor takes PORT + 1: find a pair that is free.
until python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $PORT + 1))" 2>/dev/null; do
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
done
echo "[s3_test] starting radosgw on 127.0.0.1:$PORT"
credentials=$("$ROOT/scripts/radosgw.sh" start "$WORK/ceph" "$PORT" | tail -1)
export ${credentials?}
export PAGESERVER_TEST_S3_URL="s3://pageserver-test/ci?endpoint=http://127.0.0.1:$PORT"
"$TEST_BIN"

# --- 2. a page server uploading to the bucket ---
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port)
"${PAGESERVER:?}" --data-dir "$WORK/ps" --grpc-addr "$GRPC" --http-addr "$HTTP" \
  --remote "s3://pageserver-test/e2e?endpoint=http://127.0.0.1:$PORT" >"$WORK/pageserver.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do
  curl -sf "http://$HTTP/api/v1/ping" >/dev/null && break
  kill -0 "$SERVER_PID" || { cat "$WORK/pageserver.log"; exit 1; }
  sleep 0.1
done
"${PAGECTL:?}" init --server "$GRPC" >"$WORK/init.log" 2>&1 || { tail -20 "$WORK/init.log"; exit 1; }
# A metric's value as an integer (the text format may write a round one as 9.6e+07).
metric() { curl -sf "http://$HTTP/metrics" | awk -v m="$1" '$1 == m {printf "%.0f\n", $2}'; }
# The event: the server says everything it stored (the imported base) is in the bucket.
curl -sf --max-time 700 "http://$HTTP/api/v1/wait_uploaded?timeout_ms=600000" >/dev/null ||
  { echo "[s3_test] the uploads did not complete"; cat "$WORK/pageserver.log"; exit 1; }
dcl=$(metric pageserver_disk_consistent_lsn) rcl=$(metric pageserver_remote_consistent_lsn)
[[ -n $dcl && $dcl != 0 ]] && ((rcl >= dcl)) ||
  { echo "[s3_test] remote_consistent_lsn $rcl is below $dcl"; cat "$WORK/pageserver.log"; exit 1; }
s3get() {  # s3get KEY OUT: the object from the bucket, signed as the page server signs
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    -o "$2" "http://127.0.0.1:$PORT/pageserver-test/e2e/$1"
}
TL=$WORK/ps/timelines/main
s3list() {  # s3list PREFIX: the keys under PREFIX (below e2e/), sorted
  local query
  query="list-type=2&prefix=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "e2e/$1")"
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$PORT/pageserver-test?$query" |
    python3 -c 'import re, sys; print("\n".join(k[4:] for k in re.findall(r"<Key>([^<]*)</Key>", sys.stdin.read())))'
}
# The first node of a bucket claims generation 1; the newest index is the last key (keys sort
# as generation, LSN, sequence: docs/remote_storage.md); older ones are deleted.
index_key=$(s3list "timelines/main/index/" | tail -1)
[[ $index_key == "timelines/main/index/00000001-$(printf '%020d' "$dcl")-"* ]] ||
  { echo "[s3_test] the newest index is '$index_key', not generation 1's at LSN $dcl"; exit 1; }
s3get "$index_key" "$WORK/index.json"
python3 - "$WORK/index.json" "$TL/timeline.json" <<'PY'
import json, sys
index, local = (json.load(open(p)) for p in sys.argv[1:])
assert index["generation"] == 1, index["generation"]
for field in ("base_lsn", "disk_consistent_lsn", "layers", "catalog"):
    assert index[field] == local[field], field
PY
layers=0
for layer in "$TL"/layers/*; do
  s3get "timelines/main/layers/$(basename "$layer")-00000001" "$WORK/layer"
  cmp "$WORK/layer" "$layer"
  layers=$((layers + 1))
done
((layers > 0)) || { echo "[s3_test] the imported timeline has no layer file"; exit 1; }
echo "[s3_test] page server: $layers layer file(s) and the index at LSN $dcl in the bucket, byte for byte"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

# --- 3. restore from radosgw alone: the server test's restore case on the mixed fixture ---
if [[ -n ${RESTORE_FIXTURE:-} ]]; then
  REMOTE_URL="s3://pageserver-test/restore?endpoint=http://127.0.0.1:$PORT" \
    RESTORE_DISK_BUDGET=$((300 << 20)) \
    SERVER_WORK_DIR="$WORK/restore" "$ROOT/test/server/server_test.sh" "$RESTORE_FIXTURE" restore
fi
echo "[s3_test] PASS"
