//! `coffer`: the command-line entry point. `coffer serve` runs the server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::builder::BoolishValueParser;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use coffer::directory::StoreDirectory;
use coffer::observability::{RotationMetrics, StoreMetrics, StoreState};
use coffer::{bootstrap, services, startup};
use coffer_authz::PolicyAuthorizer;
use coffer_server::tls::{self, TlsSource};
use coffer_server::{App, AppConfig, ListenerLimits, Metrics, Ops, RateLimits, SystemClock};
use coffer_store::{BackendConfig, MasterKeySource, Store, StoreConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `coffer --version`: the package version, the git revision and the build date (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("COFFER_GIT_REVISION"),
    ", built ",
    env!("COFFER_BUILD_DATE"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "coffer",
    version = VERSION,
    about = "Self-hosted, AWS-compatible Secrets Manager, IAM and STS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text or as JSON objects (one per line), on standard error.
    #[arg(
        long,
        global = true,
        env = "COFFER_LOG_FORMAT",
        hide_env_values = true,
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Operate on the stored state: backup, restore, master-key rotation.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check IAM policy documents offline.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Check `serve`'s configuration (flags, COFFER_* environment variables, --config FILE).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Ask a running server's health endpoint (for container health checks): exits 0 when it
    /// answers 2xx, 1 otherwise.
    Probe(coffer::probe::ProbeArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Resolve the configuration as `coffer serve` would (flag > environment > file > default),
    /// report what is wrong or contradictory, and print the result as a TOML file with where
    /// each value came from. Starts nothing.
    Check(ServeArgs),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Report what IAM Access Analyzer's policy validation reports, offline: actions, services
    /// and condition keys that do not exist, resource ARNs of no known format, condition keys and
    /// resources no action of the statement can use, and grants to everyone. Exits with 1 when a
    /// finding is an ERROR or a SECURITY_WARNING, with 2 when FILE cannot be read.
    Lint {
        /// The policy document (JSON); `-` reads standard input.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: coffer::policy_lint::Format,
        /// What the document is; when left out, a document naming principals is a resource policy
        /// (a trust policy when it names no resource and only `sts:` actions), otherwise an
        /// identity policy.
        #[arg(long, value_enum)]
        policy_type: Option<coffer::policy_lint::PolicyType>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Write a consistent snapshot (still encrypted) of all state to FILE.
    Backup {
        file: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Load a backup into a data directory without a database, or an empty PostgreSQL database.
    /// Needs the master key the backup was taken with (e.g. copied to `<data-dir>/master.key`);
    /// all or nothing: a failed restore leaves the target as it was.
    Restore {
        file: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Accounts (tenants) of the store.
    #[command(subcommand)]
    Account(AccountCommand),
    /// The TLS material of a data directory.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Check an audit trail: every record's signature, and that none is missing, copied or out
    /// of order, across rotated files. Exits with 1 at the first problem, 2 when unreadable.
    VerifyAudit {
        /// Trail files (in any order). Default: <data-dir>/audit.log and its rotated files.
        files: Vec<PathBuf>,
        #[command(flatten)]
        keys: coffer::audit_trail::KeyArgs,
    },
    /// Print the records of an audit trail that match every filter given, oldest first, as
    /// `aws cloudtrail lookup-events` selects events.
    Audit(coffer::audit_trail::LookupArgs),
    /// Re-wrap every data key under a new master key. With the default key file the new key
    /// replaces it; otherwise the new key is written to --new-key-file.
    RotateMasterKey {
        /// Where to write the new key (base64). Default: `<data-dir>/master.key.new`, then moved
        /// over `<data-dir>/master.key` once the rotation is complete.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        /// Seconds both keys stay valid before the old one is dropped, so that servers running on
        /// the store (which re-read the key state every second) learn the new key first.
        #[arg(long, default_value_t = 3)]
        grace: u64,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum TlsCommand {
    /// Print the names, validity and SHA-256 fingerprints of the generated CA and server
    /// certificate (`<data-dir>/tls/`), or of the certificate files given.
    Show {
        /// Directory holding `tls/` (default `coffer-data`).
        #[arg(long, env = "COFFER_DATA_DIR", hide_env_values = true)]
        data_dir: Option<PathBuf>,
        /// A PEM certificate file to show instead (e.g. the one given to `serve --tls-cert`).
        #[arg(long, env = "COFFER_TLS_CERT", hide_env_values = true)]
        tls_cert: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and its root access key; prints
    /// `{"AccountId":…,"AccessKeyId":…,"SecretAccessKey":…}` on one line. Works while a server
    /// runs on the same store.
    Create {
        /// 12 digits; random when left out. Fails if the account exists.
        #[arg(long)]
        account_id: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Args, Clone)]
struct StorageArgs {
    /// Directory for the database, TLS material and root credentials [default: coffer-data].
    #[arg(long, env = "COFFER_DATA_DIR", hide_env_values = true)]
    data_dir: Option<PathBuf>,
    /// Where state lives: `<data-dir>/coffer.db` (SQLite) by default, a SQLite path, or
    /// `postgres://…` shared by several nodes.
    #[arg(long, env = "COFFER_STORAGE", hide_env_values = true)]
    storage: Option<String>,
    /// Master key file (32 bytes, base64). Default: `<data-dir>/master.key` (which `serve` creates
    /// on first start), unless COFFER_MASTER_KEY holds the key.
    #[arg(long, env = "COFFER_MASTER_KEY_FILE", hide_env_values = true)]
    master_key_file: Option<PathBuf>,
    /// Command whose standard output is the base64 master key (an HSM or a cloud KMS).
    #[arg(
        long,
        conflicts_with = "master_key_file",
        env = "COFFER_MASTER_KEY_COMMAND",
        hide_env_values = true
    )]
    master_key_command: Option<String>,
}

/// The data directory when none is given.
const DEFAULT_DATA_DIR: &str = "coffer-data";

impl StorageArgs {
    fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }
}

#[derive(Args)]
struct ServeArgs {
    /// TOML file of settings: keys are these flags' long names (`data-dir = "/var/lib/coffer"`,
    /// `http = true`, `tls-name = ["a", "b"]`). A flag or COFFER_* variable overrides the file.
    #[arg(
        long,
        env = "COFFER_CONFIG",
        hide_env_values = true,
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    /// Address to listen on: IP:PORT or HOST:PORT (a host name is resolved; the first of its
    /// addresses that can be bound is used, IPv4 first); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:4566", env = "COFFER_LISTEN", hide_env_values = true, value_parser = coffer::config::parse_listen)]
    listen: String,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (plain HTTP, no authentication:
    /// keep it on a private address).
    #[arg(long, env = "COFFER_METRICS_LISTEN", hide_env_values = true, value_name = "ADDR:PORT", value_parser = coffer::config::parse_listen)]
    metrics_listen: Option<String>,
    #[command(flatten)]
    storage: StorageArgs,
    /// Lambda Invoke API endpoint for rotation functions (`http://host:port`), e.g. a container
    /// running the AWS Lambda Runtime Interface Emulator.
    #[arg(long, env = "COFFER_LAMBDA_ENDPOINT", hide_env_values = true)]
    lambda_endpoint: Option<String>,
    /// Endpoint for one rotation function: `FUNCTION_ARN=http://host:port` (repeatable; in the
    /// environment, comma-separated).
    #[arg(
        long = "lambda-function",
        value_name = "ARN=URL",
        env = "COFFER_LAMBDA_FUNCTION",
        hide_env_values = true,
        value_delimiter = ','
    )]
    lambda_functions: Vec<String>,
    /// Seconds between purges of expired deleted secrets and scheduled-rotation checks (at least
    /// 0.1; fractions let tests see several passes quickly).
    #[arg(long, default_value = "60", value_parser = parse_interval, env = "COFFER_MAINTENANCE_INTERVAL", hide_env_values = true)]
    maintenance_interval: std::time::Duration,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long, env = "COFFER_HTTP", hide_env_values = true, value_parser = BoolishValueParser::new())]
    http: bool,
    /// Development mode: plain HTTP, any credentials accepted, nothing enforced, state in memory
    /// (or in --data-dir DIR when given), `POST /_coffer/reset` empties it.
    #[arg(long, env = "COFFER_DEV", hide_env_values = true, value_parser = BoolishValueParser::new())]
    dev: bool,
    /// With --dev: the server's clock reads this time (RFC 3339, e.g. 2030-06-14T12:00:00Z) at
    /// start and advances from there, for tests of time-dependent behaviour (rotation windows).
    #[arg(long, requires = "dev", value_name = "TIME", value_parser = coffer::clock::parse_start, env = "COFFER_DEV_CLOCK_START", hide_env_values = true)]
    dev_clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Account id (12 digits) of the account created on first start; in --dev, the default account.
    #[arg(long, env = "COFFER_ACCOUNT_ID", hide_env_values = true)]
    account_id: Option<String>,
    /// Default region for requests whose signature names none.
    #[arg(
        long,
        default_value = "us-east-1",
        env = "COFFER_REGION",
        hide_env_values = true
    )]
    region: String,
    /// PEM certificate chain to serve instead of the generated one (with --tls-key); reloaded
    /// on SIGHUP and when the files change.
    #[arg(
        long,
        requires = "tls_key",
        env = "COFFER_TLS_CERT",
        hide_env_values = true
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(
        long,
        requires = "tls_cert",
        env = "COFFER_TLS_KEY",
        hide_env_values = true
    )]
    tls_key: Option<PathBuf>,
    /// Extra DNS name or IP address for the generated server certificate (repeatable; in the
    /// environment, comma-separated).
    #[arg(
        long = "tls-name",
        env = "COFFER_TLS_NAME",
        hide_env_values = true,
        value_delimiter = ','
    )]
    tls_names: Vec<String>,
    /// PEM CA certificate(s) to trust, besides the system's roots, when fetching OIDC issuers'
    /// keys for AssumeRoleWithWebIdentity (a private identity provider).
    #[arg(long, env = "COFFER_OIDC_CA", hide_env_values = true)]
    oidc_ca: Option<PathBuf>,
    /// Beyond AWS: a denial by policies also carries an encoded authorization failure message
    /// (as EC2's do) that `sts decode-authorization-message` turns into JSON naming the deciding
    /// policy and statement, failing conditions and the request's context.
    #[arg(long, env = "COFFER_EXPLAIN_DENIALS", hide_env_values = true, value_parser = BoolishValueParser::new())]
    explain_denials: bool,
    /// Directory where IAM SendDelegationToken writes each exchange token for the partner, as
    /// `<request id>.json` readable by Coffer's user only (AWS publishes it to the partner's SNS
    /// topic). Without it, no delegation token can be sent.
    #[arg(long, env = "COFFER_DELEGATION_OUTBOX", hide_env_values = true)]
    delegation_outbox: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    audit: coffer::audit_trail::AuditArgs,
}

