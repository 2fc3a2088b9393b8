//! The whole comparison in one run: every target, started in turn on the server core, seeded through
//! our own client, then every workload at every concurrency; the results go to JSON, Markdown, SVG
//! and BENCHMARKS.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::load::{self, Credentials, LoadConfig, LoadReport, Stop};
use crate::proc_stats::{self, Memory};
use crate::target::{self, Target, TargetKind, Tools};
use crate::workload::{Dataset, Generator, Kind, Workload, RANDOM_OVER};

pub const PREFIX: &str = "bench/";

/// The workload that also runs open-loop at half its peak, for latency under a sustainable load.
pub const PACED_WORKLOAD: Workload = Workload::GetSecretValueHot;

/// The concurrency ratios compare at and paced runs use: 8 as in the peer table, else the
/// highest tried.
pub fn reference_concurrency(concurrencies: &[usize]) -> usize {
    if concurrencies.contains(&8) {
        8
    } else {
        concurrencies.iter().copied().max().unwrap_or(1)
    }
}

pub struct SuiteConfig {
    pub quick: bool,
    pub concurrencies: Vec<usize>,
    pub duration: Duration,
    pub secrets: u64,
    /// moto creates under 200 secrets/s: it gets at most this many.
    pub moto_secrets: u64,
    /// Restarts of production Coffer on its seeded store; the median is reported.
    pub restarts: usize,
    pub seed_concurrency: usize,
    pub targets: Vec<TargetKind>,
    pub workloads: Vec<Workload>,
    pub out_dir: PathBuf,
    pub benchmarks_md: Option<PathBuf>,
    pub notes: Option<PathBuf>,
    pub tools: Tools,
    pub command: String,
    /// How long to wait for a quiet machine before starting (`QUIET_WAIT` for full runs).
    pub quiet_wait: Duration,
    /// Measurements of a point disturbed by other processes (`POINT_ATTEMPTS` for full runs).
    pub point_attempts: usize,
    /// Each point ends after this many requests rather than after `duration` (smoke tests).
    pub point_requests: Option<u64>,
    /// Whether GetSecretValue also runs open-loop at half its peak (latency under load).
    pub paced: bool,
}

#[derive(Serialize, Deserialize)]
pub struct SuiteResult {
    pub date: String,
    pub command: String,
    pub quick: bool,
    pub machine: Machine,
    pub concurrencies: Vec<usize>,
    pub duration_s: f64,
    pub secrets: u64,
    pub targets: Vec<TargetResult>,
    pub load_average_after: String,
    pub wall_s: f64,
}

#[derive(Serialize, Deserialize, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub load_average_before: String,
    pub server_core: Option<String>,
    /// Other processes' CPU use when the run began (after waiting up to `QUIET_WAIT` for it to
    /// fall under `QUIET_CORES`), in cores.
    pub foreign_load_at_start: Option<f64>,
}

/// A point measured while other processes used more than this many cores is disturbed: it is
/// measured again (up to `POINT_ATTEMPTS` times, keeping the quietest) and, if it stays
/// disturbed, published marked as such.
pub const QUIET_CORES: f64 = 0.15;
pub const POINT_ATTEMPTS: usize = 3;
/// How long a run waits for a quiet machine before it starts anyway (and says so).
pub const QUIET_WAIT: Duration = Duration::from_secs(120);

/// Waits until the rest of the machine uses less than `QUIET_CORES` over a second, for at most
/// `wait` (at least one second is measured); answers the last second's foreign load.
async fn wait_for_quiet(wait: Duration) -> Option<f64> {
    let hz = proc_stats::ticks_per_second();
    let give_up = Instant::now() + wait;
    let mut last = None;
    while Instant::now() < give_up {
        let before = proc_stats::LoadSample::now(&[], None)?;
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = proc_stats::LoadSample::now(&[], None)?;
        last = before.foreign_cores(&after, started.elapsed().as_secs_f64(), hz);
        if last.is_some_and(|cores| cores < QUIET_CORES) {
            break;
        }
    }
    last
}

