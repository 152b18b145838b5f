#!/usr/bin/env bash
# The main job, until the page server exists: a real MariaDB writes redo, pagectl rebuilds its
# pages from that redo, and the result is compared byte for byte with MariaDB's own files.
#   1. build pagectl;
#   2. run a private mariadbd (build/demo/, socket only) through a sysbench workload: a clean base
#      datadir, kill -9 under load, crash recovery, more load, slow shutdown;
#   3. pagectl logdump of the log since the base's checkpoint;
#   4. pagectl replay of base + log at the crash LSN and at the end, each compared page by page
#      with what MariaDB wrote (its crash recovery, its slow shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build pagectl
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
