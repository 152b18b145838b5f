# demo_lib.sh: what the demos share. Sourced after `sock` and `demo` are set; callers append the
# PIDs to stop to `pids`.
sql() { mariadb --no-defaults --socket="$sock" -uroot --batch --skip-column-names "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status() { curl -sf "http://$http/api/v1/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# start_demo_pageserver DATA_DIR LOG: a pageserver on free ports (sets grpc, http), until it answers.
start_demo_pageserver() {
  grpc=127.0.0.1:$(free_port) http=127.0.0.1:$(free_port)
  build/bin/pageserver --data-dir "$1" --grpc-addr "$grpc" --http-addr "$http" >"$2" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://$http/api/v1/ping" >/dev/null 2>&1 && break; sleep 0.1; done
}