#[derive(Serialize, Deserialize)]
pub struct TargetResult {
    pub target: TargetKind,
    pub label: String,
    pub error: Option<String>,
    /// Why the target was not run (PostgreSQL absent): not a failure.
    pub skipped: Option<String>,
    /// Spawn to first response. For a target that starts with nothing stored (`--dev`, the
    /// baselines), the median of [`STATELESS_STARTS`] starts (`startup_all_ms`); otherwise the one
    /// first start.
    pub startup_ms: Option<f64>,
    /// Every start measured for `startup_ms` (absent from results written before it existed).
    #[serde(default)]
    pub startup_all_ms: Vec<f64>,
    pub idle_memory: Option<Memory>,
    pub seed: Option<SeedResult>,
    /// Coffer production restarted on its seeded data directory: the median of the restarts.
    pub startup_seeded_ms: Option<f64>,
    pub startup_seeded_all_ms: Vec<f64>,
    pub idle_memory_seeded: Option<Memory>,
    pub points: Vec<Point>,
}

#[derive(Serialize, Deserialize)]
pub struct SeedResult {
    pub requested: u64,
    pub created: u64,
    pub errors: u64,
    pub error_kinds: std::collections::BTreeMap<String, u64>,
    pub seconds: f64,
    pub memory_after: Option<Memory>,
    /// RSS once the first RANDOM_OVER (10,000) secrets were in, when more were seeded.
    pub memory_at_random_over: Option<Memory>,
}

#[derive(Serialize, Deserialize)]
pub struct Point {
    pub workload: Workload,
    pub report: LoadReport,
}

pub async fn run(config: &SuiteConfig) -> anyhow::Result<SuiteResult> {
    let wall = Instant::now();
    let machine = Machine {
        cpu: cpu_model(),
        // Not available_parallelism: under `taskset -c 1` that is the one core we were given.
        cores: std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count(),
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        load_average_before: load_average(),
        server_core: config.tools.server_core.clone(),
        foreign_load_at_start: None,
    };
    let mut machine = machine;
    machine.foreign_load_at_start = wait_for_quiet(config.quiet_wait).await;
    match machine.foreign_load_at_start {
        Some(cores) if cores >= QUIET_CORES => eprintln!(
            "== the machine is busy ({cores:.2} cores used by other processes after waiting {} s): \
             figures measured beside that load are marked busy",
            config.quiet_wait.as_secs()
        ),
        Some(cores) => eprintln!("== machine quiet ({cores:.2} cores used by other processes)"),
        None => {}
    }
    let mut targets = Vec::new();
    for &kind in &config.targets {
        eprintln!("== {}", kind.label());
        let mut result = TargetResult::new(kind);
        if kind.uses_postgres() {
            if let Err(why) = crate::postgres::Binaries::find() {
                eprintln!("   skipped: {why}");
                result.skipped = Some(why);
                targets.push(result);
                continue;
            }
        }
        if let Err(e) = run_target(config, kind, &mut result).await {
            eprintln!("   {kind:?} failed: {e:#}");
            result.error = Some(format!("{e:#}"));
        }
        targets.push(result);
    }
    Ok(SuiteResult {
        date: readable_date(&crate::sigv4::amz_date(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )),
        command: config.command.clone(),
        quick: config.quick,
        machine,
        concurrencies: config.concurrencies.clone(),
        duration_s: config.duration.as_secs_f64(),
        secrets: config.secrets,
        targets,
        load_average_after: load_average(),
        wall_s: wall.elapsed().as_secs_f64(),
    })
}

impl TargetResult {
    /// A target not yet measured.
    pub fn new(kind: TargetKind) -> TargetResult {
        TargetResult {
            target: kind,
            label: kind.label().to_string(),
            error: None,
            skipped: None,
            startup_ms: None,
            startup_all_ms: Vec::new(),
            idle_memory: None,
            seed: None,
            startup_seeded_ms: None,
            startup_seeded_all_ms: Vec::new(),
            idle_memory_seeded: None,
            points: Vec::new(),
        }
    }
}

/// Starts of `--dev` and the baselines measured for their start-up figure (see [`run_target`]).
pub const STATELESS_STARTS: usize = 5;

/// The middle value (the upper one of an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

