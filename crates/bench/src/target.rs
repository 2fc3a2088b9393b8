//! The servers under test: how to start each one (pinned to its own core), find its URL, and tell
//! when it first answers — the start-up time is from spawn to that first successful response.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::client::{Conn, Endpoint};
use crate::load::Credentials;
use crate::postgres::{self, Postgres};
use crate::workload::{Dataset, Generator, Kind, Workload};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// HTTPS, SigV4 verified, policy evaluated, SQLite, values encrypted at rest.
    CofferProd,
    /// The production configuration with `--storage postgres://…` on a local PostgreSQL server the
    /// suite starts itself (fsync on).
    CofferProdPg,
    /// Two production nodes on that one PostgreSQL database; the load generator's connections
    /// alternate between them.
    CofferProdPg2,
    /// In memory, plain HTTP, any credentials.
    CofferDev,
    Moto,
    BaselineHttp,
    BaselineTls,
}

impl TargetKind {
    pub const ALL: [TargetKind; 7] = [
        TargetKind::BaselineHttp,
        TargetKind::BaselineTls,
        TargetKind::CofferDev,
        TargetKind::CofferProd,
        TargetKind::CofferProdPg,
        TargetKind::CofferProdPg2,
        TargetKind::Moto,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TargetKind::CofferProd => "Coffer (HTTPS, auth, SQLite)",
            TargetKind::CofferProdPg => "Coffer (HTTPS, auth, PostgreSQL)",
            TargetKind::CofferProdPg2 => "Coffer, 2 nodes (HTTPS, auth, PostgreSQL)",
            TargetKind::CofferDev => "Coffer --dev (HTTP)",
            TargetKind::Moto => "moto_server (HTTP)",
            TargetKind::BaselineHttp => "baseline hyper (HTTP)",
            TargetKind::BaselineTls => "baseline hyper (rustls)",
        }
    }

    pub fn is_baseline(self) -> bool {
        matches!(self, TargetKind::BaselineHttp | TargetKind::BaselineTls)
    }

    /// Stores in a PostgreSQL server the suite starts (and skips when PostgreSQL is absent).
    pub fn uses_postgres(self) -> bool {
        matches!(self, TargetKind::CofferProdPg | TargetKind::CofferProdPg2)
    }

    /// Runs Coffer's own binary.
    pub fn is_coffer(self) -> bool {
        matches!(
            self,
            TargetKind::CofferDev
                | TargetKind::CofferProd
                | TargetKind::CofferProdPg
                | TargetKind::CofferProdPg2
        )
    }

    /// Coffer processes serving the target.
    pub fn nodes(self) -> usize {
        if self == TargetKind::CofferProdPg2 {
            2
        } else {
            1
        }
    }

    /// Runs `workload`: the baselines answer anything, so only reads are meaningful there; the
    /// PostgreSQL targets run the operations whose cost moves to the database (the hot read, to
    /// show that it does not, and the two durable writes).
    pub fn runs(self, workload: Workload) -> bool {
        if self.uses_postgres() {
            return matches!(
                workload,
                Workload::GetSecretValueHot | Workload::PutSecretValue | Workload::CreateSecret
            );
        }
        !self.is_baseline() || workload.is_read()
    }
}

/// Binaries and placement.
#[derive(Clone, Debug)]
pub struct Tools {
    pub coffer: PathBuf,
    /// This binary, for the baseline subcommand.
    pub bench: PathBuf,
    /// A Python with moto[server] installed.
    pub python: String,
    /// `taskset -c CORE` for every server; `None` leaves placement to the scheduler.
    pub server_core: Option<String>,
}

/// One server process of a target.
pub struct Node {
    pub pid: u32,
    pub endpoint: Arc<Endpoint>,
    child: Child,
}

pub struct Target {
    /// One for most targets; the load generator spreads its connections over all of them.
    pub nodes: Vec<Node>,
    pub credentials: Credentials,
    /// Spawn to first successful response, of the first node.
    pub startup: Duration,
    /// The PostgreSQL server behind the nodes, if they store there.
    pub database: Option<Postgres>,
}