/// Longest time limit accepted (a day): far beyond any useful setting, and far from overflowing
/// the clock arithmetic.
const MAX_SECS: u64 = 86_400;

/// Protection against clients that hold connections, memory or CPU (README, "Command line").
#[derive(Args)]
struct LimitArgs {
    /// Connections held at once. A newcomer beyond it takes the place of the connection idle the
    /// longest, or is refused at once if every connection has a request in progress.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000), env = "COFFER_MAX_CONNECTIONS", hide_env_values = true)]
    max_connections: u64,
    /// Connections one client (an IPv4 address or an IPv6 /64) may hold at once; the same rule
    /// applies among its own connections.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000), env = "COFFER_MAX_CONNECTIONS_PER_IP", hide_env_values = true)]
    max_connections_per_ip: u64,
    /// Seconds from accept (after the TLS handshake) to the first byte of a request.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS), env = "COFFER_FIRST_BYTE_TIMEOUT", hide_env_values = true)]
    first_byte_timeout: u64,
    /// Seconds a connection with no request in progress may stay silent (HTTP/1.1 keep-alive
    /// and HTTP/2).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS), env = "COFFER_IDLE_TIMEOUT", hide_env_values = true)]
    idle_timeout: u64,
    /// HTTP/2 streams (requests) open at once on one connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..), env = "COFFER_HTTP2_MAX_STREAMS", hide_env_values = true)]
    http2_max_streams: u32,
    /// Seconds between HTTP/2 PINGs that find peers that are gone; 0 sends none.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=MAX_SECS), env = "COFFER_HTTP2_PING_INTERVAL", hide_env_values = true)]
    http2_ping_interval: u64,
    /// Seconds an HTTP/2 PING may go unanswered before the connection is closed.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS), env = "COFFER_HTTP2_PING_TIMEOUT", hide_env_values = true)]
    http2_ping_timeout: u64,
    /// MiB of request bodies held in memory at once, across all connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536), env = "COFFER_BODY_BUDGET_MIB", hide_env_values = true)]
    body_budget_mib: u64,
    /// Milliseconds a request waits for body budget before it is answered 503 (throttling).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=MAX_SECS * 1000), env = "COFFER_BODY_BUDGET_WAIT_MS", hide_env_values = true)]
    body_budget_wait_ms: u64,
    /// Turn off the per-principal request-rate limits (always off with --dev).
    #[arg(long, env = "COFFER_NO_RATE_LIMITS", hide_env_values = true, value_parser = BoolishValueParser::new())]
    no_rate_limits: bool,
    /// Requests per second (fractions allowed; 0 = unlimited) for the quota an action belongs to,
    /// per principal: `secretsmanager:ListSecrets=10`, or `sts:*=100` for every quota of a
    /// service (repeatable; in the environment, comma-separated).
    #[arg(
        long = "rate-limit",
        value_name = "SERVICE:ACTION=PER_SECOND",
        env = "COFFER_RATE_LIMIT",
        hide_env_values = true,
        value_delimiter = ','
    )]
    rate_limits: Vec<String>,
}

