"""The benchmark suite's PostgreSQL targets (issue 16), run for a few hundred requests each: the suite
starts its own PostgreSQL server, one and two Coffer nodes on it, and every workload completes without
an error. Nothing here measures time; the figures of a run this short mean nothing."""
import json
import os
import pathlib
import subprocess

from conftest import REPO, coffer_bin

REQUESTS_PER_POINT = 200
SECRETS = 40


def bench_bin():
    explicit = os.environ.get("COFFER_BENCH_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    return str(pathlib.Path(target) / "debug" / "coffer-bench")


def test_postgres_targets_run_their_workloads_without_errors(tmp_path):
    out = subprocess.run(
        [bench_bin(), "suite", "--quick",
         "--targets", "coffer-prod-pg,coffer-prod-pg2",
         "--coffer", coffer_bin(),
         "--server-core", "none",
         "--out", str(tmp_path),
         # A smoke run: no waiting for a quiet machine, no re-measuring, a fixed number of
         # requests per point rather than a duration.
         "--quiet-wait", "0", "--attempts", "1",
         "--point-requests", str(REQUESTS_PER_POINT),
         "--concurrency", "1,8",
         "--secrets", str(SECRETS)],
        capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    targets = {t["target"]: t for t in results["targets"]}
    assert set(targets) == {"coffer-prod-pg", "coffer-prod-pg2"}
    for name, t in targets.items():
        # PostgreSQL is installed wherever the tests run (scripts/test installs it): a skip is a failure.
        assert t["skipped"] is None, f"{name}: {t['skipped']}"
        assert t["error"] is None, f"{name}: {t['error']}"
        assert t["seed"]["created"] == SECRETS and t["seed"]["errors"] == 0, t["seed"]
        workloads = {p["workload"] for p in t["points"]}
        assert workloads == {"get-secret-value-hot", "put-secret-value", "create-secret"}, workloads
        for p in t["points"]:
            r = p["report"]
            assert r["errors"] == 0, f"{name} {p['workload']} c={r['concurrency']}: {r['error_kinds']}"
            assert r["ok"] == REQUESTS_PER_POINT, (name, p["workload"], r["ok"])
            # Both sides' CPU was read: Coffer's (every node) and the PostgreSQL server's.
            assert r["server_cpu_us_per_req"] is not None, (name, p["workload"])
            assert r["database_cpu_us_per_req"] is not None, (name, p["workload"])
    # Two nodes: both processes' memory is counted.
    one, two = targets["coffer-prod-pg"]["idle_memory"], targets["coffer-prod-pg2"]["idle_memory"]
    assert two["rss_kib"] > one["rss_kib"], (one, two)
    report = (tmp_path / "results.md").read_text()
    assert "### Production on PostgreSQL" in report
    assert "Coffer, 2 nodes (HTTPS, auth, PostgreSQL)" in report