async fn run_target(
    config: &SuiteConfig,
    kind: TargetKind,
    result: &mut TargetResult,
) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("coffer-bench-").tempdir()?;
    let root = target::root_credentials();
    // One start is a single sample on a machine that may be doing something else at that
    // instant (a binary just written back, the previous target exiting): a target that starts
    // with nothing stored is started several times, each from an empty directory, and judged on
    // the median. The last start is the one the workloads then run against.
    let starts = if kind == TargetKind::CofferDev || kind.is_baseline() {
        STATELESS_STARTS
    } else {
        1
    };
    for _ in 1..starts {
        let scratch = tempfile::Builder::new().prefix("coffer-bench-").tempdir()?;
        let probe = Target::start(kind, &config.tools, scratch.path(), &root).await?;
        result.startup_all_ms.push(ms(probe.startup));
        probe.stop().await;
    }
    let target = Target::start(kind, &config.tools, dir.path(), &root).await?;
    result.startup_all_ms.push(ms(target.startup));
    result.startup_ms = median(&result.startup_all_ms);
    // Let start-up allocations settle before calling the footprint idle.
    tokio::time::sleep(Duration::from_millis(200)).await;
    result.idle_memory = proc_stats::memory_sum(&target.pids()).ok();
    eprintln!(
        "   start-up {:.1} ms{}, idle RSS {} KiB",
        result.startup_ms.unwrap_or_default(),
        if starts > 1 {
            format!(" (median of {:.1?})", result.startup_all_ms)
        } else {
            String::new()
        },
        result.idle_memory.map_or(0, |m| m.rss_kib)
    );
    let mut data = Dataset::new(
        PREFIX,
        if kind == TargetKind::Moto {
            config.secrets.min(config.moto_secrets)
        } else if kind.uses_postgres() {
            // Their workloads touch the first RANDOM_OVER secrets only (no listing, no restart):
            // more would only lengthen the seeding, at PostgreSQL's durable-commit rate.
            config.secrets.min(RANDOM_OVER)
        } else {
            config.secrets
        },
    );

    // Seeded before any workload runs, so the memory read while seeding is the secrets' alone
    // (AssumeRole, for one, leaves a stored session per call until it expires).
    let needs_seed = config
        .workloads
        .iter()
        .any(|&w| kind.runs(w) && w.needs_seed());
    if needs_seed && !kind.is_baseline() {
        result.seed = Some(seed(config, &target, &data).await);
    }
    // The IAM user AssumeRole runs as; the baselines answer anything, so any key will do there.
    let mut assumer: Option<Result<Credentials, String>> = None;
    for &workload in &config.workloads {
        if !kind.runs(workload) {
            continue;
        }
        let mut credentials = target.credentials.clone();
        if workload.needs_role() {
            let setup = match &assumer {
                Some(a) => a.clone(),
                None if kind.is_baseline() => {
                    data.role_arn = "arn:aws:iam::123456789012:role/bench-role".into();
                    Ok(target.credentials.clone())
                }
                None => {
                    let made =
                        crate::setup::assume_role(target.first_endpoint(), &target.credentials)
                            .await
                            .map(|a| {
                                data.role_arn = a.role_arn;
                                a.credentials
                            })
                            .map_err(|e| format!("setup: {e:#}"));
                    if let Err(e) = &made {
                        eprintln!("   {}: {e}", workload.label());
                    }
                    made
                }
            };
            assumer = Some(setup.clone());
            match setup {
                Ok(c) => credentials = c,
                Err(e) => {
                    // The failed setup is the figure: reported as this workload's error.
                    let mut report = LoadReport {
                        concurrency: 1,
                        errors: 1,
                        ..LoadReport::default()
                    };
                    report.error_kinds.insert(e, 1);
                    result.points.push(Point { workload, report });
                    continue;
                }
            }
        }
        let mut runs: Vec<(usize, Option<f64>)> =
            config.concurrencies.iter().map(|&c| (c, None)).collect();
        if workload == PACED_WORKLOAD && config.paced {
            // Latency under a steady load the server can sustain: half of the peak just measured,
            // sent open-loop over the reference number of connections.
            runs.push((reference_concurrency(&config.concurrencies), Some(0.0)));
        }
        for (concurrency, rate) in runs {
            let rate = match rate {
                None => None,
                Some(_) => {
                    let peak = result
                        .points
                        .iter()
                        .filter(|p| p.workload == workload && p.report.errors == 0)
                        .map(|p| p.report.rps)
                        .fold(0.0, f64::max);
                    if peak <= 0.0 {
                        continue;
                    }
                    Some(peak / 2.0)
                }
            };
            let report = point(
                config,
                &target,
                &credentials,
                &data,
                workload,
                concurrency,
                rate,
            )
            .await;
            eprintln!(
                "   {:<40} c={concurrency:<3}{} {:>9.0} req/s  p99 {:>8}  cpu/req {:>9}{}  other load {:>5}  errors {}{}",
                workload.label(),
                rate.map(|r| format!(" paced at {r:.0}/s")).unwrap_or_default(),
                report.rps,
                fmt_us(report.p99_us),
                fmt_us(report.server_cpu_us_per_req),
                report
                    .database_cpu_us_per_req
                    .map(|db| format!(" + PostgreSQL {}", fmt_us(Some(db))))
                    .unwrap_or_default(),
                report
                    .foreign_load_cores
                    .map(|c| format!("{c:.2}"))
                    .unwrap_or_else(|| "–".into()),
                report.errors,
                report
                    .error_kinds
                    .iter()
                    .next()
                    .map(|(k, _)| format!(" ({k})"))
                    .unwrap_or_default(),
            );
            let gave_up = report.error_kinds.keys().any(|k| k.starts_with("timeout"));
            result.points.push(Point { workload, report });
            if gave_up {
                // The server is still working on the requests the client gave up on; the next
                // point must not pay for them.
                settle(&target.pids()).await;
            }
        }
    }
    target.stop().await;

    if kind == TargetKind::CofferProd && result.seed.as_ref().is_some_and(|s| s.created > 0) {
        // Start-up with the data set in SQLite: the production restart case. Several times,
        // because one start-up is a single sample on a machine that may be busy.
        for _ in 0..config.restarts.max(1) {
            let again = Target::start(kind, &config.tools, dir.path(), &root).await?;
            result.startup_seeded_all_ms.push(ms(again.startup));
            tokio::time::sleep(Duration::from_millis(200)).await;
            result.idle_memory_seeded = proc_stats::memory_sum(&again.pids()).ok();
            again.stop().await;
        }
        result.startup_seeded_ms = median(&result.startup_seeded_all_ms);
        eprintln!(
            "   restarts with the seeded store: {:?} ms, idle RSS {} KiB",
            result
                .startup_seeded_all_ms
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>(),
            result.idle_memory_seeded.map_or(0, |m| m.rss_kib)
        );
    }
    Ok(())
}

