//! The goals of the second performance round (issue 16), judged on the run that produced the
//! report: CPU and throughput as ratios to the baselines of the same run, at 1, 8 and 32
//! connections. A goal is met only when every concurrency measured meets it; a missed goal names
//! the section of `bench/NOTES.md` that holds its profile and the reason it is missed, so no
//! figure is published without its explanation.

use std::fmt::Write;

use crate::load::LoadReport;
use crate::report::{memory_at_10k, paced, point, target};
use crate::suite::SuiteResult;
use crate::target::TargetKind;
use crate::workload::Workload;

/// The concurrencies every figure is asked at.
const CONNECTIONS: [usize; 3] = [1, 8, 32];

/// Where the profile and the reason for a missed goal are written.
const WHY: &str = "bench/NOTES.md, *Second round (issue 16): the goals missed, profiled*";

struct Row {
    what: String,
    goal: &'static str,
    measured: String,
    met: Option<bool>,
    /// The `bench/NOTES.md` subsection holding this goal's profile and reason.
    reason: &'static str,
}

fn cpu(p: &LoadReport) -> Option<f64> {
    p.server_cpu_us_per_req
}

fn rps(p: &LoadReport) -> Option<f64> {
    (p.ok > 0).then_some(p.rps)
}

fn usable(p: Option<&LoadReport>) -> Option<&LoadReport> {
    p.filter(|p| p.ok > 0 && p.errors == 0)
}

/// `figure(target)/figure(base)` at each concurrency, against `limit` (`at_most`: the ratio must
/// not exceed it; otherwise it must reach it).
fn ratio_row(
    r: &SuiteResult,
    (kind, base): (TargetKind, TargetKind),
    workload: Workload,
    figure: fn(&LoadReport) -> Option<f64>,
    (limit, at_most): (f64, bool),
) -> (String, Option<bool>) {
    let mut cells = Vec::new();
    let mut met: Option<bool> = None;
    for c in CONNECTIONS {
        let a = usable(point(r, kind, workload, c)).and_then(figure);
        let b = usable(point(r, base, workload, c)).and_then(figure);
        if let (Some(a), Some(b)) = (a, b) {
            if b > 0.0 {
                let q = a / b;
                let ok = if at_most { q <= limit } else { q >= limit };
                met = Some(met.unwrap_or(true) && ok);
                cells.push(format!("{c}: {q:.2}× ({a:.1} vs {b:.1})"));
            }
        }
    }
    (join(cells), met)
}

/// A figure of one target at each concurrency against an absolute `limit` (at most).
fn absolute_row(
    r: &SuiteResult,
    kind: TargetKind,
    workload: Workload,
    limit: f64,
) -> (String, Option<bool>) {
    let mut cells = Vec::new();
    let mut met: Option<bool> = None;
    for c in CONNECTIONS {
        if let Some(v) = usable(point(r, kind, workload, c)).and_then(cpu) {
            met = Some(met.unwrap_or(true) && v <= limit);
            cells.push(format!("{c}: {v:.1} µs"));
        }
    }
    (join(cells), met)
}

fn join(cells: Vec<String>) -> String {
    if cells.is_empty() {
        "–".into()
    } else {
        cells.join(" · ")
    }
}

