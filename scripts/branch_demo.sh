#!/usr/bin/env bash
# Branches and time travel, in the commands of the README's walkthrough:
#   1. a pageserver, a database on it (pagectl init), a compute on main; a table with rows;
#   2. the time is noted, then the table is dropped on main;
#   3. a read-only compute at that time (pagectl compute --at): the table is there;
#   4. a writable branch at that time (pagectl branch create --at) and a compute on it: the table
#      is there, and what is written on the branch never shows on main.
# Run as root (mariadbd --user=root, FUSE). Everything stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build pagectl pageserver >/dev/null
pagectl=build/bin/pagectl
demo=$PWD/build/demo-branch
for m in "$demo"/*/data; do umount -l "$m" 2>/dev/null || true; done
rm -rf "$demo" && mkdir -p "$demo"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for m in "$demo"/*/data; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
sock=$demo/main.sock
source scripts/demo_lib.sh
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# words ARGS...: the arguments as a user types them (quoted when they hold a space)
words() { local a; for a in "$@"; do [[ $a == *" "* ]] && printf " '%s'" "$a" || printf ' %s' "$a"; done; }
# show pagectl ARGS...: prints the command, then runs it
show() { shift; echo "  \$ pagectl$(words "$@")"; $pagectl "$@" 2>&1 | sed 's/^/    /'; }
# compute NAME ARGS...: pagectl compute on workdir $demo/NAME and socket $demo/NAME.sock, in the
# background, until its "ready" line.
compute() {
  local name=$1; shift
  printf '  $ pagectl compute --server %s --workdir %s --socket %s' "$grpc" "$demo/$name" \
    "$demo/$name.sock"
  echo "$(words "$@") &"
  $pagectl compute --server "$grpc" --workdir "$demo/$name" --socket "$demo/$name.sock" "$@" \
    >"$demo/$name.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1200); do
    grep -q "^ready" "$demo/$name.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$demo/$name.log"; exit 1; }
    sleep 0.1
  done
  grep -E "^(read-only|ready)" "$demo/$name.log" | sed 's/^/    /'
}
on() { local s=$1; shift; printf '  [%s] %s\n' "$s" "$*"; sql_on "$s" -e "$*" | sed 's/^/    /'; }
sql_on() { local s=$1; shift; mariadb --no-defaults --socket="$demo/$s.sock" -uroot --table "$@"; }

say "1. a page server, a database on it, a compute on main"
start_demo_pageserver "$demo/ps" "$demo/pageserver.log"
echo "  pageserver: gRPC $grpc, HTTP $http"
$pagectl init --server "$grpc" >"$demo/init.log" 2>&1 || { cat "$demo/init.log"; exit 1; }
compute main
on main "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20)) ENGINE=InnoDB;
         INSERT INTO shop.orders VALUES (1, 'apples'), (2, 'pears'), (3, 'plums')"

say "2. the time is noted; then the table is dropped on main"
committed=$(date -u +%s)
# A time resolves to the second: wait for the clock's next second, so that the rows arrived
# before the time noted and the drop after it.
while (($(date -u +%s) <= committed)); do sleep 0.05; done
when=$(date -u '+%Y-%m-%d %H:%M:%S')
echo "  when = '$when' (UTC)"
on main "DROP TABLE shop.orders"
on main "SHOW TABLES FROM shop"

say "3. the past, read-only: a compute at that time (on an ephemeral branch, deleted when it stops)"
compute past --api "$http" --at "$when"
on past "SELECT * FROM shop.orders"

say "4. a writable branch at that time, and a compute on it"
show pagectl branch create --server "$http" --name recover --at "$when"
compute recover --timeline recover
on recover "INSERT INTO shop.orders VALUES (4, 'figs'); SELECT * FROM shop.orders"
on main "SHOW TABLES FROM shop"
show pagectl branch list --server "$http"
echo
echo "branch and time travel demo: done (the computes and the page server stop now)"
