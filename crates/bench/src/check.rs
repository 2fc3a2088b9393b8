//! `coffer-bench check` (`scripts/bench --check`): a regression guard that takes under a minute.
//! Three short points — `--dev` GetSecretValue, production GetSecretValue and production
//! PutSecretValue, at 8 connections — each as a ratio of server CPU per request to the baseline
//! measured in the same run, compared with the same ratio in the committed full run
//! (`bench/results/results.json`). Ratios, not absolute figures: the baselines absorb the
//! machine's speed. A ratio more than `--tolerance` worse fails the check; `--report-only` (CI's
//! mode: shared, noisy machines) prints the same table and never fails.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::suite::{self, SuiteConfig, SuiteResult};
use crate::target::{TargetKind, Tools};
use crate::workload::Workload;

/// The connections every compared point uses (the committed run's reference concurrency).
const CONNECTIONS: usize = 8;

#[derive(Args)]
pub struct CheckArgs {
    #[arg(long, default_value = "target/release/coffer")]
    coffer: PathBuf,
    /// The committed full run the ratios are compared with.
    #[arg(long, default_value = "bench/results/results.json")]
    committed: PathBuf,
    /// How much worse a ratio may get before the check fails (0.25: 25% worse).
    #[arg(long, default_value_t = 0.25)]
    tolerance: f64,
    /// Print the ratios and exit 0 whatever they are (CI).
    #[arg(long)]
    report_only: bool,
    /// Seconds per point.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Core every server is pinned to with taskset; "none" to leave placement alone.
    #[arg(long, default_value = "0")]
    server_core: String,
}

/// One compared figure: `target` running `workload`, over `baseline` running GetSecretValue.
struct Ratio {
    name: &'static str,
    target: TargetKind,
    workload: Workload,
    baseline: TargetKind,
}

const RATIOS: [Ratio; 3] = [
    Ratio {
        name: "--dev GetSecretValue / HTTP baseline",
        target: TargetKind::CofferDev,
        workload: Workload::GetSecretValueHot,
        baseline: TargetKind::BaselineHttp,
    },
    Ratio {
        name: "production GetSecretValue / TLS baseline",
        target: TargetKind::CofferProd,
        workload: Workload::GetSecretValueHot,
        baseline: TargetKind::BaselineTls,
    },
    Ratio {
        name: "production PutSecretValue / TLS baseline",
        target: TargetKind::CofferProd,
        workload: Workload::PutSecretValue,
        baseline: TargetKind::BaselineTls,
    },
];

/// The parts of a results file the check reads (the file is a serialized [`SuiteResult`]).
#[derive(Deserialize)]
struct Results {
    date: String,
    targets: Vec<TargetFigures>,
}

#[derive(Deserialize)]
struct TargetFigures {
    target: TargetKind,
    points: Vec<PointFigures>,
}

#[derive(Deserialize)]
struct PointFigures {
    workload: Workload,
    report: ReportFigures,
}

#[derive(Deserialize)]
struct ReportFigures {
    concurrency: usize,
    target_rps: Option<f64>,
    server_cpu_us_per_req: Option<f64>,
    #[serde(default)]
    foreign_load_cores: Option<f64>,
}

impl Results {
    /// Server CPU per request of a closed-loop point at [`CONNECTIONS`] connections.
    fn cpu(&self, target: TargetKind, workload: Workload) -> Option<(f64, Option<f64>)> {
        self.targets
            .iter()
            .find(|t| t.target == target)?
            .points
            .iter()
            .find(|p| {
                p.workload == workload
                    && p.report.concurrency == CONNECTIONS
                    && p.report.target_rps.is_none()
            })
            .and_then(|p| {
                p.report
                    .server_cpu_us_per_req
                    .map(|cpu| (cpu, p.report.foreign_load_cores))
            })
    }

    fn ratio(&self, r: &Ratio) -> Option<f64> {
        let (cpu, _) = self.cpu(r.target, r.workload)?;
        let (base, _) = self.cpu(r.baseline, Workload::GetSecretValueHot)?;
        (base > 0.0).then(|| cpu / base)
    }

    /// The most foreign load any point of the ratio was measured beside, in cores.
    fn disturbance(&self, r: &Ratio) -> Option<f64> {
        let a = self.cpu(r.target, r.workload)?.1;
        let b = self.cpu(r.baseline, Workload::GetSecretValueHot)?.1;
        a.into_iter().chain(b).reduce(f64::max)
    }
}

/// A row of the printed table, and whether it is a regression.
struct Verdict {
    line: String,
    regressed: bool,
}

