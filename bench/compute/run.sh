#!/usr/bin/env bash
# bench/compute/run.sh: a stateless compute next to a stock mariadbd on local disk, same settings.
#
# Both get the same database (sysbench, BENCH_TABLES x BENCH_ROWS rows, prepared on each) and the
# settings the compute runs mariadbd with (no native AIO, innodb_flush_method=fsync, buffered log,
# no doublewrite, the same 256 MiB log; every commit syncs the log). Then sysbench oltp_read_write
# with BENCH_THREADS threads for BENCH_SECONDS, in this order for each buffer pool size:
#   stock, compute, stock again (the stock figure is the mean of the two runs);
# with a buffer pool that holds the data, and with one of 1/8 of the data (pages evicted and
# read again: from the local disk's page cache for stock, with a GetPage each for the compute).
# With the data cached, a diagnostic run too: the same compute against the page server started
# with --no-sync (unsafe: nothing synced), which shows what the durable sync of each log flush
# costs. Prints TPS and p95 latency side by side with the ratios, and cold start: from an empty workdir
# to the first query answered through a compute (pagectl compute) next to a stock mariadbd start
# on its datadir (median of BENCH_STARTS starts each). Needs root, /dev/fuse, mariadb-server,
# sysbench (scripts/setup.sh) and a build (build/bin/pagectl, pageserver).
set -euo pipefail
TEST_NAME=bench_compute
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../test/compute" && pwd)/compute_lib.sh"
SECONDS_OF_LOAD=${BENCH_SECONDS:-30}
THREADS=${BENCH_THREADS:-4}
TABLES=${BENCH_TABLES:-4} ROWS=${BENCH_ROWS:-50000}
STARTS=${BENCH_STARTS:-3}
start_compute_bench "${1:-}"

# Where the CPU goes: clock ticks used by a process (user + system, its threads included), and
# by the whole machine (every CPU's non-idle time).
cpu_ticks() { [[ -n ${1:-} && -r /proc/$1/stat ]] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

run_sysbench() {  # run_sysbench NAME MARIADBD_PID: prints "TPS P95 CPU_MS_PER_TRX..."
  local pids=("$2" "$COMPUTE_PID" "$SERVER_PID") before=() after=() m0 m1
  [[ $1 == *compute* ]] || pids=("$2" "" "")
  for p in "${pids[@]}"; do before+=("$(cpu_ticks "$p")"); done
  m0=$(machine_ticks)
  sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" --threads="$THREADS" \
    --time="$SECONDS_OF_LOAD" run >"$WORK/sb-$1.log" 2>&1
  m1=$(machine_ticks)
  for p in "${pids[@]}"; do after+=("$(cpu_ticks "$p")"); done
  local tps p95 trx
  tps=$(sysbench_tps "$WORK/sb-$1.log")
  p95=$(sed -n 's/^ *95th percentile: *\([0-9.]*\)$/\1/p' "$WORK/sb-$1.log")
  trx=$(sed -n 's/^ *transactions: *\([0-9]*\) .*/\1/p' "$WORK/sb-$1.log")
  # CPU milliseconds per transaction: mariadbd, the compute (FUSE + shipping), the page server,
  # and the machine as a whole (sysbench and the kernel's share included).
  awk -v hz="$(getconf CLK_TCK)" -v trx="$trx" -v tps="$tps" -v p95="$p95" \
      -v a="${after[*]} $m1" -v b="${before[*]} $m0" 'BEGIN {
    split(a, x, " "); split(b, y, " "); printf "%s %s", tps, p95
    for (i = 1; i <= 4; i++) printf " %.3f", (x[i] - y[i]) * 1000 / hz / trx
    printf "\n" }'
}

# --- the stock database ---
SOCK=$WORK/stock.sock DATA=$WORK/stock ERR=$WORK/stock.err
install_db 256M
start_mariadbd 256M
sql -e "CREATE DATABASE sbtest"
sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" prepare >"$WORK/sb-prepare-stock.log" 2>&1
DATA_BYTES=$(sql -e "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'sbtest'")
stop_mariadbd
SMALL=$(( DATA_BYTES / 8 / 1048576 )); ((SMALL >= 6)) || SMALL=6
log "sysbench data: $((DATA_BYTES / 1048576)) MiB; buffer pools: 1024 MiB (all of it) and ${SMALL} MiB (1/8)"

