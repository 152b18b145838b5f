#!/usr/bin/env bash
# bench/remote/run.sh: the timeline over remote storage (issue 10) against a real S3 server — a
# single-node Ceph cluster with radosgw (scripts/radosgw.sh) on loopback — each figure next to
# its baseline in the same run (remote_bench.cc says which):
#   upload throughput vs plain PUTs of the same bytes; restore time of a fresh node vs plain GETs;
#   GetPage p50/p99 from evicted layers vs resident ones; storage over the base without and with GC.
#
# Usage: bench/remote/run.sh
# Environment: BENCH_DIR [build/bench/remote] (scratch, on the disk under test),
#   BENCH_PAGES [4096] pages in the synthetic base, BENCH_REDO_MB [192], BENCH_READS [2000],
#   REMOTE_BENCH [build/bin/remote_bench].
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/build/bench/remote}
REMOTE_BENCH=${REMOTE_BENCH:-$REPO_ROOT/build/bin/remote_bench}
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
cleanup() { "$REPO_ROOT/scripts/radosgw.sh" stop "$BENCH_DIR/ceph" || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
# The monitor takes PORT + 1: find a pair that is free.
until python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $PORT + 1))" 2>/dev/null; do
  PORT=$(free_port)
done
# Room for the bench's objects (each figure stores its own copy) in the OSD's memory.
credentials=$(RADOSGW_MEMSTORE_BYTES=$((8 << 30)) "$REPO_ROOT/scripts/radosgw.sh" start "$BENCH_DIR/ceph" "$PORT" | tail -1)
export ${credentials?}
echo "== remote storage (pageserver $(git -C "$REPO_ROOT" rev-parse --short HEAD), $(nproc) CPUs," \
  "radosgw with a memstore OSD on 127.0.0.1:$PORT) =="
"$REMOTE_BENCH" --remote "s3://pageserver-bench/run?endpoint=http://127.0.0.1:$PORT" \
  --work "$BENCH_DIR/work" --pages "${BENCH_PAGES:-4096}" --redo-mb "${BENCH_REDO_MB:-192}" \
  --reads "${BENCH_READS:-2000}"
