//! Markdown from a suite run: the results table in bench/results/ and BENCHMARKS.md around it.

use std::fmt::Write;

use crate::load::LoadReport;
use crate::suite::{fmt_us, reference_concurrency, SuiteResult, TargetResult, PACED_WORKLOAD};
use crate::target::TargetKind;
use crate::workload::{Workload, RANDOM_OVER};

/// A median with the samples it was taken from, when there were several.
fn median_of(median: f64, all: &[f64]) -> String {
    if all.len() > 1 {
        let all: Vec<String> = all.iter().map(|v| format!("{v:.1}")).collect();
        format!("{median:.1} ms (of {} ms)", all.join(", "))
    } else {
        format!("{median:.1} ms")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "–".into())
}

fn rate(rps: f64) -> String {
    if rps >= 10_000.0 {
        format!("{:.1}k", rps / 1e3)
    } else {
        format!("{rps:.0}")
    }
}

fn errors(r: &LoadReport) -> String {
    if r.errors == 0 {
        return "0".into();
    }
    let top = r
        .error_kinds
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, _)| k.replace('|', "/"))
        .unwrap_or_default();
    format!("{} ({top})", r.errors)
}

/// RSS with the issue's 10,000 secrets: the checkpoint of a larger seeding, or the end of one of
/// exactly that size.
pub(crate) fn memory_at_10k(t: &TargetResult) -> Option<crate::proc_stats::Memory> {
    let seed = t.seed.as_ref()?;
    seed.memory_at_random_over
        .or(if seed.created == RANDOM_OVER {
            seed.memory_after
        } else {
            None
        })
}

pub(crate) fn target(r: &SuiteResult, kind: TargetKind) -> Option<&TargetResult> {
    r.targets.iter().find(|t| t.target == kind)
}

pub fn point(
    r: &SuiteResult,
    kind: TargetKind,
    workload: Workload,
    concurrency: usize,
) -> Option<&LoadReport> {
    target(r, kind)?
        .points
        .iter()
        .find(|p| {
            p.workload == workload
                && p.report.concurrency == concurrency
                && p.report.target_rps.is_none()
        })
        .map(|p| &p.report)
}

/// The point with the highest successful throughput, if any request succeeded.
pub fn peak(r: &SuiteResult, kind: TargetKind, workload: Workload) -> Option<&LoadReport> {
    target(r, kind)?
        .points
        .iter()
        .filter(|p| p.workload == workload && p.report.ok > 0 && p.report.target_rps.is_none())
        .map(|p| &p.report)
        .max_by(|a, b| a.rps.total_cmp(&b.rps))
}

fn workloads_run(r: &SuiteResult) -> Vec<Workload> {
    Workload::every()
        .filter(|w| {
            r.targets
                .iter()
                .any(|t| t.points.iter().any(|p| p.workload == *w))
        })
        .collect()
}

