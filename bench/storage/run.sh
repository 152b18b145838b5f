#!/usr/bin/env bash
# bench/storage/run.sh: a long sysbench load on a stateless compute over a page server that
# compacts and collects garbage (issue 10), next to the same load on a stock mariadbd. Prints:
#   - records replayed per GetPage during the load (p50, p99 and the share at most 32, from the
#     page server's pageserver_getpage_records_applied histogram), with the layer counts;
#   - storage after GC: the page server's layer files (local) and the bucket, over the stock
#     datadir's size after the same load (with and without its redo log), at the end after a
#     checkpoint and at the peak of the samples taken during the load.
# Needs root, /dev/fuse, mariadb-server, sysbench (scripts/setup.sh) and a build.
# Environment: BENCH_SECONDS [300] of load, BENCH_THREADS [4], BENCH_TABLES [4] x BENCH_ROWS
#   [100000], BENCH_PITR_MB [64] (the PITR window, bytes of redo), BENCH_IMAGE_MB [a quarter of
#   the data] (--image-creation-delta-bytes), BENCH_POOL_MB [an eighth of the data],
#   BENCH_SERVER_FLAGS [none] (more pageserver flags).
set -euo pipefail
TEST_NAME=bench_storage
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../test/compute" && pwd)/compute_lib.sh"
SECONDS_OF_LOAD=${BENCH_SECONDS:-300}
THREADS=${BENCH_THREADS:-4}
TABLES=${BENCH_TABLES:-4} ROWS=${BENCH_ROWS:-100000}
PITR_MB=${BENCH_PITR_MB:-64}
start_compute_bench "${1:-}"
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }

# --- stock: the datadir the same database keeps after the same load ---
SOCK=$WORK/stock.sock DATA=$WORK/stock ERR=$WORK/stock.err
install_db 256M
start_mariadbd 256M
sql -e "CREATE DATABASE sbtest"
sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" prepare >"$WORK/sb-prepare-stock.log" 2>&1
DATA_BYTES=$(sql -e "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'sbtest'")
POOL_MB=${BENCH_POOL_MB:-$((DATA_BYTES / 8 / 1048576 > 6 ? DATA_BYTES / 8 / 1048576 : 6))}
IMAGE_MB=${BENCH_IMAGE_MB:-$((DATA_BYTES / 4 / 1048576 > 8 ? DATA_BYTES / 4 / 1048576 : 8))}
stop_mariadbd
start_mariadbd 256M --innodb-buffer-pool-size="${POOL_MB}M"
log "stock: sysbench oltp_read_write, $THREADS threads, ${SECONDS_OF_LOAD} s, buffer pool $POOL_MB MiB"
sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" --threads="$THREADS" \
  --time="$SECONDS_OF_LOAD" run >"$WORK/sb-stock.log" 2>&1
stop_mariadbd
STOCK_BYTES=$(du -sb "$DATA" | cut -f1)
STOCK_NOLOG=$((STOCK_BYTES - $(stat -c %s "$DATA/ib_logfile0")))
STOCK_TPS=$(sysbench_tps "$WORK/sb-stock.log")

# --- the compute, over a page server with a bucket, a PITR window and full image sets ---
PAGESERVER_FLAGS="--remote file://$WORK/bucket --pitr-window-bytes $((PITR_MB << 20))
  --image-creation-delta-bytes $((IMAGE_MB << 20)) ${BENCH_SERVER_FLAGS:-}" start_pageserver
"$PAGECTL" init --server "$GRPC" >"$WORK/init.log" 2>&1 || die "pagectl init: $(tail -5 "$WORK/init.log")"
SOCK=$WORK/compute.sock
start_compute "$WORK/c-prepare" -- --innodb-buffer-pool-size=1024M
sql -e "CREATE DATABASE sbtest"
sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" prepare >"$WORK/sb-prepare-compute.log" 2>&1
stop_compute