/// CreateSecret through the API, concurrently: exactly what a client would store. In two stages
/// when more than RANDOM_OVER are asked for, to read the RSS at the 10,000 too.
async fn seed(config: &SuiteConfig, target: &Target, data: &Dataset) -> SeedResult {
    let mut stages = vec![data.count];
    if data.count > RANDOM_OVER {
        stages.insert(0, RANDOM_OVER);
    }
    let mut result = SeedResult {
        requested: data.count,
        created: 0,
        errors: 0,
        error_kinds: Default::default(),
        seconds: 0.0,
        memory_after: None,
        memory_at_random_over: None,
    };
    let mut from = 0;
    for upto in stages {
        let load_config = LoadConfig {
            concurrency: config.seed_concurrency,
            stop: Stop::Requests(upto - from),
            server_pids: target.pids(),
            database_pid: target.database_pid(),
            credentials: target.credentials.clone(),
            rate: None,
        };
        let report = load::run(&target.endpoints(), &load_config, |_| {
            Generator::new(Kind::Seed { from }, data.clone(), "seed")
        })
        .await;
        result.created += report.ok;
        result.errors += report.errors;
        for (k, v) in report.error_kinds {
            *result.error_kinds.entry(k).or_insert(0) += v;
        }
        result.seconds += report.elapsed_s;
        result.memory_after = report.server_memory;
        if upto == RANDOM_OVER && data.count > RANDOM_OVER {
            result.memory_at_random_over = report.server_memory;
        }
        from = upto;
    }
    eprintln!(
        "   seeded {} of {} secrets in {:.1} s ({} errors{})",
        result.created,
        data.count,
        result.seconds,
        result.errors,
        result
            .error_kinds
            .keys()
            .next()
            .map(|k| format!(", e.g. {k}"))
            .unwrap_or_default()
    );
    result
}