pub fn results_markdown(r: &SuiteResult) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "### Run\n");
    let _ = writeln!(
        s,
        "- {} ({}), `{}`; {} s per point at concurrency {:?}; {} secrets seeded; whole run {:.0} s.",
        r.date,
        if r.quick { "quick mode" } else { "full mode" },
        r.command,
        r.duration_s,
        r.concurrencies,
        r.secrets,
        r.wall_s
    );
    let _ = writeln!(
        s,
        "- Machine: {} × {}, Linux {}; servers pinned to core {}, load generator on the other. \
         Load average before / after: {} / {}; other processes' CPU when the run began: {}.\n",
        m.cores,
        m.cpu,
        m.kernel,
        m.server_core.as_deref().unwrap_or("(not pinned)"),
        m.load_average_before,
        r.load_average_after,
        m.foreign_load_at_start
            .map(|c| format!("{c:.2} cores"))
            .unwrap_or_else(|| "unknown".into())
    );

    let _ = writeln!(s, "### Start-up and memory\n");
    let _ = writeln!(
        s,
        "| target | spawn to first response | idle RSS | seeded (CreateSecret/s) | RSS at 10,000 secrets | RSS after seeding | peak RSS | restart with the seeded store (median) | idle RSS then |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for t in r.targets.iter().filter(|t| t.skipped.is_none()) {
        let peak_hwm = t
            .points
            .iter()
            .filter_map(|p| p.report.server_memory.map(|m| m.hwm_kib))
            .max();
        let seeded = t.seed.as_ref().map(|sd| {
            let mut x = format!(
                "{} ({:.0}/s)",
                sd.created,
                sd.created as f64 / sd.seconds.max(1e-9)
            );
            if sd.errors > 0 {
                let _ = write!(x, ", {} errors", sd.errors);
            }
            x
        });
        let restarts = t
            .startup_seeded_ms
            .map(|median| median_of(median, &t.startup_seeded_all_ms));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.label,
            opt(t.startup_ms, |v| median_of(v, &t.startup_all_ms)),
            opt(t.idle_memory, |m| mib(m.rss_kib)),
            seeded.unwrap_or_else(|| "–".into()),
            opt(memory_at_10k(t), |m| mib(m.rss_kib)),
            opt(t.seed.as_ref().and_then(|x| x.memory_after), |m| mib(
                m.rss_kib
            )),
            opt(peak_hwm, mib),
            restarts.unwrap_or_else(|| "–".into()),
            opt(t.idle_memory_seeded, |m| mib(m.rss_kib)),
        );
    }
    for t in r.targets.iter().filter(|t| t.skipped.is_some()) {
        let _ = writeln!(
            s,
            "\n**{}** was skipped: {}",
            t.label,
            t.skipped.as_deref().unwrap_or("")
        );
    }
    for t in r.targets.iter().filter(|t| t.error.is_some()) {
        let _ = writeln!(
            s,
            "\n**{}** did not complete: `{}`",
            t.label,
            t.error.as_deref().unwrap_or("")
        );
    }

    let _ = writeln!(
        s,
        "\n### Peak throughput and server CPU per request\n\nEach cell: successful requests/s at the best concurrency tried (in brackets), then the \
         server's CPU time (user + system) per response at that point (for the PostgreSQL targets, \
         Coffer's + the PostgreSQL server's); **busy** and a figure mark a point measured while other processes used that many cores (more than {:.2}) after {} attempts.\n",
        crate::suite::QUIET_CORES,
        crate::suite::POINT_ATTEMPTS
    );
    let kinds: Vec<&TargetResult> = r.targets.iter().filter(|t| t.skipped.is_none()).collect();
    let _ = write!(s, "| workload |");
    for t in &kinds {
        let _ = write!(s, " {} |", t.label);
    }
    let _ = write!(s, "\n|---|");
    for _ in &kinds {
        let _ = write!(s, "---|");
    }
    s.push('\n');
    for w in workloads_run(r) {
        let _ = write!(s, "| {} |", w.label());
        for t in &kinds {
            let ran = t.points.iter().any(|p| p.workload == w);
            let cell = match peak(r, t.target, w) {
                Some(p) => format!(
                    " {} ({}) · {}{}{}{} |",
                    rate(p.rps),
                    p.concurrency,
                    fmt_us(p.server_cpu_us_per_req),
                    p.database_cpu_us_per_req
                        .map(|db| format!(" + {}", fmt_us(Some(db))))
                        .unwrap_or_default(),
                    if p.errors > 0 {
                        format!(" · {} errors", p.errors)
                    } else {
                        String::new()
                    },
                    busy_mark(p)
                ),
                None if ran => {
                    let first = t
                        .points
                        .iter()
                        .find(|p| p.workload == w)
                        .map(|p| errors(&p.report))
                        .unwrap_or_default();
                    format!(" no success: {first} |")
                }
                None => " – |".into(),
            };
            s.push_str(&cell);
        }
        s.push('\n');
    }

    postgres_section(&mut s, r);

    let _ = writeln!(s, "\n### Against the targets of issue 7\n");
    let _ = writeln!(
        s,
        "| target | goal | measured | verdict |\n|---|---|---|---|"
    );
    for row in goals(r) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            row.what, row.goal, row.measured, row.verdict
        );
    }

    crate::round_two::section(&mut s, r);

    let _ = writeln!(s, "\n### Every point\n");
    for w in workloads_run(r) {
        let _ = writeln!(s, "#### {}\n", w.label());
        let _ = writeln!(
            s,
            "| target | connections | req/s | p50 | p99 | p99.9 | server CPU/req | PostgreSQL CPU/req | server RSS | errors | other load (cores) |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
        for t in &r.targets {
            for p in t.points.iter().filter(|p| p.workload == w) {
                let q = &p.report;
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    t.label,
                    match q.target_rps {
                        Some(x) => format!("{} paced at {}/s", q.concurrency, rate(x)),
                        None => q.concurrency.to_string(),
                    },
                    rate(q.rps),
                    fmt_us(q.p50_us),
                    fmt_us(q.p99_us),
                    fmt_us(q.p999_us),
                    fmt_us(q.server_cpu_us_per_req),
                    fmt_us(q.database_cpu_us_per_req),
                    opt(q.server_memory, |m| mib(m.rss_kib)),
                    errors(q),
                    // Other processes' CPU during the point: a figure beside other work is marked.
                    opt(q.foreign_load_cores, |c| format!(
                        "{c:.2}{}",
                        if c >= crate::suite::QUIET_CORES {
                            " **busy**"
                        } else {
                            ""
                        }
                    )),
                );
            }
        }
        s.push('\n');
    }
    s
}

