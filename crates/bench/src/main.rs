//! `coffer-bench`: the load generator, the baseline servers and the full comparison of issue 7.
//! `scripts/bench` is the one command that runs it all; the subcommands are for poking at one
//! target by hand.

mod baseline;
mod check;
mod client;
mod latency;
mod load;
mod postgres;
mod proc_stats;
mod report;
mod round_two;
mod setup;
mod sigv4;
mod suite;
mod svg;
mod target;
mod workload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::load::{Credentials, LoadConfig, Stop};
use crate::target::{TargetKind, Tools};
use crate::workload::{Dataset, Generator, Kind, Workload};

#[derive(Parser)]
#[command(name = "coffer-bench", about = "Benchmarks for Coffer and its peers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one workload against a running server and print the report as JSON.
    Load(LoadArgs),
    /// Create the data set (CreateSecret, concurrently) on a running server.
    Seed(SeedArgs),
    /// Serve the baseline: a fixed GetSecretValue-sized body for every request.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Serve HTTPS with a fresh CA, written to this file.
        #[arg(long)]
        tls_ca_out: Option<PathBuf>,
    },
    /// Start each target, then run every workload at every concurrency; write the results.
    Suite(SuiteArgs),
    /// The regression guard: three short points, their CPU ratios to the baselines compared
    /// with the committed results (`scripts/bench --check`).
    Check(check::CheckArgs),
    /// Write results.md, throughput.svg and BENCHMARKS.md again from a run's results.json (after
    /// editing bench/NOTES.md); the figures stay the run's.
    Report(ReportArgs),
}

#[derive(Args)]
struct Server {
    /// http://HOST:PORT or https://HOST:PORT.
    #[arg(long)]
    url: String,
    /// CA certificate to trust for https.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The server's pid, to report its CPU time per request and its memory.
    #[arg(long)]
    pid: Option<u32>,
    /// The pid of the database server behind it (PostgreSQL's postmaster), to report the CPU of
    /// its process tree per request too.
    #[arg(long)]
    database_pid: Option<u32>,
    #[arg(
        long,
        env = "COFFER_BENCH_ACCESS_KEY_ID",
        default_value = "AKIDBENCHEXAMPLE0001"
    )]
    access_key_id: String,
    #[arg(
        long,
        env = "COFFER_BENCH_SECRET_ACCESS_KEY",
        default_value = "bench/secret/key/any/credentials/accepted",
        hide_default_value = true,
        hide_env_values = true
    )]
    secret_access_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Names of the seeded secrets: PREFIX000000 onwards.
    #[arg(long, default_value = suite::PREFIX)]
    prefix: String,
    /// How many secrets are seeded.
    #[arg(long, default_value_t = 10_000)]
    secrets: u64,
}

impl Server {
    fn credentials(&self) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            region: self.region.clone(),
        }
    }

    fn dataset(&self) -> Dataset {
        Dataset::new(&self.prefix, self.secrets)
    }
}

#[derive(Args)]
struct ReportArgs {
    /// A suite's results; results.md and throughput.svg are written beside it.
    #[arg(long, default_value = "bench/results/results.json")]
    results: PathBuf,
    /// Regenerate this file (BENCHMARKS.md) from the results.
    #[arg(long)]
    benchmarks_md: Option<PathBuf>,
    /// Hand-kept analysis copied into BENCHMARKS.md.
    #[arg(long)]
    notes: Option<PathBuf>,
}

#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    server: Server,
    #[arg(long, value_enum)]
    workload: Workload,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds to run (ignored with --requests).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many requests instead of after --duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Open loop: this many requests/s in total; latency counts from when each request was due.
    #[arg(long)]
    rate: Option<f64>,
}

