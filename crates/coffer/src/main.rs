//! `coffer`: the command-line entry point. `coffer serve` runs the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use coffer::authorizer::PolicyAuthorizer;
use coffer::directory::StoreDirectory;
use coffer::{bootstrap, services};
use coffer_server::tls::{self, TlsSource};
use coffer_server::{App, AppConfig, ListenerLimits, RateLimits, SystemClock};
use coffer_store::{BackendConfig, MasterKeySource, Store, StoreConfig};
use tokio::net::TcpListener;

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
    #[arg(long, global = true, value_enum, default_value = "text")]
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
    /// Directory for the database, TLS material and root credentials.
    #[arg(long, default_value = "coffer-data")]
    data_dir: PathBuf,
    /// Where state lives: `<data-dir>/coffer.db` (SQLite) by default, a SQLite path, or
    /// `postgres://…` shared by several nodes.
    #[arg(long)]
    storage: Option<String>,
    /// Master key file (32 bytes, base64). Default: `<data-dir>/master.key` (which `serve` creates
    /// on first start), unless COFFER_MASTER_KEY holds the key.
    #[arg(long)]
    master_key_file: Option<PathBuf>,
    /// Command whose standard output is the base64 master key (an HSM or a cloud KMS).
    #[arg(long, conflicts_with = "master_key_file")]
    master_key_command: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    #[command(flatten)]
    storage: StorageArgs,
    /// Lambda Invoke API endpoint for rotation functions (`http://host:port`), e.g. a container
    /// running the AWS Lambda Runtime Interface Emulator.
    #[arg(long)]
    lambda_endpoint: Option<String>,
    /// Endpoint for one rotation function: `FUNCTION_ARN=http://host:port` (repeatable).
    #[arg(long = "lambda-function", value_name = "ARN=URL")]
    lambda_functions: Vec<String>,
    /// Seconds between purges of expired deleted secrets and scheduled-rotation checks (at least
    /// 0.1; fractions let tests see several passes quickly).
    #[arg(long, default_value = "60", value_parser = parse_interval)]
    maintenance_interval: std::time::Duration,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// Development mode: in memory (no data directory, no --storage), plain HTTP, any credentials
    /// accepted, nothing enforced.
    #[arg(long)]
    dev: bool,
    /// With --dev: the server's clock reads this time (RFC 3339, e.g. 2030-06-14T12:00:00Z) at
    /// start and advances from there, for tests of time-dependent behaviour (rotation windows).
    #[arg(long, requires = "dev", value_name = "TIME", value_parser = coffer::clock::parse_start)]
    dev_clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Account id (12 digits) of the account created on first start; in --dev, the default account.
    #[arg(long)]
    account_id: Option<String>,
    /// Default region for requests whose signature names none.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// PEM certificate chain to serve instead of the generated one (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Extra DNS name or IP address for the generated server certificate (repeatable).
    #[arg(long = "tls-name")]
    tls_names: Vec<String>,
    /// PEM CA certificate(s) to trust, besides the system's roots, when fetching OIDC issuers'
    /// keys for AssumeRoleWithWebIdentity (a private identity provider).
    #[arg(long)]
    oidc_ca: Option<PathBuf>,
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
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Connections one client (an IPv4 address or an IPv6 /64) may hold at once; the same rule
    /// applies among its own connections.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections_per_ip: u64,
    /// Seconds from accept (after the TLS handshake) to the first byte of a request.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    first_byte_timeout: u64,
    /// Seconds a connection with no request in progress may stay silent (HTTP/1.1 keep-alive
    /// and HTTP/2).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    idle_timeout: u64,
    /// HTTP/2 streams (requests) open at once on one connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    http2_max_streams: u32,
    /// Seconds between HTTP/2 PINGs that find peers that are gone; 0 sends none.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=MAX_SECS))]
    http2_ping_interval: u64,
    /// Seconds an HTTP/2 PING may go unanswered before the connection is closed.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
    http2_ping_timeout: u64,
    /// MiB of request bodies held in memory at once, across all connections.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    body_budget_mib: u64,
    /// Milliseconds a request waits for body budget before it is answered 503 (throttling).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=MAX_SECS * 1000))]
    body_budget_wait_ms: u64,
    /// Turn off the per-principal request-rate limits (always off with --dev).
    #[arg(long)]
    no_rate_limits: bool,
    /// Requests per second (fractions allowed; 0 = unlimited) for the quota an action belongs to,
    /// per principal: `secretsmanager:ListSecrets=10`, or `sts:*=100` for every quota of a
    /// service (repeatable).
    #[arg(long = "rate-limit", value_name = "SERVICE:ACTION=PER_SECOND")]
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
    let cli = Cli::parse();
    let log_format = cli.log_format;
    let result = match cli.command {
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

/// Logging to stderr and the async runtime, for the commands that work on a store or serve.
fn server_runtime(format: LogFormat) -> anyhow::Result<tokio::runtime::Runtime> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
                coffer::data_dir::check(&storage.data_dir)?;
                let report = coffer::restore::restore(&file, store_config(&storage)).await?;
                println!(
                    "restored {} records from {}",
                    report.records,
                    file.display()
                );
            }
            AdminCommand::Account(AccountCommand::Create {
                account_id,
                storage,
            }) => {
                create_private_dir(&storage.data_dir)?;
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
                let default_path = storage.data_dir.join(coffer_store::MASTER_KEY_FILE);
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

    async fn open_existing(storage: &StorageArgs) -> anyhow::Result<Store> {
        coffer::data_dir::check(&storage.data_dir)?;
        let config = store_config(storage);
        if let coffer_store::BackendConfig::Sqlite(path) = &config.backend {
            if !path.exists() {
                anyhow::bail!("no database at {}", path.display());
            }
        }
        Store::open(config).await.context("opening the store")
    }
}