/// The PostgreSQL targets beside production on SQLite: where the CPU goes once the store is a
/// separate server, and what a second node costs.
const POSTGRES_WORKLOADS: [Workload; 3] = [
    Workload::GetSecretValueHot,
    Workload::PutSecretValue,
    Workload::CreateSecret,
];
const POSTGRES_COMPARED: [TargetKind; 3] = [
    TargetKind::CofferProd,
    TargetKind::CofferProdPg,
    TargetKind::CofferProdPg2,
];

fn postgres_section(s: &mut String, r: &SuiteResult) {
    let ran = |k: TargetKind| target(r, k).is_some_and(|t| !t.points.is_empty());
    if !ran(TargetKind::CofferProdPg) && !ran(TargetKind::CofferProdPg2) {
        return;
    }
    let _ = writeln!(
        s,
        "\n### Production on PostgreSQL\n\n\
         The production configuration with `--storage postgres://…` on a PostgreSQL server the suite \
         starts (initdb in a temporary directory, 127.0.0.1, `fsync` and `synchronous_commit` on, pinned \
         to the server core beside Coffer), one node and two nodes on the same database with the load \
         generator's connections alternating between them; production on SQLite for comparison. Each \
         row: the point of highest throughput; CPU per response of Coffer (both nodes together) and of \
         PostgreSQL (the postmaster's process tree), and the two together. The two-node target's memory \
         figures above are both nodes' together.\n"
    );
    let _ = writeln!(
        s,
        "| workload | target | req/s (connections) | p99 | Coffer CPU/req | PostgreSQL CPU/req | together | vs SQLite |\n\
         |---|---|---|---|---|---|---|---|"
    );
    let together = |p: &LoadReport| {
        p.server_cpu_us_per_req
            .map(|c| c + p.database_cpu_us_per_req.unwrap_or(0.0))
    };
    for w in POSTGRES_WORKLOADS {
        let sqlite = peak(r, TargetKind::CofferProd, w).and_then(together);
        for k in POSTGRES_COMPARED {
            if !target(r, k).is_some_and(|t| t.points.iter().any(|p| p.workload == w)) {
                continue;
            }
            let row = match peak(r, k, w) {
                Some(p) => {
                    let all = together(p);
                    let vs = match (all, sqlite) {
                        (Some(a), Some(b)) if b > 0.0 && k != TargetKind::CofferProd => {
                            format!("{:.2}× CPU", a / b)
                        }
                        _ => "–".into(),
                    };
                    format!(
                        "{} ({}){} | {} | {} | {} | {} | {vs}",
                        rate(p.rps),
                        p.concurrency,
                        busy_mark(p),
                        fmt_us(p.p99_us),
                        fmt_us(p.server_cpu_us_per_req),
                        fmt_us(p.database_cpu_us_per_req),
                        fmt_us(all),
                    )
                }
                None => {
                    let first = target(r, k)
                        .and_then(|t| t.points.iter().find(|p| p.workload == w))
                        .map(|p| errors(&p.report))
                        .unwrap_or_default();
                    format!("no success: {first} | – | – | – | – | –")
                }
            };
            let _ = writeln!(s, "| {} | {} | {row} |", w.label(), k.label());
        }
    }
}

