#!/usr/bin/env bash
# Regenerates crates/coffer/startup-order.txt: the functions `coffer serve --dev` runs from its
# start to its first answers (a signed GetCallerIdentity, as the benchmark's start-up probe sends,
# and a ListSecrets), which crates/coffer/build.rs hands to LLD so that they are laid out together
# (bench/NOTES.md, *Memory*: scattered, they kept ~6.4 MiB of code resident in an idle process).
#
# Run it after changes to what start-up does; a stale list costs memory, never correctness.
# Needs valgrind (callgrind records every function run, which sampling on this PMU-less VM cannot)
# and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }

cargo build --release -p coffer
bin=target/release/coffer
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind.out" \
    "$bin" serve --dev --listen 127.0.0.1:0 >"$work/stdout" 2>"$work/stderr" &
server=$!
url=
for _ in $(seq 1 120); do
    url=$(sed -n 's/.* listening on \(http[^ ]*\).*/\1/p' "$work/stdout" | head -1)
    [ -n "$url" ] && break
    sleep 0.5
done
[ -n "$url" ] || { echo "the server printed no listening line" >&2; cat "$work/stderr" >&2; exit 1; }

creds=AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
curl -sf --aws-sigv4 "aws:amz:us-east-1:sts" --user "$creds" \
    -d "Action=GetCallerIdentity&Version=2011-06-15" "$url/" >/dev/null
curl -sf --aws-sigv4 "aws:amz:us-east-1:secretsmanager" --user "$creds" \
    -H "X-Amz-Target: secretsmanager.ListSecrets" -H "Content-Type: application/x-amz-json-1.1" \
    -d '{}' "$url/" >/dev/null
kill -INT "$server"
wait "$server" || true

# Functions in the order callgrind first names them, kept when the binary defines them (callgrind
# also names libc's, the loader's and addresses without symbols).
nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$work/symbols"
python3 - "$work/callgrind.out" "$work/symbols" crates/coffer/startup-order.txt <<'EOF'
import re, sys

trace, symbols, out = sys.argv[1:]
defined = set(open(symbols).read().split())
seen, order = set(), []
for line in open(trace):
    m = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
    if m and m.group(1) in defined and m.group(1) not in seen:
        seen.add(m.group(1))
        order.append(m.group(1))
if len(order) < 500:
    sys.exit(f"only {len(order)} functions recorded: is the binary stripped?")
with open(out, "w") as f:
    f.write("\n".join(order) + "\n")
print(f"{out}: {len(order)} functions")
EOF