const ACCOUNT: &str = "123456789012";
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub fn root_credentials() -> Credentials {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let key: String = (0..16)
        .map(|_| UPPER[rng.gen_range(0..UPPER.len())] as char)
        .collect();
    let secret: String = (0..40)
        .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
        .collect();
    Credentials {
        access_key_id: format!("AKIA{key}"),
        secret_access_key: secret,
        region: "us-east-1".into(),
    }
}

pub fn any_credentials() -> Credentials {
    Credentials {
        access_key_id: "AKIDBENCHEXAMPLE0001".into(),
        secret_access_key: "bench/secret/key/any/credentials/accepted".into(),
        region: "us-east-1".into(),
    }
}

impl Target {
    /// Starts `kind` with its state in `dir` (kept by the caller, so Coffer can be restarted on it);
    /// for the PostgreSQL targets, the database server first (see `postgres::Binaries::find` for
    /// the skip when PostgreSQL is absent).
    pub async fn start(
        kind: TargetKind,
        tools: &Tools,
        dir: &Path,
        root: &Credentials,
    ) -> anyhow::Result<Target> {
        let database = if kind.uses_postgres() {
            let bins = postgres::Binaries::find().map_err(|e| anyhow!(e))?;
            let core = tools.server_core.clone();
            Some(
                tokio::task::spawn_blocking(move || Postgres::start(&bins, core.as_deref()))
                    .await??,
            )
        } else {
            None
        };
        let mut nodes = Vec::new();
        let mut startup = Duration::ZERO;
        let mut credentials = any_credentials();
        for n in 0..kind.nodes() {
            let node_dir = if n == 0 {
                dir.to_path_buf()
            } else {
                dir.join(format!("node{n}"))
            };
            std::fs::create_dir_all(&node_dir)?;
            // Every node seals with the same master key: the one the first node created in its
            // data directory (a node with another key refuses the shared database).
            let master_key = (n > 0).then(|| dir.join("data").join("master.key"));
            let (node, took, creds) = start_node(
                kind,
                tools,
                &node_dir,
                root,
                database.as_ref(),
                master_key.as_deref(),
            )
            .await?;
            if n == 0 {
                startup = took;
                credentials = creds;
            }
            nodes.push(node);
        }
        Ok(Target {
            nodes,
            credentials,
            startup,
            database,
        })
    }

    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.pid).collect()
    }

    pub fn endpoints(&self) -> Vec<Arc<Endpoint>> {
        self.nodes.iter().map(|n| n.endpoint.clone()).collect()
    }

    /// The node set-up calls (IAM) go to.
    pub fn first_endpoint(&self) -> &Endpoint {
        &self.nodes[0].endpoint
    }

    /// The database server's postmaster, whose process tree is its CPU.
    pub fn database_pid(&self) -> Option<u32> {
        self.database.as_ref().map(|d| d.postmaster_pid)
    }

    /// Every node (SIGTERM, then SIGKILL if it has not gone within five seconds), then the
    /// database server.
    pub async fn stop(self) {
        for node in self.nodes {
            node.stop().await;
        }
        if let Some(db) = self.database {
            let _ = tokio::task::spawn_blocking(move || db.stop()).await;
        }
    }
}