async fn point(
    config: &SuiteConfig,
    target: &Target,
    credentials: &Credentials,
    data: &Dataset,
    workload: Workload,
    concurrency: usize,
    rate: Option<f64>,
) -> LoadReport {
    let load_config = LoadConfig {
        concurrency,
        stop: match config.point_requests {
            Some(n) => Stop::Requests(n),
            None => Stop::After(config.duration),
        },
        server_pids: target.pids(),
        database_pid: target.database_pid(),
        credentials: credentials.clone(),
        rate,
    };
    let mut best: Option<LoadReport> = None;
    let attempts = config.point_attempts.max(1);
    for attempt in 0..attempts {
        if attempt > 0 {
            settle(&target.pids()).await;
        }
        let tag = format!("c{concurrency}-{}", uuid::Uuid::new_v4().simple());
        let report = load::run(&target.endpoints(), &load_config, |_| {
            Generator::new(Kind::Run(workload), data.clone(), &tag)
        })
        .await;
        let foreign = report.foreign_load_cores.unwrap_or(0.0);
        let quieter = best
            .as_ref()
            .is_none_or(|b| foreign < b.foreign_load_cores.unwrap_or(0.0));
        if quieter {
            best = Some(report);
        }
        if foreign < QUIET_CORES {
            break;
        }
        let next = if attempt + 1 < attempts {
            "measuring again"
        } else {
            "keeping the quietest attempt, marked busy"
        };
        eprintln!("   (disturbed: {foreign:.2} cores of other processes; {next})");
    }
    best.expect("at least one attempt")
}

/// Waits (up to two minutes) until the servers have used no CPU for half a second.
async fn settle(pids: &[u32]) {
    let give_up = Instant::now() + Duration::from_secs(120);
    let mut last = proc_stats::cpu_ticks_sum(pids).ok();
    while Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = proc_stats::cpu_ticks_sum(pids).ok();
        if now.is_none() || now == last {
            return;
        }
        last = now;
    }
}

/// `20150830T123600Z` as `2015-08-30 12:36:00 UTC`.
fn readable_date(amz: &str) -> String {
    let p = |a: usize, b: usize| amz.get(a..b).unwrap_or("");
    format!(
        "{}-{}-{} {}:{}:{} UTC",
        p(0, 4),
        p(4, 6),
        p(6, 8),
        p(9, 11),
        p(11, 13),
        p(13, 15)
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn fmt_us(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(us) if us >= 10_000.0 => format!("{:.0} ms", us / 1e3),
        Some(us) if us >= 1_000.0 => format!("{:.2} ms", us / 1e3),
        Some(us) if us >= 100.0 => format!("{us:.0} µs"),
        Some(us) => format!("{us:.1} µs"),
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn load_average() -> String {
    read_trim("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_iso() {
        assert_eq!(readable_date("20150830T123600Z"), "2015-08-30 12:36:00 UTC");
    }

    #[test]
    fn the_median_is_the_middle_start_whatever_the_order() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        // One slow start (the machine busy at that instant) does not move it.
        assert_eq!(median(&[34.8, 6.1, 8.5, 7.9, 6.7]), Some(7.9));
        assert_eq!(median(&[3.0, 1.0]), Some(3.0));
    }

    /// Results written before every start was kept still load, with no starts listed.
    #[test]
    fn older_results_without_the_list_of_starts_still_load() {
        let mut value = serde_json::to_value(TargetResult::new(TargetKind::CofferDev)).unwrap();
        value.as_object_mut().unwrap().remove("startup_all_ms");
        let result: TargetResult = serde_json::from_value(value).unwrap();
        assert!(result.startup_all_ms.is_empty());
    }

    #[test]
    fn latency_formatting_picks_a_readable_unit() {
        assert_eq!(fmt_us(None), "–");
        assert_eq!(fmt_us(Some(12.345)), "12.3 µs");
        assert_eq!(fmt_us(Some(250.0)), "250 µs");
        assert_eq!(fmt_us(Some(1_500.0)), "1.50 ms");
        assert_eq!(fmt_us(Some(25_000.0)), "25 ms");
    }
}
