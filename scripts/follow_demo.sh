#!/usr/bin/env bash
# The follow demo: a page server on local disk following a running, stock MariaDB, and a page read
# at an earlier LSN next to the same page now.
#   1. builds pagectl and pageserver;
#   2. starts a private mariadbd (build/demo/mariadb, socket only) with a small table;
#   3. starts a pageserver (build/demo/pageserver) and `pagectl follow --bootstrap`: one command
#      takes a mariadb-backup of the running server, prepares it, imports it, then tails
#      ib_logfile0 and streams every new mini-transaction;
#   4. changes one row, runs a short sysbench load, waits until the server has caught up;
#   5. shows the row's page as it was before the change and as it is now (read from the page
#      server at two LSNs), the follower's progress and lag, and the server's status.
# Run as root (mariadbd --user=root). Everything stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build pagectl pageserver >/dev/null
pagectl=build/bin/pagectl
demo=$PWD/build/demo
rm -rf "$demo/mariadb" "$demo/pageserver" "$demo/backup" && mkdir -p "$demo/mariadb" "$demo/pageserver"
data=$demo/mariadb/data sock=$demo/mariadb/mysqld.sock
opts=(--innodb-use-native-aio=0 --innodb-flush-method=fsync --innodb-log-file-buffering=ON
      --innodb-log-file-mmap=OFF --innodb-log-file-size=64M --innodb-buffer-pool-size=128M)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
source scripts/demo_lib.sh

echo "== a private MariaDB ($(mariadbd --version | awk '{print $3}')) in $data"
mariadb-install-db --no-defaults --user=root --datadir="$data" --auth-root-authentication-method=normal \
  --skip-test-db "${opts[@]}" >"$demo/mariadb/install.log" 2>&1
mariadbd --no-defaults --user=root --datadir="$data" --socket="$sock" --skip-networking \
  --log-error="$demo/mariadb/error.log" "${opts[@]}" 2>/dev/null &
mariadbd_pid=$!
pids+=("$mariadbd_pid")
for _ in $(seq 300); do sql -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
sql -e "CREATE DATABASE demo; USE demo; CREATE TABLE demo.accounts (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB;
        INSERT INTO demo.accounts SELECT seq, CONCAT('account ', seq, ' balance 00100') FROM seq_1_to_100;
        CREATE DATABASE sbtest;"
sysbench oltp_read_write --db-driver=mysql --mysql-socket="$sock" --mysql-user=root --mysql-db=sbtest \
  --tables=2 --table-size=10000 prepare >/dev/null

echo "== pageserver on local disk ($demo/pageserver) and pagectl follow --bootstrap"
start_demo_pageserver "$demo/pageserver/data" "$demo/pageserver/server.log"
$pagectl follow --server "$grpc" --datadir "$data" --bootstrap --socket "$sock" \
  --backup-dir "$demo/backup" >"$demo/follow.out" 2>"$demo/follow.err" &
follow_pid=$!
pids+=("$follow_pid")
for _ in $(seq 600); do grep -q "from LSN" "$demo/follow.err" 2>/dev/null && break; sleep 0.1; done
grep -a "imported\|from LSN" "$demo/follow.out" "$demo/follow.err" | sed 's/^[^:]*://'
before=$(status last_record_lsn)
echo "server holds LSN $before; account 42 is now: $(sql -e "SELECT note FROM demo.accounts WHERE id = 42")"

echo
echo "== a change and a short sysbench load, followed live"
sql -e "UPDATE demo.accounts SET note = 'account 42 balance 99999' WHERE id = 42"
echo "account 42 is now: $(sql -e "SELECT note FROM demo.accounts WHERE id = 42")"
sysbench oltp_read_write --db-driver=mysql --mysql-socket="$sock" --mysql-user=root --mysql-db=sbtest \
  --tables=2 --table-size=10000 --threads=2 --time=10 run | grep -E "transactions:|queries:"
target=$(sql -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='INNODB_LSN_CURRENT'")
for _ in $(seq 300); do (($(status last_record_lsn) >= target)) && break; sleep 0.1; done
now=$(status last_record_lsn)
echo "follower: $(tr '\r' '\n' <"$demo/follow.err" | grep "lag" | tail -1)"

echo
echo "== the page holding account 42 (demo.accounts, root page 3) from the page server"
space=$(curl -sf "http://$http/api/v1/tablespaces" | python3 -c 'import json,sys; print([t["space_id"] for t in json.load(sys.stdin)["tablespaces"] if t["path"].endswith("accounts.ibd")][0])')
for lsn in "$before" "$now"; do
  $pagectl getpage --server "$grpc" --space "$space" --page 3 --lsn "$lsn" --out "$demo/page.$lsn" 2>/dev/null
  $pagectl getpage --server "$grpc" --space "$space" --page 3 --lsn "$lsn" | head -2
  printf '  account 42 in those bytes: %s\n\n' "$(grep -ao 'account 42 balance [0-9]*' "$demo/page.$lsn" | head -1)"
done

echo "== GET /api/v1/status"
curl -sf "http://$http/api/v1/status"; echo
kill -TERM "$follow_pid"; wait "$follow_pid" 2>/dev/null || true
tr '\r' '\n' <"$demo/follow.err" | grep "stopped at" || true
sql -e "SHUTDOWN"; wait "$mariadbd_pid" 2>/dev/null || true
