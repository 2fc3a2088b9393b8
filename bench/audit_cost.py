#!/usr/bin/env python3
"""The cost of the audit trail and the request log on GetSecretValue (issue 13; BENCHMARKS.md,
"Audit trail and request log").

Production Coffer (HTTPS, SigV4, an IAM user allowed by an identity policy, SQLite) on one data
directory copied for each of four configurations: the audit trail on a local file or
`--no-audit-log`, times `COFFER_LOG=info` (one request log line per request, stderr to a file) or
`COFFER_LOG=warn`; and a fifth, the trail with `--audit-flush write` (written before each answer,
synced behind). All run at once, pinned to core 0, and the load (`coffer-bench load`, core 1)
alternates between them every `--duration` seconds, so that the machine's drift and other work
fall on all of them alike; the figure is each server's CPU per request from /proc
(`server_cpu_us_per_req`), the median over the rounds.

    python3 bench/audit_cost.py [--rounds 15] [--duration 2] [--concurrency 8]

Needs the release binaries (`cargo build --release -p coffer -p coffer-bench`) and boto3.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import boto3
import botocore.config

ACCOUNT = "123456789012"
ROOT_KEY = "AKIAAUDITCOSTROOT001"
ROOT_SECRET = "audit/cost/root/secret/key/0000000000000"
SECRETS = 1000

CONFIGURATIONS = [
    ("trail on, log info", [], "info"),
    ("trail written, log info", ["--audit-flush", "write"], "info"),
    ("no trail, log info", ["--no-audit-log"], "info"),
    ("trail on, log warn", [], "warn"),
    ("no trail, log warn", ["--no-audit-log"], "warn"),
]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Server:
    def __init__(self, coffer, data_dir, flags, log_level, log_file):
        env = dict(os.environ, COFFER_LOG=log_level, COFFER_ROOT_ACCESS_KEY_ID=ROOT_KEY,
                   COFFER_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
        self.log = open(log_file, "w")
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", coffer, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0",
             "--account-id", ACCOUNT, "--no-rate-limits", *flags],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        first = self.proc.stdout.readline()
        if not first.startswith("coffer listening on "):
            raise RuntimeError(f"coffer did not start: {first!r}")
        # The rest of stdout is a few notices: the pipe's buffer holds them unread.
        self.url = first.split("coffer listening on ", 1)[1].strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def bench(tool, srv, ca, key, secret, workload, concurrency, duration, extra=()):
    out = subprocess.run(
        ["taskset", "-c", "1", tool, "load" if workload else "seed", "--url", srv.url, "--ca", ca,
         "--pid", str(srv.proc.pid), "--secrets", str(SECRETS), "--concurrency", str(concurrency),
         *(["--workload", workload, "--duration", str(duration)] if workload else []), *extra],
        capture_output=True, text=True, check=True,
        env=dict(os.environ, COFFER_BENCH_ACCESS_KEY_ID=key, COFFER_BENCH_SECRET_ACCESS_KEY=secret))
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--coffer", default="target/release/coffer")
    parser.add_argument("--bench", default="target/release/coffer-bench")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--tmpfs-trail", action="store_true",
                        help="add a configuration with the trail on /dev/shm (tmpfs: fdatasync costs nothing), "
                             "which separates Coffer's own cost of the trail from the disk's flush")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="coffer-audit-cost-")
    data_dir = os.path.join(work, "data")
    ca = os.path.join(data_dir, "tls", "ca.pem")
    print(f"# {work}; load average before: {loadavg()}", file=sys.stderr)

    # Setup: seed the secrets with the root key, then an IAM user allowed to read them.
    srv = Server(args.coffer, data_dir, [], "warn", os.path.join(work, "setup.log"))
    bench(args.bench, srv, ca, ROOT_KEY, ROOT_SECRET, None, 32, 0)
    iam = boto3.client("iam", endpoint_url=srv.url, region_name="us-east-1", verify=ca,
                       aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                       config=botocore.config.Config(retries={"max_attempts": 1}))
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:*"}]}))
    user = iam.create_access_key(UserName="reader")["AccessKey"]
    srv.stop()

    configurations = list(CONFIGURATIONS)
    if args.tmpfs_trail:
        shm = tempfile.mkdtemp(prefix="coffer-audit-cost-", dir="/dev/shm")
        configurations.insert(1, ("trail on tmpfs, info", ["--audit-log", os.path.join(shm, "audit.log")], "info"))
    results = {name: [] for name, _, _ in configurations}
    # Every configuration runs at once, each on its own copy of the data directory, all pinned to
    # the same core; the rounds then alternate between them every `--duration` seconds. CPU time
    # per request on this virtual machine drifts by ±15% over minutes, more than the differences
    # measured here: fine interleaving makes every configuration see the same drift.
    servers = {}
    try:
        for n, (name, flags, level) in enumerate(configurations):
            copy = os.path.join(work, f"data-{n}")
            shutil.copytree(data_dir, copy)
            log_file = os.path.join(work, f"server-{n}-{level}.log")
            servers[name] = Server(args.coffer, copy, flags, level, log_file)
            # Warm the caches (key directory, caller's policies, decoded secret).
            bench(args.bench, servers[name], ca, user["AccessKeyId"], user["SecretAccessKey"],
                  "get-secret-value-hot", args.concurrency, 0, ["--requests", "2000"])
        for round_ in range(args.rounds):
            # Alternate the order too, so no configuration always runs first in a round.
            order = configurations if round_ % 2 == 0 else list(reversed(configurations))
            for name, _, _ in order:
                srv = servers[name]
                before = loadavg()
                report = bench(args.bench, srv, ca, user["AccessKeyId"], user["SecretAccessKey"],
                               "get-secret-value-hot", args.concurrency, args.duration)
                assert report["errors"] == 0, report
                report["loadavg"] = before
                results[name].append(report)
                print(f"round {round_ + 1} {name:24} {report['server_cpu_us_per_req']:7.1f} µs/req "
                      f"{report['rps']:8.0f} req/s  p50 {report['p50_us'] / 1000:.2f} ms "
                      f"p99 {report['p99_us'] / 1000:.2f} ms  other work {report['foreign_load_cores']:.2f} cores "
                      f"(load {before})", file=sys.stderr)
    finally:
        for srv in servers.values():
            srv.stop()

    print(f"# load average after: {loadavg()}", file=sys.stderr)
    # The cost of a configuration against another: the median over the rounds of the ratio of
    # their CPU per request *in the same round* (paired, so drift between rounds cancels).
    def paired(name, against):
        ratios = [a["server_cpu_us_per_req"] / b["server_cpu_us_per_req"]
                  for a, b in zip(results[name], results[against])]
        return 100 * (statistics.median(ratios) - 1)

    base = "no trail, log warn"
    print("| configuration | server CPU per request (median; each round) | against no trail, log warn "
          "(median of the rounds' ratios) | req/s (median) | p50 / p99 (median) |")
    print("|---|---|---|---|---|")
    for name, _, _ in configurations:
        runs = results[name]
        cpu = [r["server_cpu_us_per_req"] for r in runs]
        print(f"| {name} | **{statistics.median(cpu):.1f} µs** ({', '.join(f'{c:.0f}' for c in cpu)}) | "
              f"{paired(name, base):+.1f}% | "
              f"{statistics.median(r['rps'] for r in runs):.0f} | "
              f"{statistics.median(r['p50_us'] for r in runs) / 1000:.2f} / "
              f"{statistics.median(r['p99_us'] for r in runs) / 1000:.2f} ms |")
    print(f"- trail alone (log info): {paired('trail on, log info', 'no trail, log info'):+.1f}%")
    print(f"- written trail alone (log info): {paired('trail written, log info', 'no trail, log info'):+.1f}%")
    print(f"- log alone (no trail): {paired('no trail, log info', base):+.1f}%")
    if args.keep:
        print(f"# kept {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    if args.tmpfs_trail:
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
