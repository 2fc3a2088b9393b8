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
    /// In memory, plain HTTP, any credentials.
    CofferDev,
    Moto,
    BaselineHttp,
    BaselineTls,
}

impl TargetKind {
    pub const ALL: [TargetKind; 5] = [
        TargetKind::BaselineHttp,
        TargetKind::BaselineTls,
        TargetKind::CofferDev,
        TargetKind::CofferProd,
        TargetKind::Moto,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TargetKind::CofferProd => "Coffer (HTTPS, auth, SQLite)",
            TargetKind::CofferDev => "Coffer --dev (HTTP)",
            TargetKind::Moto => "moto_server (HTTP)",
            TargetKind::BaselineHttp => "baseline hyper (HTTP)",
            TargetKind::BaselineTls => "baseline hyper (rustls)",
        }
    }

    pub fn is_baseline(self) -> bool {
        matches!(self, TargetKind::BaselineHttp | TargetKind::BaselineTls)
    }

    /// Runs `workload`: the baselines answer anything, so only reads are meaningful there.
    pub fn runs(self, workload: Workload) -> bool {
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

pub struct Target {
    pub pid: u32,
    pub endpoint: Arc<Endpoint>,
    pub credentials: Credentials,
    pub startup: Duration,
    child: Child,
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
    /// Starts `kind` with its state in `dir` (kept by the caller, so Coffer can be restarted on it).
    pub async fn start(
        kind: TargetKind,
        tools: &Tools,
        dir: &Path,
        root: &Credentials,
    ) -> anyhow::Result<Target> {
        let stderr = std::fs::File::create(dir.join("stderr.log"))?;
        let (program, args, credentials): (PathBuf, Vec<String>, Credentials) = match kind {
            TargetKind::CofferProd => (
                tools.coffer.clone(),
                vec![
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
                ],
                root.clone(),
            ),
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
                    TargetKind::CofferProd => Some(dir.join("data").join("tls").join("ca.pem")),
                    TargetKind::BaselineTls => Some(dir.join("ca.pem")),
                    _ => None,
                };
                (url, ca)
            }
        };
        let endpoint = Arc::new(Endpoint::new(&url, ca.as_deref())?);
        wait_for_first_success(&mut child, &endpoint, &credentials, dir).await?;
        let startup = spawned.elapsed();
        Ok(Target {
            pid,
            endpoint,
            credentials,
            startup,
            child,
        })
    }

    /// SIGTERM, then SIGKILL if it has not gone within five seconds.
    pub async fn stop(mut self) {
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