# --- the compute's database ---
# The page server on this machine is niced as the compute's own threads are (pagectl compute
# --io-nice, default -10): every log fsync waits on both while sysbench keeps the CPUs busy.
renice_pageserver() { for t in /proc/"$SERVER_PID"/task/*; do renice -n -10 -p "${t##*/}" >/dev/null; done; }
# relaunch_pageserver [FLAGS]: the same page server on the same data, with FLAGS.
relaunch_pageserver() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  PAGESERVER_FLAGS=${1:-} launch_pageserver; renice_pageserver
}
start_pageserver
renice_pageserver
"$PAGECTL" init --server "$GRPC" >"$WORK/init.log" 2>&1 || die "pagectl init: $(tail -5 "$WORK/init.log")"
SOCK=$WORK/compute.sock
start_compute "$WORK/c-prepare" -- --innodb-buffer-pool-size=1024M
sql -e "CREATE DATABASE sbtest"
sysbench oltp_read_write "${SB_OPTS[@]}" --mysql-socket="$SOCK" prepare >"$WORK/sb-prepare-compute.log" 2>&1
stop_compute

# The page server's side of the log flushes: requests stored, fdatasyncs (group commit shares
# them), and the summed time from a request's arrival to its answer.
wal_figures() {
  curl -sf "http://$HTTP/metrics" | awk '
    /^pageserver_wal_store_seconds_count / {n = $2}
    /^pageserver_wal_store_seconds_sum / {t = $2}
    /^pageserver_wal_syncs / {s = $2}
    END {printf "%d %d %.6f\n", n, s, t}'
}

declare -A RESULT WAL
for pool in 1024 "$SMALL"; do
  runs=(stock1 compute stock2)
  # Diagnostic, with the data cached: the same compute against a page server that does not sync
  # (--no-sync, unsafe), to show what the durable sync of each log flush costs.
  [[ $pool != 1024 ]] || runs=(stock1 compute compute_nosync stock2)
  for run in "${runs[@]}"; do
    if [[ $run == compute_nosync ]]; then
      relaunch_pageserver --no-sync
      SOCK=$WORK/compute.sock
      start_compute "$WORK/c-$pool-nosync" -- --innodb-buffer-pool-size="${pool}M"
      RESULT[$pool-$run]=$(run_sysbench "$pool-$run" "$COMPUTE_MARIADBD_PID")
      stop_compute
      relaunch_pageserver
    elif [[ $run == compute ]]; then
      SOCK=$WORK/compute.sock
      start_compute "$WORK/c-$pool" -- --innodb-buffer-pool-size="${pool}M"
      read -r n0 s0 t0 <<<"$(wal_figures)"
      RESULT[$pool-$run]=$(run_sysbench "$pool-$run" "$COMPUTE_MARIADBD_PID")
      read -r n1 s1 t1 <<<"$(wal_figures)"
      WAL[$pool]=$(awk -v n=$((n1 - n0)) -v s=$((s1 - s0)) -v t="$t1" -v t0="$t0" 'BEGIN {
        printf "%d requests stored in %d fdatasyncs, %.0f us each from arrival to answer", n, s, n ? (t - t0) * 1e6 / n : 0 }')
      stop_compute
      log "buffer pool ${pool} MiB, compute: $(grep -h 'log flushes' "$WORK/c-$pool.log" | tail -1)"
    else
      SOCK=$WORK/stock.sock
      start_mariadbd 256M --innodb-buffer-pool-size="${pool}M"
      RESULT[$pool-$run]=$(run_sysbench "$pool-$run" "$MARIADBD_PID")
      stop_mariadbd
    fi
    log "buffer pool ${pool} MiB, $run: TPS, p95 ms, CPU ms/trx of mariadbd, compute, pageserver, machine = ${RESULT[$pool-$run]}"
  done
done

