#!/usr/bin/env bash
# Issue 12: the wire conventions operators expect of the page server's gRPC port: server
# reflection lists pageserver.PageServer (and gives its definition), and the standard health
# service answers SERVING, through a real gRPC client (grpc_conventions_check).
set -euo pipefail
WORK=$(mktemp -d "${TMPDIR:-/tmp}/grpc_conventions.XXXXXX")
SERVER_PID=""
cleanup() { [[ -z $SERVER_PID ]] || kill "$SERVER_PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=127.0.0.1:$(free_port)
"$PAGESERVER" --data-dir "$WORK/data" --grpc-addr "$GRPC" --http-addr "127.0.0.1:$(free_port)" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
# The check waits for the connection (up to 30 s): no sleep here.
"$GRPC_CONVENTIONS_CHECK" --server "$GRPC" --expect-service pageserver.PageServer || { echo "server log:"; tail -20 "$WORK/server.log"; exit 1; }