# The records-applied histogram: "le count" lines, cumulative.
records_histogram() {
  curl -sf "http://$HTTP/metrics" |
    sed -n 's/^pageserver_getpage_records_applied_bucket{le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p'
}
layer_bytes() { status_field layer_bytes; }
before=$(records_histogram)
start_compute "$WORK/c-run" -- --innodb-buffer-pool-size="${POOL_MB}M"
log "compute: the same load; PITR window $PITR_MB MiB of redo, a full image set every $IMAGE_MB MiB of deltas"
sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" --threads="$THREADS" \
  --time="$SECONDS_OF_LOAD" --report-interval=10 run >"$WORK/sb-compute.log" 2>&1 &
SB_PID=$!
# Storage while the load runs: one sample per sysbench report line (an event, every 10 s).
peak=0
while IFS= read -r line; do
  [[ $line == "["* ]] || continue
  b=$(layer_bytes)
  ((b <= peak)) || peak=$b
done < <(tail -n +1 --pid="$SB_PID" -F "$WORK/sb-compute.log" 2>/dev/null)
wait "$SB_PID"
after=$(records_histogram)
COMPUTE_TPS=$(sysbench_tps "$WORK/sb-compute.log")
stop_compute
curl -sf -X PUT -d '' "http://$HTTP/api/v1/checkpoint" >"$WORK/checkpoint.json" ||
  die "the checkpoint failed: $(curl -s -X PUT -d '' "http://$HTTP/api/v1/checkpoint")"
curl -sf "http://$HTTP/api/v1/wait_uploaded?timeout_ms=600000" >/dev/null || die "the uploads did not finish"
LOCAL_BYTES=$(layer_bytes)
BUCKET_BYTES=$(du -sb "$WORK/bucket" | cut -f1)
((LOCAL_BYTES <= peak)) || peak=$LOCAL_BYTES  # the samples see layer files only, not memory

# Quantiles of the load's GetPages from the histogram's difference: the bucket bound (le) at
# which the cumulative count reaches the share.
read -r p50 p99 within n <<<"$(paste -d' ' <(echo "$before") <(echo "$after") | awk '
  {le[NR] = $1; c[NR] = $4 - $2}
  END {
    total = c[NR]
    for (i = 1; i <= NR; i++) {
      if (p50 == "" && c[i] >= 0.5 * total) p50 = le[i]
      if (p99 == "" && c[i] >= 0.99 * total) p99 = le[i]
      if (le[i] == "32") w = c[i]
    }
    printf "%s %s %.4f %d\n", p50, p99, total ? w / total : 1, total }')"

echo "== bench/storage ($(git -C "$REPO_ROOT" rev-parse --short HEAD), $(nproc) CPUs, ${SECONDS_OF_LOAD} s of sysbench oltp_read_write, $THREADS threads, $TABLES x $ROWS rows, buffer pool $POOL_MB MiB) =="
printf "TPS: compute %s, stock %s\n" "$COMPUTE_TPS" "$STOCK_TPS"
printf "records replayed per GetPage (%d GetPages during the load): p50 <= %s, p99 <= %s, %.2f%% at most 32\n" \
  "$n" "$p50" "$p99" "$(awk -v w="$within" 'BEGIN {print w * 100}')"
printf "layers at the end: %s delta (%s level 1, after %s compactions), %s image, %s full image sets, GC cutoff LSN %s\n" \
  "$(status_field delta_layers)" "$(status_field level1_delta_layers)" "$(status_field compactions)" \
  "$(status_field image_layers)" "$(status_field full_image_sets)" "$(status_field gc_cutoff_lsn)"
printf "%-44s %14s %14s %14s\n" "storage" "bytes" "/ stock" "/ stock no log"
for row in "stock datadir after the load:$STOCK_BYTES" "stock datadir without ib_logfile0:$STOCK_NOLOG" \
    "page server layers, after GC:$LOCAL_BYTES" "bucket, after GC:$BUCKET_BYTES" \
    "page server layers, peak (samples and end):$peak"; do
  printf "%-44s %14s %14s %14s\n" "${row%%:*}" "$(mib "${row##*:}")" "$(ratio "${row##*:}" "$STOCK_BYTES")" \
    "$(ratio "${row##*:}" "$STOCK_NOLOG")"
done