# --- cold starts ---
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
stock_starts=() compute_starts=()
for i in $(seq "$STARTS"); do
  SOCK=$WORK/stock.sock
  t0=$EPOCHREALTIME
  start_mariadbd 256M --innodb-buffer-pool-size=1024M
  sql -e "SELECT COUNT(*) FROM sbtest.sbtest1" >/dev/null
  stock_starts+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')")
  stop_mariadbd
  SOCK=$WORK/compute.sock
  rm -rf "$WORK/c-start$i"
  t0=$EPOCHREALTIME
  start_compute "$WORK/c-start$i" -- --innodb-buffer-pool-size=1024M
  sql -e "SELECT COUNT(*) FROM sbtest.sbtest1" >/dev/null
  compute_starts+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')")
  stop_compute
done
stock_start=$(printf '%s\n' "${stock_starts[@]}" | median)
compute_start=$(printf '%s\n' "${compute_starts[@]}" | median)

echo
echo "sysbench oltp_read_write, $THREADS threads, ${SECONDS_OF_LOAD} s, $TABLES x $ROWS rows ($((DATA_BYTES / 1048576)) MiB)"
printf '%-22s %12s %12s %12s %12s %9s %9s\n' "buffer pool" "stock TPS" "compute TPS" "stock p95" "compute p95" "TPS x" "p95 x"
for pool in 1024 "$SMALL"; do
  read -r s1 s1p <<<"${RESULT[$pool-stock1]}"
  read -r s2 s2p <<<"${RESULT[$pool-stock2]}"
  read -r c cp <<<"${RESULT[$pool-compute]}"
  awk -v pool="$pool" -v s1="$s1" -v s2="$s2" -v c="$c" -v s1p="$s1p" -v s2p="$s2p" -v cp="$cp" 'BEGIN {
    s = (s1 + s2) / 2; sp = (s1p + s2p) / 2
    printf "%-22s %12.1f %12.1f %10.2fms %10.2fms %8.3fx %8.2fx\n", pool " MiB", s, c, sp, cp, c / s, cp / sp }'
done
echo
echo "CPU milliseconds per transaction (stock: mean of its two runs; machine: all CPUs, sysbench and kernel included)"
printf '%-22s %10s %10s %10s %10s %10s %10s\n' "buffer pool" "stock mdbd" "stock all" "comp mdbd" "comp fuse" "pageserver" "comp all"
for pool in 1024 "$SMALL"; do
  read -r _ _ s1m _ _ s1a <<<"${RESULT[$pool-stock1]}"
  read -r _ _ s2m _ _ s2a <<<"${RESULT[$pool-stock2]}"
  read -r _ _ cm cf cs ca <<<"${RESULT[$pool-compute]}"
  awk -v pool="$pool" -v s1m="$s1m" -v s2m="$s2m" -v s1a="$s1a" -v s2a="$s2a" -v cm="$cm" -v cf="$cf" -v cs="$cs" -v ca="$ca" 'BEGIN {
    printf "%-22s %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n", pool " MiB", (s1m + s2m) / 2, (s1a + s2a) / 2, cm, cf, cs, ca }'
done
read -r s1 _ <<<"${RESULT[1024-stock1]}"
read -r s2 _ <<<"${RESULT[1024-stock2]}"
read -r c _ <<<"${RESULT[1024-compute]}"
read -r n np95 _ <<<"${RESULT[1024-compute_nosync]}"
echo
awk -v s1="$s1" -v s2="$s2" -v c="$c" -v n="$n" -v p="$np95" 'BEGIN {
  printf "diagnostic, 1024 MiB: the page server not syncing (--no-sync, unsafe): %.1f TPS (%.3fx of stock, p95 %s ms), against %.3fx when it syncs each flush\n", n, n / ((s1 + s2) / 2), p, c / ((s1 + s2) / 2) }'
echo
echo "The page server's side of the compute's log flushes (mean, sysbench run only):"
for pool in 1024 "$SMALL"; do printf '%-22s %s\n' "$pool MiB" "${WAL[$pool]}"; done
printf 'cold start to the first query (median of %d): stock mariadbd %.2f s, compute from an empty workdir %.2f s (+%.2f s)\n' \
  "$STARTS" "$stock_start" "$compute_start" "$(awk -v a="$stock_start" -v b="$compute_start" 'BEGIN {print b - a}')"