impl LimitArgs {
    fn listener_limits(&self) -> ListenerLimits {
        use std::time::Duration;
        ListenerLimits {
            max_connections: self.max_connections as usize,
            max_connections_per_client: self.max_connections_per_ip as usize,
            first_byte_timeout: Duration::from_secs(self.first_byte_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            http2_max_concurrent_streams: self.http2_max_streams,
            http2_keep_alive_interval: (self.http2_ping_interval > 0)
                .then(|| Duration::from_secs(self.http2_ping_interval)),
            http2_keep_alive_timeout: Duration::from_secs(self.http2_ping_timeout),
            body_budget_bytes: self.body_budget_mib as usize * 1024 * 1024,
            body_budget_wait: Duration::from_millis(self.body_budget_wait_ms),
            ..ListenerLimits::default()
        }
    }

    fn rate_limits(
        &self,
        services: &[&'static coffer_model::schema::Service],
    ) -> anyhow::Result<RateLimits> {
        let mut limits = if self.no_rate_limits {
            RateLimits::disabled()
        } else {
            RateLimits::aws_defaults()
        };
        for flag in &self.rate_limits {
            let (action, rate) = flag.rsplit_once('=').with_context(|| {
                format!("--rate-limit wants SERVICE:ACTION=PER_SECOND, got {flag:?}")
            })?;
            let rate: f64 = rate
                .parse()
                .with_context(|| format!("--rate-limit {flag:?}: {rate:?} is not a number"))?;
            limits
                .set(action, rate, services)
                .map_err(|e| anyhow::anyhow!("--rate-limit {e}"))?;
        }
        Ok(limits)
    }
}

/// Raises the soft limit on open files to the hard limit (each connection holds one) and returns
/// how many connections fit, keeping some descriptors for the store and the rest of the process.
fn connections_that_fit(wanted: usize) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    const RESERVED: u64 = 256;
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the open-file limit");
        }
    }
    let Some(files) = getrlimit(Resource::Nofile).current else {
        return wanted;
    };
    let fit = files.saturating_sub(RESERVED).max(1) as usize;
    if fit < wanted {
        tracing::warn!(
            open_files = files,
            max_connections = fit,
            "the open-file limit allows fewer connections than --max-connections"
        );
    }
    wanted.min(fit)
}

