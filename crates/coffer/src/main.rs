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
use coffer_server::{App, AppConfig, ListenerLimits, SystemClock};
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
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Operate on the stored state: backup, restore, master-key rotation.
    #[command(subcommand)]
    Admin(AdminCommand),
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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| match cli.command {
            Command::Serve(args) => runtime.block_on(serve(args)),
            Command::Admin(cmd) => runtime.block_on(admin::run(cmd)),
        });
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
    let mut config = AppConfig {
        default_region: args.region.clone(),
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

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
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
    let app = Arc::new(App::new(
        config,
        directory,
        authorizer,
        services.handlers,
        clock,
    ));
    coffer_server::serve(
        listener,
        tls,
        app,
        ListenerLimits::default(),
        coffer_server::shutdown_signal(),
    )
    .await;
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
