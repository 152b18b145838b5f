#!/usr/bin/env bash
# The main job: a real MariaDB writes redo; pagectl rebuilds its pages from that redo, and a page
# server stores the redo and serves every page at any LSN; both are compared byte for byte with
# MariaDB's own files.
#   1. build pagectl and pageserver;
#   2. run a private mariadbd (build/demo/, socket only) through a sysbench workload: a clean base
#      datadir, kill -9 under load, crash recovery, more load, slow shutdown;
#   3. pagectl logdump of the log since the base's checkpoint;
#   4. pagectl replay of base + log at the crash LSN and at the end, each compared page by page
#      with what MariaDB wrote (its crash recovery, its slow shutdown);
#   5. a pageserver on local disk (build/demo/pageserver): pagectl import of the base, pagectl
#      push of the log, then every page read over gRPC at the crash LSN and at the end and
#      compared with the same MariaDB files, one page shown at both LSNs, and the server's status.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build pagectl pageserver
fixture=build/demo/sysbench
test/integration/make_fixture.sh "$fixture" sysbench
pagectl=build/bin/pagectl
base_checkpoint=$($pagectl logdump "$fixture/base/ib_logfile0" --json | sed -n 's/^  "checkpoint_lsn": \([0-9]*\),$/\1/p')
echo
echo "== pagectl logdump $fixture/final/ib_logfile0 --from-lsn $base_checkpoint"
$pagectl logdump "$fixture/final/ib_logfile0" --from-lsn "$base_checkpoint"
echo
crash_lsn=$($pagectl logdump "$fixture/crashed/ib_logfile0" --json | sed -n 's/^  "end_lsn": \([0-9]*\),$/\1/p')
work=build/demo/replay
rm -rf "$work" && mkdir -p "$work"
for target in crash final; do
  if [[ $target == crash ]]; then
    expected=$fixture/crash_recovered to=(--to-lsn "$crash_lsn")
    echo "== replay to the crash LSN $crash_lsn; MariaDB's state there: its crash recovery of a copy"
  else
    expected=$fixture/final to=()
    echo "== replay to the end of the log; MariaDB's state there: its files after a slow shutdown"
  fi
  $pagectl replay --base "$fixture/base" --log "$fixture/final/ib_logfile0" "${to[@]}" \
    --out "$work/$target" --freed-pages "$work/$target.freed"
  $pagectl compare --expected "$expected" --actual "$work/$target" --skip-pages "$work/$target.freed"
  echo
done

echo "== page server: import the base, push the log, read every page at two LSNs"
ps_dir=build/demo/pageserver
rm -rf "$ps_dir" && mkdir -p "$ps_dir"
grpc=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
http=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/bin/pageserver --data-dir "$ps_dir/data" --grpc-addr "$grpc" --http-addr "$http" >"$ps_dir/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://$http/api/v1/ping" >/dev/null 2>&1 && break; sleep 0.1; done
$pagectl import --server "$grpc" --datadir "$fixture/base"
$pagectl push --server "$grpc" --log "$fixture/final/ib_logfile0" >/dev/null
final_lsn=$(curl -sf "http://$http/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_record_lsn"])')
$pagectl verify --server "$grpc" --datadir "$fixture/crash_recovered" --lsn "$crash_lsn"
$pagectl verify --server "$grpc" --datadir "$fixture/final" --lsn "$final_lsn"
echo
echo "== a page of sbtest1 that changed after the crash LSN: as it was then, and now"
space=$(curl -sf "http://$http/api/v1/tablespaces" | python3 -c 'import json,sys; print([t["space_id"] for t in json.load(sys.stdin)["tablespaces"] if t["path"].endswith("sbtest1.ibd")][0])')
for page in $(seq 3 400); do
  $pagectl getpage --server "$grpc" --space "$space" --page "$page" --lsn "$crash_lsn" --out "$ps_dir/then" >/dev/null 2>&1
  $pagectl getpage --server "$grpc" --space "$space" --page "$page" --out "$ps_dir/now" >/dev/null 2>&1
  cmp -s "$ps_dir/then" "$ps_dir/now" && continue
  $pagectl getpage --server "$grpc" --space "$space" --page "$page" --lsn "$crash_lsn"
  $pagectl getpage --server "$grpc" --space "$space" --page "$page"
  echo "first differing bytes (offset, then, now):"
  cmp -l "$ps_dir/then" "$ps_dir/now" | head -5 || true
  break
done
echo
echo "== GET /api/v1/status"
curl -sf "http://$http/api/v1/status"
echo