fn compare(committed: &Results, now: &Results, tolerance: f64) -> Vec<Verdict> {
    RATIOS
        .iter()
        .map(|r| match (committed.ratio(r), now.ratio(r)) {
            (Some(before), Some(after)) => {
                let change = after / before - 1.0;
                let regressed = change > tolerance;
                let busy = now
                    .disturbance(r)
                    .filter(|&cores| cores >= suite::QUIET_CORES)
                    .map(|cores| format!(" (busy machine: {cores:.2} cores of other processes)"))
                    .unwrap_or_default();
                Verdict {
                    line: format!(
                        "{:<44} {before:>9.2}× {after:>9.2}× {:>+8.1}%  {}{busy}",
                        r.name,
                        change * 100.0,
                        if regressed { "WORSE" } else { "ok" },
                    ),
                    regressed,
                }
            }
            (before, after) => Verdict {
                line: format!(
                    "{:<44} {:>10} {:>10}  not measured",
                    r.name,
                    before.map_or("-".into(), |v| format!("{v:.2}×")),
                    after.map_or("-".into(), |v| format!("{v:.2}×")),
                ),
                regressed: true,
            },
        })
        .collect()
}

pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let report_only = args.report_only;
    match check(args).await {
        // CI's mode: whatever went wrong is printed, never a failure.
        Err(e) if report_only => {
            println!("benchmark check (report only) did not complete: {e:#}");
            Ok(())
        }
        outcome => outcome,
    }
}

async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let committed: Results = serde_json::from_str(
        &std::fs::read_to_string(&args.committed)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.committed.display()))?,
    )?;
    let out = tempfile::tempdir()?;
    let config = SuiteConfig {
        quick: true,
        concurrencies: vec![CONNECTIONS],
        duration: Duration::try_from_secs_f64(args.duration)
            .map_err(|e| anyhow::anyhow!("--duration: {e}"))?,
        secrets: 200,
        moto_secrets: 0,
        restarts: 1,
        seed_concurrency: 32,
        targets: vec![
            TargetKind::BaselineHttp,
            TargetKind::BaselineTls,
            TargetKind::CofferDev,
            TargetKind::CofferProd,
        ],
        workloads: vec![Workload::GetSecretValueHot, Workload::PutSecretValue],
        out_dir: out.path().to_path_buf(),
        benchmarks_md: None,
        notes: None,
        tools: Tools {
            coffer: args.coffer.clone(),
            bench: std::env::current_exe()?,
            python: "python3".into(),
            server_core: (args.server_core != "none").then(|| args.server_core.clone()),
        },
        command: "scripts/bench --check".into(),
        // Short: the check is for before each submission, not for publication.
        quiet_wait: Duration::from_secs(10),
        point_attempts: 2,
        point_requests: None,
        paced: false,
    };
    let result: SuiteResult = suite::run(&config).await?;
    let now: Results = serde_json::from_value(serde_json::to_value(&result)?)?;
    println!(
        "CPU per request, ratio to the baseline in the same run, 8 connections \
         (committed: {}; tolerance {:.0}%)",
        committed.date,
        args.tolerance * 100.0
    );
    println!(
        "{:<44} {:>10} {:>10} {:>9}",
        "figure", "committed", "now", "change"
    );
    let verdicts = compare(&committed, &now, args.tolerance);
    for v in &verdicts {
        println!("{}", v.line);
    }
    let regressed = verdicts.iter().filter(|v| v.regressed).count();
    if regressed > 0 && !args.report_only {
        anyhow::bail!(
            "{regressed} figure(s) more than {:.0}% worse than committed",
            args.tolerance * 100.0
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(dev: f64, http: f64) -> Results {
        let point = |workload, cpu| PointFigures {
            workload,
            report: ReportFigures {
                concurrency: CONNECTIONS,
                target_rps: None,
                server_cpu_us_per_req: Some(cpu),
                foreign_load_cores: Some(0.0),
            },
        };
        Results {
            date: "d".into(),
            targets: vec![
                TargetFigures {
                    target: TargetKind::BaselineHttp,
                    points: vec![point(Workload::GetSecretValueHot, http)],
                },
                TargetFigures {
                    target: TargetKind::CofferDev,
                    points: vec![point(Workload::GetSecretValueHot, dev)],
                },
            ],
        }
    }

    #[test]
    fn a_ratio_worse_than_the_tolerance_is_a_regression() {
        let committed = results(20.0, 10.0); // 2.0×
        let same_ratio_slower_machine = results(40.0, 20.0);
        let worse = results(26.0, 10.0); // 2.6×: 30% worse
        let dev = &RATIOS[0];
        assert_eq!(committed.ratio(dev), Some(2.0));
        let v = compare(&committed, &same_ratio_slower_machine, 0.25);
        assert!(!v[0].regressed, "{}", v[0].line);
        let v = compare(&committed, &worse, 0.25);
        assert!(v[0].regressed, "{}", v[0].line);
        // Figures absent from a run are reported, never passed silently.
        assert!(v[1].regressed && v[1].line.contains("not measured"));
    }

    #[test]
    fn the_committed_results_name_every_compared_figure() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../bench/results/results.json"
        );
        let committed: Results =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for r in &RATIOS {
            assert!(committed.ratio(r).is_some(), "{} missing", r.name);
        }
    }
}