fn rows(r: &SuiteResult) -> Vec<Row> {
    use TargetKind::{BaselineHttp, BaselineTls, CofferDev, CofferProd};
    let mut rows = Vec::new();
    let mut push = |what: &str, goal, (measured, met): (String, Option<bool>), reason| {
        rows.push(Row {
            what: what.into(),
            goal,
            measured,
            met,
            reason,
        })
    };
    let gsv = Workload::GetSecretValueHot;
    push(
        "`--dev` GetSecretValue, CPU/req vs baseline HTTP",
        "≤ 1.25×",
        ratio_row(r, (CofferDev, BaselineHttp), gsv, cpu, (1.25, true)),
        "GetSecretValue",
    );
    push(
        "`--dev` GetSecretValue, req/s vs baseline HTTP",
        "≥ 0.95×",
        ratio_row(r, (CofferDev, BaselineHttp), gsv, rps, (0.95, false)),
        "GetSecretValue",
    );
    push(
        "production GetSecretValue (HTTPS, IAM user), CPU/req vs baseline TLS",
        "≤ 1.6×",
        ratio_row(r, (CofferProd, BaselineTls), gsv, cpu, (1.6, true)),
        "GetSecretValue",
    );
    push(
        "`--dev` sts:AssumeRole, CPU/req",
        "≤ 40 µs",
        absolute_row(r, CofferDev, Workload::AssumeRole, 40.0),
        "AssumeRole",
    );
    push(
        "production sts:AssumeRole, CPU/req",
        "≤ 60 µs",
        absolute_row(r, CofferProd, Workload::AssumeRole, 60.0),
        "AssumeRole",
    );
    push(
        "`--dev` sts:GetCallerIdentity, CPU/req vs baseline HTTP",
        "≤ 1.2×",
        ratio_row(
            r,
            (CofferDev, BaselineHttp),
            Workload::GetCallerIdentity,
            cpu,
            (1.2, true),
        ),
        "GetSecretValue",
    );
    for (what, workload, limit, goal, reason) in [
        (
            "`--dev` ListSecrets, page of 100, CPU/req",
            Workload::ListSecrets,
            150.0,
            "≤ 150 µs",
            "ListSecrets and BatchGetSecretValue",
        ),
        (
            "`--dev` BatchGetSecretValue of 20, CPU/req",
            Workload::BatchGetSecretValue,
            80.0,
            "≤ 80 µs",
            "ListSecrets and BatchGetSecretValue",
        ),
        (
            "`--dev` PutSecretValue, CPU/req",
            Workload::PutSecretValue,
            30.0,
            "≤ 30 µs",
            "PutSecretValue and CreateSecret",
        ),
        (
            "`--dev` CreateSecret, CPU/req",
            Workload::CreateSecret,
            30.0,
            "≤ 30 µs",
            "PutSecretValue and CreateSecret",
        ),
    ] {
        push(
            what,
            goal,
            absolute_row(r, CofferDev, workload, limit),
            reason,
        );
    }
    let dev_10k = target(r, CofferDev).and_then(memory_at_10k);
    push(
        "`--dev` RSS with 10,000 secrets",
        "< 25 MiB",
        match dev_10k {
            Some(m) => {
                let v = m.rss_kib as f64 / 1024.0;
                (format!("{v:.1} MiB"), Some(v < 25.0))
            }
            None => ("–".into(), None),
        },
        "Memory",
    );
    for (what, kind, base) in [
        (
            "`--dev` GetSecretValue p99 at half of peak, vs baseline HTTP's at half of its peak",
            CofferDev,
            BaselineHttp,
        ),
        (
            "production GetSecretValue p99 at half of peak, vs baseline TLS's at half of its peak",
            CofferProd,
            BaselineTls,
        ),
    ] {
        let a = usable(paced(r, kind)).and_then(|p| p.p99_us);
        let b = usable(paced(r, base)).and_then(|p| p.p99_us);
        let cell = match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => (
                format!("{:.2}× ({:.0} vs {:.0} µs)", a / b, a, b),
                Some(a / b <= 1.2),
            ),
            _ => ("–".into(), None),
        };
        push(what, "≤ 1.2×", cell, "p99 at half of peak");
    }
    rows
}

/// The section of the report: every goal with its figures per concurrency and its verdict; a
/// missed one points at its profile and reason.
pub fn section(s: &mut String, r: &SuiteResult) {
    let _ = writeln!(
        s,
        "\n### Against the goals of issue 16\n\n\
         Figures at 1, 8 and 32 connections (`connections: ratio (Coffer vs baseline)`), from the \
         points above; a goal is met when every concurrency measured meets it. The profile and \
         the reason for each missed goal: {WHY}, under the subsection named.\n"
    );
    let _ = writeln!(
        s,
        "| goal | target | measured | verdict | profile and reason |\n|---|---|---|---|---|"
    );
    for row in rows(r) {
        let (verdict, reason) = match row.met {
            Some(true) => ("met", "–".to_string()),
            Some(false) => ("**missed**", format!("*{}*", row.reason)),
            None => ("not measured", "–".to_string()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {verdict} | {reason} |",
            row.what, row.goal, row.measured
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::run as suite;
    use crate::suite::{Point, TargetResult};

    fn result(kind: TargetKind, points: Vec<(Workload, usize, f64, f64)>) -> TargetResult {
        TargetResult {
            points: points
                .into_iter()
                .map(|(workload, concurrency, rps, cpu)| Point {
                    workload,
                    report: LoadReport {
                        concurrency,
                        ok: 1000,
                        rps,
                        server_cpu_us_per_req: Some(cpu),
                        foreign_load_cores: Some(0.0),
                        ..LoadReport::default()
                    },
                })
                .collect(),
            ..TargetResult::new(kind)
        }
    }

    #[test]
    fn a_goal_is_met_only_when_every_concurrency_meets_it() {
        let gsv = Workload::GetSecretValueHot;
        let r = suite(vec![
            result(
                TargetKind::BaselineHttp,
                vec![
                    (gsv, 1, 5000.0, 60.0),
                    (gsv, 8, 40000.0, 20.0),
                    (gsv, 32, 40000.0, 20.0),
                ],
            ),
            result(
                TargetKind::CofferDev,
                // Within 1.25× at 1 and 8 connections, 1.5× at 32.
                vec![
                    (gsv, 1, 5000.0, 70.0),
                    (gsv, 8, 39000.0, 24.0),
                    (gsv, 32, 39000.0, 30.0),
                ],
            ),
        ]);
        let mut s = String::new();
        section(&mut s, &r);
        let cpu_row = s
            .lines()
            .find(|l| l.contains("`--dev` GetSecretValue, CPU/req"))
            .expect("row");
        assert!(
            cpu_row.contains("1: 1.17×") && cpu_row.contains("32: 1.50×"),
            "{cpu_row}"
        );
        assert!(cpu_row.contains("**missed**") && cpu_row.contains("*GetSecretValue*"));
        let rps_row = s
            .lines()
            .find(|l| l.contains("`--dev` GetSecretValue, req/s"))
            .expect("row");
        assert!(rps_row.contains("| met |"), "{rps_row}");
        let unmeasured = s
            .lines()
            .find(|l| l.contains("production sts:AssumeRole"))
            .expect("row");
        assert!(unmeasured.contains("not measured"), "{unmeasured}");
    }
}
