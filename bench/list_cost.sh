#!/usr/bin/env bash
# Server CPU per ListSecrets page of 100 in every SortBy / SortOrder on a `coffer serve --dev` seeded
# with N secrets (issue 16): server on core 0, `coffer-bench load --pid` on core 1, 4 connections,
# 4 s per order. For a quick comparison of two binaries; the full figures come from
# `coffer-bench suite` (BENCHMARKS.md, "ListSecrets in every sort order").
#
#   bench/list_cost.sh BINARY N
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
n=$2
load=${COFFER_BENCH:-target/release/coffer-bench}
[ -x "$load" ] || load=target/debug/coffer-bench
out=$(mktemp)
taskset -c 0 "$bin" serve --dev --listen 127.0.0.1:0 > "$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 400); do grep -q "listening on" "$out" && break; sleep 0.05; done
url=$(sed -n 's/^coffer listening on //p' "$out" | head -1)
"$load" seed --url "$url" --secrets "$n" > /dev/null
for w in list-secrets list-secrets-created-desc list-secrets-changed list-secrets-changed-desc \
    list-secrets-accessed list-secrets-accessed-desc list-secrets-name list-secrets-name-desc; do
    taskset -c 1 "$load" load --url "$url" --pid "$pid" --secrets "$n" --workload "$w" \
        --concurrency 4 --duration 4 |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(sys.argv[1], round(d["server_cpu_us_per_req"]), "us/page,", d["errors"], "errors")' "$w"
done