pub struct Goal {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub verdict: &'static str,
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

pub(crate) fn paced(r: &SuiteResult, kind: TargetKind) -> Option<&LoadReport> {
    target(r, kind)?
        .points
        .iter()
        .find(|p| p.workload == PACED_WORKLOAD && p.report.target_rps.is_some())
        .map(|p| &p.report)
}

pub fn goals(r: &SuiteResult) -> Vec<Goal> {
    let c = reference_concurrency(&r.concurrencies);
    let gsv = Workload::GetSecretValueHot;
    let ok_point = |k, w, c| point(r, k, w, c).filter(|p| p.ok > 0 && p.errors == 0);
    let dev = ok_point(TargetKind::CofferDev, gsv, c);
    let prod = ok_point(TargetKind::CofferProd, gsv, c);
    let base = ok_point(TargetKind::BaselineHttp, gsv, c);
    let base_tls = ok_point(TargetKind::BaselineTls, gsv, c);
    let moto = ok_point(TargetKind::Moto, gsv, c);
    let mut rows = Vec::new();

    let mut ratio = |what: &str,
                     goal: &str,
                     a: Option<&LoadReport>,
                     b: Option<&LoadReport>,
                     f: fn(&LoadReport) -> Option<f64>,
                     limit: f64,
                     at_most: bool| {
        let v = match (a.and_then(f), b.and_then(f)) {
            (Some(x), Some(y)) if y > 0.0 => Some((x / y, x, y)),
            _ => None,
        };
        rows.push(Goal {
            what: what.into(),
            goal: goal.into(),
            measured: v.map_or("–".into(), |(q, x, y)| {
                format!("{q:.2}× ({x:.1} vs {y:.1})")
            }),
            verdict: verdict(v.map(|(q, _, _)| if at_most { q <= limit } else { q >= limit })),
        });
    };
    let cpu = |p: &LoadReport| p.server_cpu_us_per_req;
    let rps = |p: &LoadReport| Some(p.rps);
    ratio(
        &format!("`--dev` GetSecretValue CPU/req vs baseline HTTP, {c} connections"),
        "≤ 1.3×",
        dev,
        base,
        cpu,
        1.3,
        true,
    );
    ratio(
        &format!("`--dev` GetSecretValue req/s vs baseline HTTP, {c} connections"),
        "≥ 0.9×",
        dev,
        base,
        rps,
        0.9,
        false,
    );
    ratio(
        &format!("production GetSecretValue CPU/req vs baseline TLS, {c} connections"),
        "≤ 2×",
        prod,
        base_tls,
        cpu,
        2.0,
        true,
    );
    ratio(
        &format!("production GetSecretValue req/s vs baseline TLS, {c} connections"),
        "≥ 0.5×",
        prod,
        base_tls,
        rps,
        0.5,
        false,
    );
    ratio(
        &format!("production GetSecretValue req/s vs moto_server, {c} connections"),
        "≥ 100×",
        prod,
        moto,
        rps,
        100.0,
        false,
    );

    let mut absolute = |what: String, goal: &str, v: Option<f64>, unit: &str, limit: f64, below| {
        rows.push(Goal {
            what,
            goal: goal.into(),
            measured: v.map_or("–".into(), |x| format!("{x:.1} {unit}")),
            verdict: verdict(v.map(|x| if below { x < limit } else { x >= limit })),
        });
    };
    let t_dev = target(r, TargetKind::CofferDev);
    let t_prod = target(r, TargetKind::CofferProd);
    let seeded =
        |t: Option<&TargetResult>| t.and_then(|t| t.seed.as_ref()).map_or(0, |s| s.created);
    let kib = |m: Option<crate::proc_stats::Memory>| m.map(|m| m.rss_kib as f64 / 1024.0);
    let dev_starts = t_dev.map_or(0, |t| t.startup_all_ms.len());
    absolute(
        if dev_starts > 1 {
            format!("`--dev` spawn to first response, median of {dev_starts} starts")
        } else {
            "`--dev` spawn to first response".to_string()
        },
        "< 10 ms",
        t_dev.and_then(|t| t.startup_ms),
        "ms",
        10.0,
        true,
    );
    absolute(
        "`--dev` idle RSS".into(),
        "< 10 MiB",
        kib(t_dev.and_then(|t| t.idle_memory)),
        "MiB",
        10.0,
        true,
    );
    let dev_10k = t_dev.and_then(memory_at_10k);
    absolute(
        if dev_10k.is_some() {
            "`--dev` RSS with 10,000 secrets".to_string()
        } else {
            format!(
                "`--dev` RSS after seeding {} secrets (goal is for 10,000)",
                seeded(t_dev)
            )
        },
        "< 25 MiB",
        kib(dev_10k.or(t_dev
            .and_then(|t| t.seed.as_ref())
            .and_then(|s| s.memory_after))),
        "MiB",
        25.0,
        true,
    );
    absolute(
        "production durable PutSecretValue, 32 writers".into(),
        "≥ 2,000/s",
        point(r, TargetKind::CofferProd, Workload::PutSecretValue, 32)
            .filter(|p| p.ok > 0)
            .map(|p| p.rps),
        "req/s",
        2000.0,
        false,
    );
    absolute(
        "production spawn to first response, empty".into(),
        "< 100 ms",
        t_prod.and_then(|t| t.startup_ms),
        "ms",
        100.0,
        true,
    );
    absolute(
        format!(
            "production spawn to first response with {} secrets, median of restarts (goal is for 100,000)",
            seeded(t_prod)
        ),
        "< 100 ms",
        t_prod.and_then(|t| t.startup_seeded_ms),
        "ms",
        100.0,
        true,
    );
    absolute(
        "production idle RSS".into(),
        "< 20 MiB",
        kib(t_prod.and_then(|t| t.idle_memory)),
        "MiB",
        20.0,
        true,
    );
    absolute(
        format!(
            "production RSS after seeding {} secrets (goal is for 100,000)",
            seeded(t_prod)
        ),
        "< 150 MiB",
        kib(t_prod
            .and_then(|t| t.seed.as_ref())
            .and_then(|s| s.memory_after)),
        "MiB",
        150.0,
        true,
    );
    let half = paced(r, TargetKind::CofferProd).filter(|p| p.ok > 0);
    rows.push(Goal {
        what: format!(
            "production GetSecretValue p99 at half of peak load ({})",
            half.and_then(|p| p.target_rps)
                .map_or("–".into(), |x| format!(
                    "{x:.0} req/s paced, {c} connections"
                ))
        ),
        goal: "< 2 ms".into(),
        // The TLS baseline paced the same way shows what the machine and the load generator
        // alone add to a p99 (timer wake-ups, an idle core waking).
        measured: match paced(r, TargetKind::BaselineTls).filter(|p| p.ok > 0) {
            Some(b) => format!(
                "{} (TLS baseline at half of its peak: {})",
                half.map_or("–".into(), |p| fmt_us(p.p99_us)),
                fmt_us(b.p99_us)
            ),
            None => half.map_or("–".into(), |p| fmt_us(p.p99_us)),
        },
        verdict: verdict(half.and_then(|p| p.p99_us).map(|v| v < 2_000.0)),
    });
    rows
}

/// BENCHMARKS.md: how to reproduce, the caveats, the latest figures and the hand-kept notes.
pub fn benchmarks_md(r: &SuiteResult, results_md: &str, notes: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Benchmarks\n\n\
         <!-- Generated by `scripts/bench` (crates/bench); edit bench/NOTES.md instead, it is copied in below. -->\n\n\
         Coffer against its peers and against this machine's ceiling, in one run (issue 7). Every request is \
         freshly signed with SigV4 by `coffer-bench` over keep-alive HTTP/1.1 connections (HTTPS where the target \
         speaks it). Targets: Coffer in its production configuration (HTTPS, SigV4 verified, policy evaluated, \
         SQLite, values encrypted at rest), the same on PostgreSQL with one node and with two nodes sharing the \
         database, Coffer `--dev` (in memory, plain HTTP, no auth), `moto_server` from \
         PyPI, and a **baseline** — a minimal hyper server in `crates/bench` that answers every request with a fixed \
         body the size of a GetSecretValue response, over plain HTTP and over rustls: the ceiling for this machine, \
         client and protocol.\n\n\
         ## Reproduce\n\n\
         ```sh\n\
         scripts/bench            # full run: every target, workload and concurrency, 100,000 secrets (~20–25 min)\n\
         scripts/bench --quick    # smoke run: short points, few secrets (~2 min)\n\
         scripts/bench --check    # regression guard: 3 ratios vs bench/results/results.json, fails >25% worse\n\
         target/release/coffer-bench report --benchmarks-md BENCHMARKS.md --notes bench/NOTES.md  # re-render from results.json\n\
         ```\n\n\
         `--check` runs `--dev` GetSecretValue, production GetSecretValue and production PutSecretValue for 3 s \
         each at 8 connections beside both baselines, and compares each one's CPU per request, as a ratio to its \
         baseline in the same run, with the committed results; CI runs it with `--report-only` (prints, never \
         fails: its machines are shared).\n\n\
         The PostgreSQL targets (`coffer-prod-pg`, `coffer-prod-pg2`) start their own PostgreSQL server (initdb in \
         a temporary directory, run as the `postgres` user when root, `fsync` on) and run GetSecretValue, \
         PutSecretValue and CreateSecret; without PostgreSQL installed they are skipped with the reason printed. \
         `scripts/bench --targets coffer-prod-pg,coffer-prod-pg2` runs them alone.\n\n\
         It builds the release binaries, installs `moto[server]` with pip when absent, pins each server to core 0 \
         (`taskset -c 0`) and the load generator to core 1, and writes `bench/results/results.md`, \
         `bench/results/results.json`, `bench/results/throughput.svg` and this file.\n\n\
         **Server CPU per request** (utime + stime of the server process from `/proc/<pid>/stat`, divided by the \
         responses served) is the figure that separates fast servers: one core of signing client saturates long \
         before a fast server does, so req/s alone mostly measures the client. Its precision is one clock tick \
         (10 ms) spread over the requests of a point, which is why short (`--quick`) points are coarse. Peak RSS is \
         VmHWM from `/proc/<pid>/status`.\n"
    );
    let _ = writeln!(
        s,
        "## Latest figures\n\n\
         > These figures were measured on a shared 2-core machine while other builds may have been running \
         (load average {} before the run, {} after){}. Treat them as indicative; ratios within one run \
         are more meaningful than absolute numbers. Nothing below is edited by hand.\n",
        r.machine.load_average_before,
        r.load_average_after,
        if r.quick {
            ", and in `--quick` mode, whose points last only a second or so"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "![throughput vs concurrency](bench/results/throughput.svg)\n"
    );
    s.push_str(results_md);
    if let Some(notes) = notes {
        s.push_str("\n## Notes\n\n");
        s.push_str(notes.trim());
        s.push('\n');
    }
    s
}

/// ` · busy 0.80` for a point measured beside other work, else nothing.
fn busy_mark(p: &LoadReport) -> String {
    match p.foreign_load_cores {
        Some(cores) if cores >= crate::suite::QUIET_CORES => format!(" · **busy** {cores:.2}"),
        _ => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::suite::{Machine, Point};

    fn target_result(kind: TargetKind, points: Vec<(Workload, f64, Option<f64>)>) -> TargetResult {
        TargetResult {
            startup_ms: Some(50.0),
            startup_all_ms: vec![50.0],
            points: points
                .into_iter()
                .map(|(workload, cpu, database)| Point {
                    workload,
                    report: LoadReport {
                        concurrency: 8,
                        ok: 1000,
                        rps: 500.0,
                        server_cpu_us_per_req: Some(cpu),
                        database_cpu_us_per_req: database,
                        foreign_load_cores: Some(0.0),
                        ..LoadReport::default()
                    },
                })
                .collect(),
            ..TargetResult::new(kind)
        }
    }

    /// A run of these targets, for the report tests here and in `round_two`.
    pub(crate) fn run(targets: Vec<TargetResult>) -> SuiteResult {
        SuiteResult {
            date: "2026-12-07 04:00:00 UTC".into(),
            command: "scripts/bench --quick".into(),
            quick: true,
            machine: Machine::default(),
            concurrencies: vec![1, 8],
            duration_s: 1.0,
            secrets: 200,
            targets,
            load_average_after: "1.00 1.00 1.00".into(),
            wall_s: 10.0,
        }
    }

    #[test]
    fn postgres_rows_add_the_database_cpu_and_compare_with_sqlite() {
        let put = Workload::PutSecretValue;
        let mut skipped = target_result(TargetKind::CofferProdPg2, vec![]);
        skipped.skipped = Some("PostgreSQL is not installed (initdb not found …)".into());
        let r = run(vec![
            target_result(TargetKind::CofferProd, vec![(put, 40.0, None)]),
            target_result(TargetKind::CofferProdPg, vec![(put, 30.0, Some(50.0))]),
            skipped,
        ]);
        let md = results_markdown(&r);
        assert!(md.contains("### Production on PostgreSQL"), "{md}");
        // 30 + 50 = 80 µs, twice SQLite's 40.
        assert!(
            md.contains(
                "| PutSecretValue, random secret | Coffer (HTTPS, auth, PostgreSQL) | 500 (8) | – | \
                 30.0 µs | 50.0 µs | 80.0 µs | 2.00× CPU |"
            ),
            "{md}"
        );
        // The peak table shows both figures in the PostgreSQL target's cell.
        assert!(md.contains("500 (8) · 30.0 µs + 50.0 µs |"), "{md}");
        // A skipped target is said to be skipped, with why, and gets no column.
        assert!(
            md.contains(
                "**Coffer, 2 nodes (HTTPS, auth, PostgreSQL)** was skipped: PostgreSQL is not installed"
            ),
            "{md}"
        );
        assert!(
            !md.contains("| Coffer, 2 nodes (HTTPS, auth, PostgreSQL) |"),
            "{md}"
        );
    }

    #[test]
    fn a_run_read_back_from_its_json_reports_the_same_with_other_load_per_point() {
        let mut busy = target_result(
            TargetKind::CofferDev,
            vec![(Workload::GetSecretValueHot, 20.0, None)],
        );
        busy.points[0].report.foreign_load_cores = Some(0.5);
        let r = run(vec![
            target_result(
                TargetKind::BaselineHttp,
                vec![(Workload::GetSecretValueHot, 10.0, None)],
            ),
            busy,
        ]);
        let md = results_markdown(&r);
        let back: SuiteResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(results_markdown(&back), md);
        assert!(md.contains("| other load (cores) |"), "{md}");
        assert!(md.contains("| 0 | 0.00 |"), "{md}");
        assert!(md.contains("| 0 | 0.50 **busy** |"), "{md}");
    }

    #[test]
    fn no_postgres_section_without_postgres_targets() {
        let r = run(vec![target_result(
            TargetKind::CofferProd,
            vec![(Workload::GetSecretValueHot, 20.0, None)],
        )]);
        assert!(!results_markdown(&r).contains("Production on PostgreSQL"));
    }
}
