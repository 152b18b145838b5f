# Bad requests over HTTP (sourced by server_test.sh after the server has a base and redo).
# Each row: a request, the HTTP statuses accepted, a word its JSON error must contain. After
# every row the server's status and a page read must be exactly as before: bad input never
# changes what is stored.

http_call() {  # http_call METHOD PATH [BODY] -> prints "CODE BODY"
  local method=$1 path=$2 body=${3-}
  local out code
  out=$(mktemp)
  if [[ $method == GET ]]; then
    code=$(api_curl -s -o "$out" -w '%{http_code}' "$HTTP_SCHEME://$HTTP$path")
  else
    code=$(api_curl -s -o "$out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data-binary "$body" "$HTTP_SCHEME://$HTTP$path")
  fi
  printf '%s %s' "$code" "$(cat "$out")"
  rm -f "$out"
}

b64() { python3 -c "import base64,sys; sys.stdout.write(base64.b64encode(bytes.fromhex('$1')).decode())"; }

# The state a bad request must not change: status fields that only storage moves, and a page.
snapshot() {
  local status page
  status=$(api_curl -sf "$HTTP_SCHEME://$HTTP/api/v1/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["last_record_lsn"], s["durable_lsn"], s["base_lsn"], s["image_layers"], s["delta_layers"])')
  page=$(http_call POST /api/v1/get_page '{"space_id": 0, "page_no": 0}' | md5sum)
  printf '%s|%s' "$status" "$page"
}

run_bad_input_cases() {
  local last base ok=0
  last=$(status_field last_record_lsn)
  base=$(status_field base_lsn)
  local before
  before=$(snapshot)
  # name | method | path | body | accepted codes | word in the error
  local -a cases=(
    "gap|POST|/api/v1/stream_wal|{\"lsn\": $((last + 1000)), \"wal_data\": \"$(b64 616263)\"}|409|gap"
    "differing overlap|POST|/api/v1/stream_wal|{\"lsn\": $((last - 8)), \"wal_data\": \"$(b64 55555555555555555555555555555555)\"}|400|differs"
    "corrupt bytes|POST|/api/v1/stream_wal|{\"lsn\": $last, \"wal_data\": \"$(b64 "$(printf '00%.0s' {1..64})")\"}|400|corrupt"
    "malformed JSON|POST|/api/v1/stream_wal|{\"lsn\": $last, \"wal_data\": |400|JSON"
    "bad base64|POST|/api/v1/stream_wal|{\"lsn\": $last, \"wal_data\": \"@@@@\"}|400|base64"
    "missing lsn|POST|/api/v1/stream_wal|{\"wal_data\": \"$(b64 00)\"}|400|lsn"
    "wrong type|POST|/api/v1/get_page|{\"space_id\": \"zero\", \"page_no\": 0}|400|space_id"
    "unknown space|POST|/api/v1/get_page|{\"space_id\": 4000000, \"page_no\": 0}|404|tablespace 4000000"
    "page past the end|POST|/api/v1/get_page|{\"space_id\": 0, \"page_no\": 4000000000}|400 416|past the end"
    "LSN below the base|POST|/api/v1/get_page|{\"space_id\": 0, \"page_no\": 0, \"lsn\": $((base - 1))}|400 416|below"
    "LSN never reached|POST|/api/v1/get_page|{\"space_id\": 0, \"page_no\": 0, \"lsn\": $((last + 1000000000))}|504|not reached"
    "unknown path|GET|/api/v1/no_such_thing||404|"
  )
  local row name method path body codes word answer code json after
  for row in "${cases[@]}"; do
    IFS='|' read -r name method path body codes word <<<"$row"
    answer=$(http_call "$method" "$path" "$body")
    code=${answer%% *}
    json=${answer#* }
    if [[ " $codes " != *" $code "* ]]; then
      log "bad_input [$name]: HTTP $code, expected one of ($codes): $json"
      ok=1
    elif [[ -n $word && $json != *"$word"* ]]; then
      log "bad_input [$name]: the error does not say '$word': $json"
      ok=1
    elif [[ -n $word ]] && ! python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["error"]' "$json" 2>/dev/null; then
      log "bad_input [$name]: not a JSON error: $json"
      ok=1
    else
      log "bad_input [$name]: HTTP $code $json"
    fi
    after=$(snapshot)
    if [[ $after != "$before" ]]; then
      log "bad_input [$name]: the server's state changed: $before -> $after"
      ok=1
    fi
  done
  return "$ok"
}