fn main() -> std::process::ExitCode {
    let result = match resolve_command_line() {
        Ok((cli, resolved)) => run(cli, resolved),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The message chain only: an error returned from `main` prints its Debug form, which
            // carries a backtrace whenever RUST_BACKTRACE is set (common in CI) — noise for a
            // user who mistyped a path.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The command line with the configuration file's settings added (`config.rs`).
fn resolve_command_line() -> anyhow::Result<(Cli, coffer::config::Resolved)> {
    let resolved = coffer::config::resolve(Cli::command(), std::env::args_os().collect())?;
    let cli = Cli::from_arg_matches(&resolved.matches).unwrap_or_else(|e| e.exit());
    Ok((cli, resolved))
}

fn run(cli: Cli, resolved: coffer::config::Resolved) -> anyhow::Result<()> {
    let log_format = cli.log_format;
    match cli.command {
        Command::Serve(args) => server_runtime(log_format).and_then(|r| r.block_on(serve(args))),
        // Readers of a trail: offline, with their own exit statuses.
        Command::Admin(AdminCommand::VerifyAudit { files, keys }) => std::process::exit(
            coffer::audit_trail::verify_command(&files, &keys, &mut std::io::stdout().lock()),
        ),
        Command::Admin(AdminCommand::Audit(args)) => std::process::exit(
            coffer::audit_trail::lookup_command(&args, &mut std::io::stdout().lock()),
        ),
        Command::Admin(cmd) => server_runtime(log_format).and_then(|r| r.block_on(admin::run(cmd))),
        // Offline and short-lived: no logging, no runtime, and its own exit statuses.
        Command::Policy(PolicyCommand::Lint {
            file,
            format,
            policy_type,
        }) => std::process::exit(policy_lint(&file, format, policy_type)),
        Command::Config(ConfigCommand::Check(args)) => config_check(&args, &resolved),
        Command::Probe(args) => std::process::exit(coffer::probe::run(&args)),
    }
}

/// What `serve` refuses to start with, and what it starts with but warns about.
fn check_settings(args: &ServeArgs) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    if let Some(dir) = &args.delegation_outbox {
        if !dir.is_dir() {
            bail!("--delegation-outbox {} is not a directory", dir.display());
        }
    }
    let tls_flags = args.tls_cert.is_some() || args.tls_key.is_some() || !args.tls_names.is_empty();
    if args.dev && tls_flags {
        bail!("--dev serves plain HTTP: --tls-cert, --tls-key and --tls-name do not apply to it");
    }
    if args.http && tls_flags {
        bail!("--http serves plain HTTP: --tls-cert, --tls-key and --tls-name do not apply to it");
    }
    if args.tls_cert.is_some() && !args.tls_names.is_empty() {
        bail!("--tls-name names the generated certificate's names; a --tls-cert file has its own");
    }
    coffer::audit_trail::check_contradictions(&args.audit)?;
    if args.dev && args.storage.data_dir.is_none() {
        let storage = &args.storage;
        if storage.storage.is_some()
            || storage.master_key_file.is_some()
            || storage.master_key_command.is_some()
        {
            bail!(
                "--dev keeps its state in memory: --storage, --master-key-file and \
                 --master-key-command apply to it only with --data-dir DIR (state kept across restarts)"
            );
        }
    }
    if args.dev && (args.limits.no_rate_limits || !args.limits.rate_limits.is_empty()) {
        warnings.push(
            "--no-rate-limits and --rate-limit have no effect with --dev, which never limits request rates"
                .to_string(),
        );
    }
    coffer::config::check_region(&args.region)?;
    if let Some(id) = &args.account_id {
        bootstrap::validate_account_id(id)?;
    }
    for entry in &args.lambda_functions {
        if !entry
            .split_once('=')
            .is_some_and(|(arn, url)| !arn.is_empty() && !url.is_empty())
        {
            bail!("--lambda-function wants ARN=URL, got {entry:?}");
        }
    }
    if args.metrics_listen.as_deref() == Some(args.listen.as_str()) && !args.listen.ends_with(":0")
    {
        bail!(
            "--metrics-listen must differ from --listen ({})",
            args.listen
        );
    }
    args.limits.rate_limits(&[
        &coffer_model::secretsmanager::SERVICE,
        &coffer_model::iam::SERVICE,
        &coffer_model::sts::SERVICE,
    ])?;
    Ok(warnings)
}

/// `coffer config check`: the settings `serve` would run with, or what is wrong with them.
fn config_check(args: &ServeArgs, resolved: &coffer::config::Resolved) -> anyhow::Result<()> {
    let warnings = check_settings(args)?;
    for file in [
        &args.tls_cert,
        &args.tls_key,
        &args.oidc_ca,
        &args.storage.master_key_file,
    ]
    .into_iter()
    .flatten()
    {
        std::fs::metadata(file).with_context(|| format!("{}", file.display()))?;
    }
    if let Some(dir) = &args.storage.data_dir {
        coffer::data_dir::check(dir)?;
    }
    if !args.dev && !args.http && args.tls_cert.is_none() {
        tls::check_generated_names(&args.storage.data_dir().join("tls"), &args.tls_names)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    for address in std::iter::once(&args.listen).chain(args.metrics_listen.as_ref()) {
        runtime.block_on(coffer::config::resolve_listen(address))?;
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let mut command = Cli::command();
    // Global flags (`--log-format`) are settings of the subcommand too.
    command.build();
    let check = command
        .find_subcommand("config")
        .and_then(|c| c.find_subcommand("check"))
        .context("the config check command")?;
    let settings = resolved
        .matches
        .subcommand_matches("config")
        .and_then(|m| m.subcommand_matches("check"))
        .context("the config check arguments")?;
    let rendered = coffer::config::render(check, resolved, settings, redact_setting);
    match &resolved.file {
        Some(file) => println!(
            "# configuration OK: flags, COFFER_* variables and {}",
            file.display()
        ),
        None => println!("# configuration OK: flags and COFFER_* variables (no --config file)"),
    }
    print!("{rendered}");
    Ok(())
}

/// Hides what may carry a secret when settings are printed: a database URL's password, the
/// master-key command (which may hold a token).
fn redact_setting(flag: &str, value: &str) -> Option<String> {
    match flag {
        "master-key-command" => Some("(set; not shown)".to_string()),
        "storage" => coffer_store::BackendConfig::redacted_url(value),
        _ => None,
    }
}

/// Logging to stderr and the async runtime, for the commands that work on a store or serve.
fn server_runtime(format: LogFormat) -> anyhow::Result<tokio::runtime::Runtime> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(coffer::log_writer::BatchedStderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .event_format(coffer::log_format::TextFormat::new(
                tracing_subscriber::fmt::time::SystemTime,
            ))
            .init(),
        // One JSON object per line, the event's fields at the top level.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The workers' log lines are written in batches (crates/coffer/src/log_writer.rs).
        .on_thread_park(coffer::log_writer::on_worker_park)
        .on_thread_stop(coffer::log_writer::on_thread_stop)
        .build()
        .context("starting the async runtime")
}

/// Runs `coffer policy lint` and answers its exit status.
fn policy_lint(
    file: &std::path::Path,
    format: coffer::policy_lint::Format,
    policy_type: Option<coffer::policy_lint::PolicyType>,
) -> i32 {
    use std::io::{Read, Write};
    let (name, read) = if file.as_os_str() == "-" {
        let mut text = String::new();
        let read = std::io::stdin().read_to_string(&mut text).map(|_| text);
        ("-".to_owned(), read)
    } else {
        (file.display().to_string(), std::fs::read_to_string(file))
    };
    let document = match read {
        Ok(document) => document,
        Err(e) => {
            eprintln!("coffer policy lint: cannot read {name}: {e}");
            return 2;
        }
    };
    let outcome = coffer::policy_lint::run(&name, &document, policy_type, format);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(outcome.output.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 2;
    }
    i32::from(outcome.blocking)
}

mod admin {
    use super::*;

    pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
        match cmd {
            AdminCommand::Backup { file, storage } => {
                let store = open_existing(&storage).await?;
                let report = store.backup(&file).await?;
                println!("backed up {} records to {}", report.records, file.display());
            }
            AdminCommand::Restore { file, storage } => {
                coffer::data_dir::check(&storage.data_dir())?;
                let report = coffer::restore::restore(&file, store_config(&storage)).await?;
                println!(
                    "restored {} records from {}",
                    report.records,
                    file.display()
                );
            }
            AdminCommand::Tls(TlsCommand::Show { data_dir, tls_cert }) => {
                let files = match tls_cert {
                    Some(file) => vec![file],
                    None => {
                        let dir = data_dir
                            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
                            .join("tls");
                        let files = vec![dir.join("ca.pem"), dir.join("server.pem")];
                        if !files[0].exists() {
                            bail!(
                                "no generated TLS material in {} (it is made on the first start without --http, --dev or --tls-cert)",
                                dir.display()
                            );
                        }
                        files
                    }
                };
                for file in files {
                    for info in tls::describe(&file)? {
                        print_certificate(&file, &info);
                    }
                }
            }
            AdminCommand::Account(AccountCommand::Create {
                account_id,
                storage,
            }) => {
                create_private_dir(&storage.data_dir())?;
                let store = Store::open(store_config(&storage))
                    .await
                    .context("opening the store")?;
                let root = bootstrap::create_account(&store, account_id.as_deref()).await?;
                println!(
                    "{}",
                    serde_json::json!({
                        "AccountId": root.account_id,
                        "AccessKeyId": root.access_key_id,
                        "SecretAccessKey": root.secret_access_key,
                    })
                );
            }
            // `main` runs these offline, without a runtime.
            AdminCommand::VerifyAudit { .. } | AdminCommand::Audit(_) => {
                anyhow::bail!("the audit readers run without a store")
            }
            AdminCommand::RotateMasterKey {
                new_key_file,
                grace,
                storage,
            } => {
                let config = store_config(&storage);
                let replaces_default = new_key_file.is_none()
                    && matches!(config.master_key, MasterKeySource::Generated(_));
                let store = open_existing(&storage).await?;
                let default_path = storage.data_dir().join(coffer_store::MASTER_KEY_FILE);
                let new_path =
                    new_key_file.unwrap_or_else(|| default_path.with_extension("key.new"));
                let key = coffer_store::MasterKey::generate();
                // Written (and synced) before the rotation starts, so a crash never leaves the
                // store sealed under a key nobody holds.
                key.write_key_file(&new_path)?;
                let grace = std::time::Duration::from_secs(grace);
                let report = store.rotate_master_key(key, grace).await?;
                if replaces_default {
                    std::fs::rename(&new_path, &default_path)
                        .with_context(|| format!("moving {} into place", new_path.display()))?;
                    println!(
                        "re-wrapped {} data keys; the new master key is in {}",
                        report.rewrapped,
                        default_path.display()
                    );
                } else {
                    println!(
                        "re-wrapped {} data keys; the new master key is in {} — configure every node with it",
                        report.rewrapped,
                        new_path.display()
                    );
                }
            }
        }
        Ok(())
    }

    fn print_certificate(file: &std::path::Path, info: &tls::CertificateInfo) {
        println!("{}", file.display());
        println!("  subject:     {}", info.subject);
        println!("  issuer:      {}", info.issuer);
        if info.is_ca {
            println!(
                "  CA:          yes; may sign for: {}",
                info.permitted.join(", ")
            );
        }
        if !info.names.is_empty() {
            println!("  names:       {}", info.names.join(", "));
        }
        println!("  serial:      {}", info.serial);
        println!("  not before:  {}", info.not_before);
        println!("  not after:   {}", info.not_after);
        println!("  SHA-256:     {}", info.sha256);
    }

    async fn open_existing(storage: &StorageArgs) -> anyhow::Result<Store> {
        coffer::data_dir::check(&storage.data_dir())?;
        let config = store_config(storage);
        if let coffer_store::BackendConfig::Sqlite(path) = &config.backend {
            if !path.exists() {
                anyhow::bail!("no database at {}", path.display());
            }
        }
        Store::open(config).await.context("opening the store")
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Checked first, so a misspelt or contradictory setting fails the start.
    for warning in check_settings(&args)? {
        tracing::warn!("{warning}");
    }
    let rate_limits = args.limits.rate_limits(&[
        &coffer_model::secretsmanager::SERVICE,
        &coffer_model::iam::SERVICE,
        &coffer_model::sts::SERVICE,
    ])?;
    let mut config = AppConfig {
        default_region: args.region.clone(),
        rate_limits,
        ..AppConfig::default()
    };
    let metrics = Arc::new(Metrics::new());
    let mut notices = Vec::new();
    // What the start-up log lines say is configured (`startup.rs`); never a key or password.
    let mut configured: Vec<(&str, String)> = Vec::new();

    let (store, tls) = if args.dev {
        config.dev_mode = true;
        if let Some(id) = &args.account_id {
            config.default_account = bootstrap::validate_account_id(id)?.to_string();
        }
        let store = match &args.storage.data_dir {
            // Opt-in persistence: the same store as outside dev mode, still without auth or TLS.
            Some(dir) => {
                create_private_dir(dir)?;
                let store_config = store_config(&args.storage);
                configured.push(("storage", startup::storage(&store_config.backend)));
                configured.push(("master key", startup::master_key(&store_config.master_key)));
                let store = Store::open(store_config)
                    .await
                    .context("opening the store")?;
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                notices.push(format!("dev-mode state kept in {}", dir.display()));
                store
            }
            None => {
                let store_config = StoreConfig::memory();
                configured.push(("storage", startup::storage(&store_config.backend)));
                configured.push(("master key", startup::master_key(&store_config.master_key)));
                Store::open(store_config).await?
            }
        };
        configured.push(("TLS", startup::tls(&startup::Transport::Plain("--dev"))));
        (store, None)
    } else {
        let mut storage = args.storage.clone();
        let data_dir = storage.data_dir();
        create_private_dir(&data_dir)?;
        // Absolute, so that the paths printed below (CA bundle, credentials) work from anywhere.
        let data_dir = std::path::absolute(&data_dir)
            .with_context(|| format!("resolving {}", data_dir.display()))?;
        storage.data_dir = Some(data_dir.clone());
        let store_config = store_config(&storage);
        configured.push(("storage", startup::storage(&store_config.backend)));
        configured.push(("master key", startup::master_key(&store_config.master_key)));
        let store = Store::open(store_config)
            .await
            .context("opening the store")?;
        let preset = match (
            std::env::var("COFFER_ROOT_ACCESS_KEY_ID"),
            std::env::var("COFFER_ROOT_SECRET_ACCESS_KEY"),
        ) {
            (Ok(id), Ok(secret)) => Some((id, secret)),
            _ => None,
        };
        let root =
            bootstrap::ensure_root_account(&store, &data_dir, args.account_id.as_deref(), preset)
                .await?;
        config.default_account = root.account_id().to_string();
        match &root {
            bootstrap::Bootstrap::Credentials(root) if root.created => {
                let credentials = data_dir.join(bootstrap::CREDENTIALS_FILE);
                notices.push(format!(
                    "created account {} with root access key {} (secret in {})",
                    root.account_id,
                    root.access_key_id,
                    credentials.display()
                ));
                // Standard output that is not a terminal is usually kept (journald, container
                // logs, CI output): the secret goes there only when a person is reading it.
                if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    notices.push(format!(
                        "root secret access key (shown once): {}",
                        root.secret_access_key
                    ));
                } else {
                    notices.push(format!(
                        "root secret access key: in {} (not printed: standard output is not a terminal)",
                        credentials.display()
                    ));
                }
            }
            bootstrap::Bootstrap::Existing { account_id } => notices.push(format!(
                "serving the accounts already stored (first: {account_id}); no root credentials file in this data directory"
            )),
            _ => {}
        }
        let tls = if args.http {
            configured.push(("TLS", startup::tls(&startup::Transport::Plain("--http"))));
            None
        } else {
            let source = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => TlsSource::Files {
                    cert: cert.clone(),
                    key: key.clone(),
                },
                _ => TlsSource::Generated {
                    dir: data_dir.join("tls"),
                    extra_names: args.tls_names.clone(),
                },
            };
            let served =
                coffer_server::served::ServedCertificate::load(source.clone(), metrics.clone())?;
            configured.push(("TLS", served_certificate(&source)));
            if let Some(ca) = served.ca_path() {
                notices.push(format!(
                    "CA certificate: {} (export AWS_CA_BUNDLE={})",
                    ca.display(),
                    ca.display()
                ));
            }
            notices.extend(served.take_notices());
            Some(served)
        };
        (store, tls)
    };
    store.set_observer(Arc::new(StoreMetrics(metrics.clone())));
    let clock: Arc<dyn coffer_server::Clock> = match args.dev_clock_start {
        Some(start) => Arc::new(coffer::clock::ShiftedClock::starting_at(start)),
        None => Arc::new(SystemClock),
    };
    let directory = Arc::new(StoreDirectory::new(store.clone()).with_clock(clock.clone()));
    // One authorizer decides every request and, for STS, the trust policies of federated roles.
    let policy_authorizer =
        Arc::new(PolicyAuthorizer::new(store.clone()).explaining_denials(args.explain_denials));
    // Checked before the server announces itself, so a bad CA file fails the start.
    let mut sts = coffer_sts::StsService::new(store.clone(), policy_authorizer.clone());
    if let Some(path) = &args.oidc_ca {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        sts = sts
            .with_oidc_ca(&pem)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }

    // Before the server announces itself: a trail that cannot be continued fails the start.
    let (audit, audit_line) = coffer::audit_trail::open_for_serve(
        &args.audit,
        args.dev,
        &args.storage.data_dir(),
        &store,
    )?;

    let mut limits = args.limits.listener_limits();
    limits.max_connections = connections_that_fit(limits.max_connections);
    let listener = coffer::config::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    let metrics_listener = match &args.metrics_listen {
        Some(address) => Some(coffer::config::bind(address).await?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Before announcing the server: a SIGTERM sent as soon as the line appears must find the
    // handler in place, and so must a SIGHUP (whose default action would end the process).
    let shutdown = coffer_server::shutdown_signal().context("installing signal handlers")?;
    let reload = coffer_server::reload_signal().context("installing the SIGHUP handler")?;
    configured.insert(0, ("listen", format!("{scheme}://{addr}")));
    configured.push(("audit trail", audit_line));
    let metrics_addr = match &metrics_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    configured.push(("metrics", startup::metrics(metrics_addr)));
    startup::log(&configured);
    // The first stdout line is a contract: tests and scripts wait for it.
    println!("coffer listening on {scheme}://{addr}");
    if let Some(listener) = &metrics_listener {
        println!(
            "coffer metrics on http://{}/metrics",
            listener.local_addr()?
        );
    }
    for notice in notices {
        println!("{notice}");
    }

    let mut invoker = None;
    if args.lambda_endpoint.is_some() || !args.lambda_functions.is_empty() {
        let mut lambda =
            coffer_secretsmanager::LambdaHttpInvoker::new(args.lambda_endpoint.clone());
        for entry in &args.lambda_functions {
            let (arn, url) = entry
                .split_once('=')
                .with_context(|| format!("--lambda-function wants ARN=URL, got {entry:?}"))?;
            lambda = lambda.with_endpoint(arn, url);
        }
        invoker = Some(lambda);
    }
    let authorizer = metrics.counting(policy_authorizer);
    let batch_authorizer = (!args.dev).then(|| authorizer.clone());
    let services = services::build_with_sts(
        &store,
        invoker,
        sts,
        batch_authorizer,
        Some(Arc::new(RotationMetrics(metrics.clone()))),
        args.delegation_outbox.clone(),
    );
    tokio::spawn(services::keep_keys_fresh(store.clone()));
    tokio::spawn(services::maintenance(
        services.secrets_manager.clone(),
        services.sts.clone(),
        args.maintenance_interval,
        clock.clone(),
    ));
    if let Some(listener) = metrics_listener {
        tokio::spawn(coffer_server::ops::serve_metrics(
            listener,
            metrics.clone(),
            std::future::pending::<()>(),
        ));
    }
    let acceptor = tls.as_ref().map(|served| {
        tokio::spawn(served.clone().keep_fresh(reload));
        served.acceptor()
    });
    let ops = Ops::new(
        metrics.clone(),
        Some(Arc::new(StoreState(store.clone()))),
        args.dev,
    );
    let mut app = App::new(config, directory, authorizer, services.handlers, clock).with_ops(ops);
    if let Some(audit) = audit {
        app = app.with_audit(audit);
    }
    let app = Arc::new(app);
    coffer_server::serve(listener, acceptor, app, limits, shutdown).await;
    tracing::info!("coffer stopped");
    Ok(())
}

/// The start-up line for the served certificate: its file, the names it was issued for, and its
/// CA or key file.
fn served_certificate(source: &TlsSource) -> String {
    let names_of = |certificate: &std::path::Path| {
        tls::describe(certificate)
            .ok()
            .and_then(|chain| chain.into_iter().next())
            .map(|leaf| leaf.names)
            .unwrap_or_default()
    };
    match source {
        TlsSource::Generated { dir, .. } => {
            let certificate = dir.join("server.pem");
            let names = names_of(&certificate);
            startup::tls(&startup::Transport::Generated {
                certificate: &certificate,
                ca: &dir.join("ca.pem"),
                names: &names,
            })
        }
        TlsSource::Files { cert, key } => {
            let names = names_of(cert);
            startup::tls(&startup::Transport::Files {
                certificate: cert,
                key,
                names: &names,
            })
        }
    }
}

fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.1..=1e9).contains(&secs) {
        return Err(format!("{text} is outside 0.1 to 1e9 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn store_config(args: &StorageArgs) -> StoreConfig {
    let mut config = StoreConfig::data_dir(&args.data_dir());
    if let Some(spec) = &args.storage {
        config.backend = BackendConfig::parse(spec);
    }
    if let Some(file) = &args.master_key_file {
        config.master_key = MasterKeySource::File(file.clone());
    } else if let Some(cmd) = &args.master_key_command {
        config.master_key = MasterKeySource::Command(cmd.clone());
    } else if std::env::var_os(coffer_store::MASTER_KEY_ENV).is_some() {
        config.master_key = MasterKeySource::env();
    }
    config
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    coffer::data_dir::create_private_dirs(dir)
}