async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    // Checked first, so a misspelt limit fails the start.
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
    let mut notices = Vec::new();

    let (store, tls) = if args.dev {
        config.dev_mode = true;
        if let Some(id) = &args.account_id {
            config.default_account = bootstrap::validate_account_id(id)?.to_string();
        }
        (Store::open(StoreConfig::memory()).await?, None)
    } else {
        create_private_dir(&args.storage.data_dir)?;
        // Absolute, so that the paths printed below (CA bundle, credentials) work from anywhere.
        args.storage.data_dir = std::path::absolute(&args.storage.data_dir)
            .with_context(|| format!("resolving {}", args.storage.data_dir.display()))?;
        let store = Store::open(store_config(&args.storage))
            .await
            .context("opening the store")?;
        let preset = match (
            std::env::var("COFFER_ROOT_ACCESS_KEY_ID"),
            std::env::var("COFFER_ROOT_SECRET_ACCESS_KEY"),
        ) {
            (Ok(id), Ok(secret)) => Some((id, secret)),
            _ => None,
        };
        let root = bootstrap::ensure_root_account(
            &store,
            &args.storage.data_dir,
            args.account_id.as_deref(),
            preset,
        )
        .await?;
        config.default_account = root.account_id().to_string();
        match &root {
            bootstrap::Bootstrap::Credentials(root) if root.created => {
                let credentials = args.storage.data_dir.join(bootstrap::CREDENTIALS_FILE);
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
            None
        } else {
            let source = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => TlsSource::Files {
                    cert: cert.clone(),
                    key: key.clone(),
                },
                _ => TlsSource::Generated {
                    dir: args.storage.data_dir.join("tls"),
                    extra_names: args.tls_names.clone(),
                },
            };
            let material = tls::load(&source)?;
            if let Some(ca) = &material.ca_path {
                notices.push(format!(
                    "CA certificate: {} (export AWS_CA_BUNDLE={})",
                    ca.display(),
                    ca.display()
                ));
            }
            Some(coffer_server::listener::acceptor(material.config))
        };
        (store, tls)
    };
    let clock: Arc<dyn coffer_server::Clock> = match args.dev_clock_start {
        Some(start) => Arc::new(coffer::clock::ShiftedClock::starting_at(start)),
        None => Arc::new(SystemClock),
    };
    let directory = Arc::new(StoreDirectory::new(store.clone()).with_clock(clock.clone()));
    // Checked before the server announces itself, so a bad CA file fails the start.
    let mut sts = coffer_sts::StsService::new(store.clone());
    if let Some(path) = &args.oidc_ca {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        sts = sts
            .with_oidc_ca(&pem)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }

    // Before the server announces itself: a trail that cannot be continued fails the start.
    let audit =
        coffer::audit_trail::open_for_serve(&args.audit, args.dev, &args.storage.data_dir, &store)?;

    let mut limits = args.limits.listener_limits();
    limits.max_connections = connections_that_fit(limits.max_connections);
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Before announcing the server: a SIGTERM sent as soon as the line appears must find the
    // handler in place.
    let shutdown = coffer_server::shutdown_signal().context("installing signal handlers")?;
    // The first stdout line is a contract: tests and scripts wait for it.
    println!("coffer listening on {scheme}://{addr}");
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
    let authorizer: Arc<dyn coffer_server::Authorizer> =
        Arc::new(PolicyAuthorizer::new(store.clone()));
    let batch_authorizer = (!args.dev).then(|| authorizer.clone());
    let services = services::build_with_sts(&store, invoker, sts, batch_authorizer);
    tokio::spawn(services::keep_keys_fresh(store.clone()));
    tokio::spawn(services::maintenance(
        services.secrets_manager.clone(),
        services.sts.clone(),
        args.maintenance_interval,
        clock.clone(),
    ));
    let mut app = App::new(config, directory, authorizer, services.handlers, clock);
    if let Some(audit) = audit {
        app = app.with_audit(audit);
    }
    let app = Arc::new(app);
    coffer_server::serve(listener, tls, app, limits, shutdown).await;
    tracing::info!("coffer stopped");
    Ok(())
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
    let mut config = StoreConfig::data_dir(&args.data_dir);
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