impl Node {
    async fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Starts one server process of `kind` in `dir` and waits for its first successful response.
async fn start_node(
    kind: TargetKind,
    tools: &Tools,
    dir: &Path,
    root: &Credentials,
    database: Option<&Postgres>,
    master_key: Option<&Path>,
) -> anyhow::Result<(Node, Duration, Credentials)> {
    let stderr = std::fs::File::create(dir.join("stderr.log"))?;
    let production = |extra: Vec<String>| {
        let mut args: Vec<String> = vec![
            "serve".into(),
            // One principal drives ~50k GetSecretValue/s: far over AWS's per-principal
            // quota (10,000/s), which the server enforces by default.
            "--no-rate-limits".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--account-id".into(),
            ACCOUNT.into(),
            "--data-dir".into(),
            dir.join("data").display().to_string(),
        ];
        args.extend(extra);
        args
    };
    let (program, args, credentials): (PathBuf, Vec<String>, Credentials) = match kind {
        TargetKind::CofferProd => (tools.coffer.clone(), production(vec![]), root.clone()),
        TargetKind::CofferProdPg | TargetKind::CofferProdPg2 => {
            let db = database.ok_or_else(|| anyhow!("{kind:?} has no database"))?;
            let mut extra = vec!["--storage".to_string(), db.url.clone()];
            if let Some(key) = master_key {
                extra.push("--master-key-file".into());
                extra.push(key.display().to_string());
            }
            (tools.coffer.clone(), production(extra), root.clone())
        }
        TargetKind::CofferDev => (
            tools.coffer.clone(),
            vec![
                "serve".into(),
                "--dev".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
            ],
            any_credentials(),
        ),
        TargetKind::Moto => (
            PathBuf::from(&tools.python),
            vec![
                "-m".into(),
                "moto.server".into(),
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                free_port()?.to_string(),
            ],
            any_credentials(),
        ),
        TargetKind::BaselineHttp | TargetKind::BaselineTls => {
            let mut args = vec!["baseline".into(), "--listen".into(), "127.0.0.1:0".into()];
            if kind == TargetKind::BaselineTls {
                args.push("--tls-ca-out".into());
                args.push(dir.join("ca.pem").display().to_string());
            }
            (tools.bench.clone(), args, any_credentials())
        }
    };
    let mut cmd = match &tools.server_core {
        // taskset execs the server, so the child's pid is the server's.
        Some(core) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core).arg(&program);
            c
        }
        None => Command::new(&program),
    };
    cmd.args(&args)
        .env("COFFER_ROOT_ACCESS_KEY_ID", &root.access_key_id)
        .env("COFFER_ROOT_SECRET_ACCESS_KEY", &root.secret_access_key)
        .env("COFFER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true);

    let spawned = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let pid = child
        .id()
        .ok_or_else(|| anyhow!("{kind:?} exited at once"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout pipe"))?;
    let mut lines = BufReader::new(stdout).lines();

    let (url, ca) = match kind {
        TargetKind::Moto => {
            // moto prints nothing useful on stdout; its port is the one we gave it.
            let port = args.last().cloned().unwrap_or_default();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            (format!("http://127.0.0.1:{port}"), None)
        }
        _ => {
            let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
                .await
                .map_err(|_| anyhow!("{kind:?} printed no listening line"))??
                .ok_or_else(|| anyhow!("{kind:?} closed stdout: {}", log_tail(dir)))?;
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            let url = first
                .split_once(" listening on ")
                .map(|(_, u)| u.trim().to_string())
                .ok_or_else(|| anyhow!("unexpected first line {first:?}"))?;
            let ca = match kind {
                TargetKind::CofferProd | TargetKind::CofferProdPg | TargetKind::CofferProdPg2 => {
                    Some(dir.join("data").join("tls").join("ca.pem"))
                }
                TargetKind::BaselineTls => Some(dir.join("ca.pem")),
                _ => None,
            };
            (url, ca)
        }
    };
    let endpoint = Arc::new(Endpoint::new(&url, ca.as_deref())?);
    wait_for_first_success(&mut child, &endpoint, &credentials, dir).await?;
    let startup = spawned.elapsed();
    Ok((
        Node {
            pid,
            endpoint,
            child,
        },
        startup,
        credentials,
    ))
}

/// Polls with signed sts:GetCallerIdentity until one succeeds: every target answers it, and for
/// Coffer's production configuration it proves that authentication is up too.
async fn wait_for_first_success(
    child: &mut Child,
    endpoint: &Endpoint,
    credentials: &Credentials,
    dir: &Path,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut signer = crate::sigv4::Signer::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.region,
    );
    let data = Dataset::new("", 1);
    let mut generator = Generator::new(Kind::Run(Workload::GetCallerIdentity), data, "probe");
    let mut last = String::new();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("exited with {status} before answering: {}", log_tail(dir));
        }
        if Instant::now() > deadline {
            bail!("no successful response within {START_TIMEOUT:?}; last: {last}");
        }
        match Conn::connect(endpoint).await {
            Ok(mut conn) => {
                let op = generator.next(0);
                let req = crate::load::build_request(endpoint, &mut signer, &op)?;
                match conn.send(req).await {
                    Ok(resp) if resp.status.is_success() => return Ok(()),
                    Ok(resp) => last = format!("HTTP {}", resp.status),
                    Err(e) => last = format!("{e:#}"),
                }
            }
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
