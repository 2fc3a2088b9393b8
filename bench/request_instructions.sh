#!/usr/bin/env bash
# bench/request_instructions.sh BINARY [WORKLOAD] [REQUESTS] [MODE]: instructions the server executes
# per request, counted by valgrind's callgrind (this machine's VM exposes no hardware counters, and
# CPU time per request moves by ±15% between runs, more than a small change's effect). The server
# runs under callgrind with instrumentation off; after seeding and a warm-up, it is on for exactly
# REQUESTS requests at one connection. Deterministic to ~0.5%, so two builds compare directly:
#   bench/request_instructions.sh /tmp/coffer-before get-secret-value-hot 2000
#   bench/request_instructions.sh target/release/coffer get-secret-value-hot 2000
# MODE: dev (default, `serve --dev`, plain HTTP) or prod (the default production configuration: HTTPS,
# SigV4, policies, SQLite, the audit trail in a local file; its fsyncs are kernel time, not counted).
# SERVE_ARGS adds flags to `serve`, e.g. SERVE_ARGS=--no-audit-log to count the trail's own work.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1") workload=${2:-get-secret-value-hot} requests=${3:-2000} mode=${4:-dev}
bench=target/release/coffer-bench
work=$(mktemp -d /tmp/coffer-instr.XXXXXX)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
args=(serve --listen "127.0.0.1:$port")
creds=()
scheme=http
if [ "$mode" = dev ]; then
    args+=(--dev)
else
    args+=(--data-dir "$work/data")
    scheme=https
fi
# shellcheck disable=SC2206 # word splitting of SERVE_ARGS is the point
args+=(${SERVE_ARGS:-})
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.%p" \
    "$bin" "${args[@]}" > "$work/server.log" 2>&1 &
server=$!
ca=()
for _ in $(seq 1 600); do
    if [ "$mode" = dev ]; then
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    elif [ -f "$work/data/root-credentials" ] && [ -f "$work/data/tls/ca.pem" ]; then
        curl -s -o /dev/null --cacert "$work/data/tls/ca.pem" "https://127.0.0.1:$port/" && break
    fi
    sleep 0.2
done
if [ "$mode" != dev ]; then
    ca=(--ca "$work/data/tls/ca.pem")
    key=$(awk '$1 == "aws_access_key_id" {print $3}' "$work/data/root-credentials")
    secret=$(awk '$1 == "aws_secret_access_key" {print $3}' "$work/data/root-credentials")
    creds=(--access-key-id "$key" --secret-access-key "$secret")
fi
url="$scheme://127.0.0.1:$port"
"$bench" seed --url "$url" "${ca[@]}" "${creds[@]}" --secrets 10 > /dev/null
"$bench" load --url "$url" "${ca[@]}" "${creds[@]}" --secrets 10 --workload "$workload" \
    --concurrency 1 --requests 200 > /dev/null
callgrind_control --instr=on "$server" > /dev/null
"$bench" load --url "$url" "${ca[@]}" "${creds[@]}" --secrets 10 --workload "$workload" \
    --concurrency 1 --requests "$requests" > /dev/null
callgrind_control --dump "$server" > /dev/null
callgrind_control --instr=off "$server" > /dev/null
total=$(grep -h '^summary:' "$work"/cg.* | awk '{s += $2} END {print s}')
echo "$workload $mode: $((total / requests)) instructions per request ($total over $requests requests, $(basename "$bin"))"
