#!/usr/bin/env bash
# bench/profile.sh TARGET WORKLOAD NAME [SECRETS]: one 10 s point at 8 connections of `coffer-bench
# suite` (release build) and `perf record --call-graph dwarf` of the server for 3 s of it; writes
# /tmp/coffer-profile/NAME.{data,txt} (the samples as `perf script` text, for bench/perf_children.py).
#   bench/profile.sh coffer-dev get-secret-value-hot gsv 200
#   python3 bench/perf_children.py /tmp/coffer-profile/gsv.txt 'App::process::{{closure}}' 2
# DELAY (seconds, default 2) waits for seeding before recording; PATTERN picks the server process
# (default "coffer serve"; "coffer-bench baseline" for the baselines). Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1 workload=$2 name=$3 secrets=${4:-2000}
out=/tmp/coffer-profile
mkdir -p "$out/$name"
target/release/coffer-bench suite --targets "$target" --workloads "$workload" --concurrency 8 \
    --duration 10 --secrets "$secrets" --restarts 0 --out "$out/$name" > "$out/$name.log" 2>&1 &
suite=$!
pid=""
for _ in $(seq 1 600); do
    pid=$(pgrep -f "${PATTERN:-coffer serve}" | head -1 || true)
    [ -n "$pid" ] && break
    sleep 0.2
done
[ -n "$pid" ] || { echo "no server process"; exit 1; }
sleep "${DELAY:-2}"
pid=$(pgrep -f "${PATTERN:-coffer serve}" | head -1)
perf record -F 499 --call-graph dwarf,16384 -p "$pid" -o "$out/$name.data" -- sleep 3 > /dev/null 2>&1
wait "$suite"
perf script -i "$out/$name.data" -F comm,ip,sym 2> /dev/null > "$out/$name.txt"
grep 'c=' "$out/$name.log"
