#!/usr/bin/env bash
# The S3 remote storage against a real S3 server: a single-node Ceph cluster with radosgw
# (scripts/radosgw.sh) on a free port, then ps_remote_s3_test ($PS_REMOTE_S3_TEST) on a bucket
# of it. The cluster is stopped and removed whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST_BIN=${PS_REMOTE_S3_TEST:?the ps_remote_s3_test binary}
WORK=$(mktemp -d /tmp/s3_test.XXXXXX)
cleanup() { "$ROOT/scripts/radosgw.sh" stop "$WORK/ceph" || true; rm -rf "$WORK"; }
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
echo "[s3_test] PASS"