#[derive(Args)]
struct SeedArgs {
    #[command(flatten)]
    server: Server,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

#[derive(Args)]
struct SuiteArgs {
    /// Smoke run: one-second points at two concurrencies, 200 secrets.
    #[arg(long)]
    quick: bool,
    /// At most this many secrets on moto_server, which creates them at under 200/s.
    #[arg(long)]
    moto_secrets: Option<u64>,
    /// Restarts of production Coffer on its seeded store (the median is reported).
    #[arg(long)]
    restarts: Option<usize>,
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Seconds per point.
    #[arg(long)]
    duration: Option<f64>,
    /// Secrets to seed on each target that stores them (full run: 100,000; random reads and
    /// writes use the first 10,000, ListSecrets and start-up all of them).
    #[arg(long)]
    secrets: Option<u64>,
    #[arg(long, value_enum, value_delimiter = ',')]
    targets: Option<Vec<TargetKind>>,
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Option<Vec<Workload>>,
    #[arg(long, default_value = "target/release/coffer")]
    coffer: PathBuf,
    /// Python interpreter with moto[server].
    #[arg(long, default_value = "python3")]
    python: String,
    /// Core every server is pinned to with taskset; "none" to leave placement alone.
    #[arg(long, default_value = "0")]
    server_core: String,
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Regenerate this file (BENCHMARKS.md) from the results.
    #[arg(long)]
    benchmarks_md: Option<PathBuf>,
    /// Hand-kept analysis copied into BENCHMARKS.md.
    #[arg(long)]
    notes: Option<PathBuf>,
    /// The command line to print in the results as the way to reproduce them.
    #[arg(long, default_value = "scripts/bench")]
    command_line: String,
    /// Seconds to wait for a quiet machine before starting (default 120).
    #[arg(long)]
    quiet_wait: Option<f64>,
    /// Measurements of a point disturbed by other processes (default 3).
    #[arg(long)]
    attempts: Option<usize>,
    /// End each point after this many requests instead of after --duration (smoke tests: a
    /// fixed amount of work, whatever the machine's speed).
    #[arg(long)]
    point_requests: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One worker per core this process may use: under `taskset -c 1` that is one thread, so the
    // load generator stays on its core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Load(args) => load_command(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Seed(args) => seed_command(args).await,
            Command::Baseline { listen, tls_ca_out } => {
                let body = baseline::get_secret_value_body(&Dataset::new(suite::PREFIX, 1));
                baseline::serve(listen, tls_ca_out.as_deref(), body).await
            }
            Command::Suite(args) => suite_command(args).await,
            Command::Report(args) => report_command(args),
        }
    })
}

