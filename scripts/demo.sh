#!/usr/bin/env bash
# The main job: a stateless compute. A stock, unpatched mariadbd whose storage is the page server.
#   1. builds pagectl and pageserver; starts a pageserver on an empty directory and creates a
#      database on it (pagectl init);
#   2. starts a compute on an empty workdir (pagectl compute: a FUSE datadir over the page
#      server, mariadbd on it) and, through it, creates a table, changes one row and runs a short
#      sysbench load;
#   3. kill -9 of the compute (its mariadbd dies with it) and deletes its workdir;
#   4. a new compute on a new empty workdir: every committed row is there;
#   5. the page holding the changed row, read from the page server before the change and now.
# Run as root (mariadbd --user=root, FUSE). Everything stops at the end. scripts/follow_demo.sh
# shows the page server following a MariaDB that keeps its own datadir.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build pagectl pageserver >/dev/null
pagectl=build/bin/pagectl
demo=$PWD/build/demo-compute
for m in "$demo"/compute*/data; do umount -l "$m" 2>/dev/null || true; done
rm -rf "$demo" && mkdir -p "$demo"
sock=$demo/mysqld.sock
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for m in "$demo"/compute*/data; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
source scripts/demo_lib.sh
start_compute() {  # start_compute WORKDIR: in the background, until its "ready" line
  $pagectl compute --server "$grpc" --workdir "$1" --socket "$sock" >"$1.log" 2>&1 &
  compute_pid=$!
  pids+=("$compute_pid")
  for _ in $(seq 1200); do
    grep -q "^ready" "$1.log" && break
    kill -0 "$compute_pid" 2>/dev/null || { cat "$1.log"; exit 1; }
    sleep 0.1
  done
  sed 's/^/  /' "$1.log"
}

echo "== a pageserver on an empty directory, and a new database on it"
start_demo_pageserver "$demo/pageserver" "$demo/pageserver.log"
$pagectl init --server "$grpc" | sed 's/^/  /'

echo
echo "== compute 1 on the empty workdir $demo/compute1"
start=$EPOCHREALTIME
start_compute "$demo/compute1"
awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "  empty workdir to SQL accepted: %.1f s\n", b - a }'
sql -e "CREATE DATABASE demo; CREATE TABLE demo.accounts (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB;
        INSERT INTO demo.accounts SELECT seq, CONCAT('account ', seq, ' balance 00100') FROM demo.seq_1_to_100;
        CREATE DATABASE sbtest;"
before=$(status last_record_lsn)
sql -e "UPDATE demo.accounts SET note = 'account 42 balance 99999' WHERE id = 42"
echo "  account 42 is now: $(sql -e "SELECT note FROM demo.accounts WHERE id = 42") (before: LSN $before)"
sb=(--db-driver=mysql --mysql-socket="$sock" --mysql-user=root --mysql-db=sbtest --tables=2 --table-size=10000)
sysbench oltp_read_write "${sb[@]}" prepare >/dev/null
sysbench oltp_read_write "${sb[@]}" --threads=4 --time=10 run | grep -E "transactions:|95th" | sed 's/^ */  sysbench: /'
rows=$(sql -e "SELECT (SELECT COUNT(*) FROM sbtest.sbtest1) + (SELECT COUNT(*) FROM sbtest.sbtest2), (SELECT SUM(k) FROM sbtest.sbtest1)")
echo "  sysbench rows, SUM(k) of sbtest1: $rows"

echo
echo "== kill -9 of compute 1 (mariadbd dies with it); its workdir is deleted"
kill -9 "$compute_pid"; wait "$compute_pid" 2>/dev/null || true
umount -l "$demo/compute1/data" 2>/dev/null || true
for _ in $(seq 200); do pgrep -f "datadir=$demo/compute1/data" >/dev/null || break; sleep 0.05; done
rm -rf "$demo/compute1"

echo
echo "== compute 2 on a new empty workdir $demo/compute2"
start_compute "$demo/compute2"
echo "  account 42: $(sql -e "SELECT note FROM demo.accounts WHERE id = 42")"
after=$(sql -e "SELECT (SELECT COUNT(*) FROM sbtest.sbtest1) + (SELECT COUNT(*) FROM sbtest.sbtest2), (SELECT SUM(k) FROM sbtest.sbtest1)")
echo "  sysbench rows, SUM(k) of sbtest1: $after $([[ $after == "$rows" ]] && echo '(the same: every committed row is there)' || echo '(DIFFERENT)')"
sql -e "CHECK TABLE demo.accounts, sbtest.sbtest1, sbtest.sbtest2 EXTENDED" | sed 's/^/  /'

echo
echo "== the page holding account 42 (demo.accounts, root page 3), from the page server"
now=$(status last_record_lsn)
space=$(curl -sf "http://$http/api/v1/tablespaces" | python3 -c 'import json,sys; print([t["space_id"] for t in json.load(sys.stdin)["tablespaces"] if t["path"].endswith("accounts.ibd")][0])')
for lsn in "$before" "$now"; do
  $pagectl getpage --server "$grpc" --space "$space" --page 3 --lsn "$lsn" --out "$demo/page.$lsn" 2>/dev/null
  $pagectl getpage --server "$grpc" --space "$space" --page 3 --lsn "$lsn" | head -1 | sed 's/^/  /'
  printf '    account 42 in those bytes: %s\n' "$(grep -ao 'account 42 balance [0-9]*' "$demo/page.$lsn" | head -1)"
done

echo
echo "== stop compute 2 (SIGTERM: a clean mariadbd shutdown, then unmount)"
kill -TERM "$compute_pid"; wait "$compute_pid" || true
tail -1 "$demo/compute2.log" | sed 's/^/  /'
echo "== GET /api/v1/status"
curl -sf "http://$http/api/v1/status"; echo
