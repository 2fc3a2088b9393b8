#!/usr/bin/env bash
# Memory of a `coffer serve --dev` server (issue 16): smaps_rollup idle (after one request), then
# after seeding N secrets with `coffer-bench seed` (32 concurrent CreateSecret); with --maps, the
# idle server's largest mappings by anonymous memory instead.
#
#   bench/dev_memory.sh BINARY N            e.g. bench/dev_memory.sh target/release/coffer 10000
#   bench/dev_memory.sh BINARY --maps
#
# COFFER_BENCH (default target/release/coffer-bench, else target/debug/coffer-bench) seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
mode=$2
load=${COFFER_BENCH:-target/release/coffer-bench}
[ -x "$load" ] || load=target/debug/coffer-bench
out=$(mktemp)
"$bin" serve --dev --listen 127.0.0.1:0 > "$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 400); do grep -q "listening on" "$out" && break; sleep 0.05; done
url=$(sed -n 's/^coffer listening on //p' "$out" | head -1)
"$load" seed --url "$url" --secrets 1 --prefix warm/ --concurrency 1 > /dev/null
sleep 0.5
rss() {
    awk '/^Rss:|^Pss_Anon:|^Pss_File:/ {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$pid/smaps_rollup"
    echo "threads=$(ls "/proc/$pid/task" | wc -l)"
}
if [ "$mode" = "--maps" ]; then
    awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; perm=$2} /^Rss:/{rss=$2}
         /^Anonymous:/{printf "%7d KiB anon %7d KiB rss  %s %s\n", $2, rss, perm, name}' \
        "/proc/$pid/smaps" | sort -n -r | head -12
    exit 0
fi
echo "idle: $(rss)"
"$load" seed --url "$url" --secrets "$mode" > /dev/null
sleep 0.5
echo "after $mode secrets: $(rss)"