async fn load_command(args: LoadArgs) -> anyhow::Result<()> {
    let endpoint = Arc::new(client::Endpoint::new(
        &args.server.url,
        args.server.ca.as_deref(),
    )?);
    let config = LoadConfig {
        concurrency: args.concurrency,
        stop: match args.requests {
            Some(n) => Stop::Requests(n),
            None => Stop::After(Duration::try_from_secs_f64(args.duration).context("--duration")?),
        },
        server_pids: args.server.pid.into_iter().collect(),
        database_pid: args.server.database_pid,
        credentials: args.server.credentials(),
        rate: args.rate,
    };
    let data = args.server.dataset();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let report = load::run(&[endpoint], &config, |_| {
        Generator::new(Kind::Run(args.workload), data.clone(), &tag)
    })
    .await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn seed_command(args: SeedArgs) -> anyhow::Result<()> {
    let endpoint = Arc::new(client::Endpoint::new(
        &args.server.url,
        args.server.ca.as_deref(),
    )?);
    let data = args.server.dataset();
    let config = LoadConfig {
        concurrency: args.concurrency,
        stop: Stop::Requests(data.count),
        server_pids: args.server.pid.into_iter().collect(),
        database_pid: args.server.database_pid,
        credentials: args.server.credentials(),
        rate: None,
    };
    let report = load::run(&[endpoint], &config, |_| {
        Generator::new(Kind::Seed { from: 0 }, data.clone(), "seed")
    })
    .await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn suite_command(args: SuiteArgs) -> anyhow::Result<()> {
    let quick = args.quick;
    let config = suite::SuiteConfig {
        quick,
        concurrencies: args.concurrency.unwrap_or_else(|| {
            if quick {
                vec![1, 8]
            } else {
                vec![1, 8, 16, 32]
            }
        }),
        duration: Duration::try_from_secs_f64(args.duration.unwrap_or(if quick {
            1.0
        } else {
            5.0
        }))
        .context("--duration")?,
        secrets: args.secrets.unwrap_or(if quick { 200 } else { 100_000 }),
        moto_secrets: args
            .moto_secrets
            .unwrap_or(if quick { 200 } else { 10_000 }),
        restarts: args.restarts.unwrap_or(if quick { 1 } else { 3 }),
        seed_concurrency: 32,
        targets: args.targets.unwrap_or_else(|| TargetKind::ALL.to_vec()),
        workloads: args.workloads.unwrap_or_else(|| Workload::ALL.to_vec()),
        out_dir: args.out.clone(),
        benchmarks_md: args.benchmarks_md.clone(),
        notes: args.notes.clone(),
        tools: Tools {
            coffer: args.coffer.clone(),
            bench: std::env::current_exe()?,
            python: args.python.clone(),
            server_core: (args.server_core != "none").then(|| args.server_core.clone()),
        },
        command: args.command_line.clone(),
        quiet_wait: match args.quiet_wait {
            Some(secs) => Duration::try_from_secs_f64(secs).context("--quiet-wait")?,
            None => suite::QUIET_WAIT,
        },
        point_attempts: args.attempts.unwrap_or(suite::POINT_ATTEMPTS),
        point_requests: args.point_requests,
        paced: true,
    };
    if !config.tools.coffer.exists() && config.targets.iter().any(|t| t.is_coffer()) {
        anyhow::bail!(
            "{} not found: build it with `cargo build --release -p coffer`",
            config.tools.coffer.display()
        );
    }
    let result = suite::run(&config).await?;

    std::fs::create_dir_all(&config.out_dir)?;
    std::fs::write(
        config.out_dir.join("results.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    write_reports(
        &result,
        &config.out_dir,
        config.benchmarks_md.as_deref(),
        config.notes.as_deref(),
    )?;
    eprintln!(
        "wrote {}/results.md, results.json, throughput.svg{}",
        config.out_dir.display(),
        config
            .benchmarks_md
            .as_ref()
            .map(|p| format!(" and {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// results.md, throughput.svg and (when asked) BENCHMARKS.md with the notes, from one run's
/// results: after a run, and again by `coffer-bench report` when the notes or the report's
/// layout change (the figures stay those of the run).
fn write_reports(
    result: &suite::SuiteResult,
    out_dir: &std::path::Path,
    benchmarks_md: Option<&std::path::Path>,
    notes: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let results_md = report::results_markdown(result);
    std::fs::write(out_dir.join("results.md"), &results_md)?;
    std::fs::write(out_dir.join("throughput.svg"), svg::throughput_svg(result))?;
    if let Some(md) = benchmarks_md {
        let notes = notes.and_then(|p| std::fs::read_to_string(p).ok());
        std::fs::write(
            md,
            report::benchmarks_md(result, &results_md, notes.as_deref()),
        )?;
    }
    Ok(())
}

fn report_command(args: ReportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.results)
        .with_context(|| format!("reading {}", args.results.display()))?;
    let result: suite::SuiteResult = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a suite's results", args.results.display()))?;
    let out_dir = args
        .results
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    write_reports(
        &result,
        &out_dir,
        args.benchmarks_md.as_deref(),
        args.notes.as_deref(),
    )?;
    eprintln!(
        "wrote {}/results.md, throughput.svg{} from {}",
        out_dir.display(),
        args.benchmarks_md
            .as_ref()
            .map(|p| format!(" and {}", p.display()))
            .unwrap_or_default(),
        args.results.display()
    );
    Ok(())
}
