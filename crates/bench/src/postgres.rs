//! A throw-away PostgreSQL server for the PostgreSQL targets, started the way the store's tests and
//! tests/e2e/conftest.py start theirs: initdb in a fresh temporary directory, the server run as the
//! `postgres` user when we are root (PostgreSQL refuses root), on 127.0.0.1 and a free port. Unlike
//! the tests' server it keeps `fsync` on: a PutSecretValue is measured acknowledged after a durable
//! commit, as in production.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The PostgreSQL programs a target needs.
#[derive(Clone, Debug)]
pub struct Binaries {
    initdb: PathBuf,
    postgres: PathBuf,
    createdb: PathBuf,
}

impl Binaries {
    /// Looks on PATH, in /usr/local/bin and in /usr/lib/postgresql/*/bin (newest first), as
    /// `scripts/test` and the tests do; `Err` says what is missing and how to get it.
    pub fn find() -> Result<Binaries, String> {
        let bins = Binaries::find_in(&search_dirs())?;
        if is_root() && !user_exists("postgres") {
            return Err(
                "running as root, PostgreSQL must run as the `postgres` user, and \
                        there is none (installing the postgresql package creates it)"
                    .into(),
            );
        }
        Ok(bins)
    }

    fn find_in(dirs: &[PathBuf]) -> Result<Binaries, String> {
        let find = |name: &str| {
            dirs.iter()
                .map(|d| d.join(name))
                .find(|p| p.is_file())
                .ok_or(name.to_string())
        };
        match (find("initdb"), find("postgres"), find("createdb")) {
            (Ok(initdb), Ok(postgres), Ok(createdb)) => Ok(Binaries {
                initdb,
                postgres,
                createdb,
            }),
            (a, b, c) => {
                let missing: Vec<String> = [a, b, c].into_iter().filter_map(Result::err).collect();
                Err(format!(
                    "PostgreSQL is not installed ({} not found on PATH, in /usr/local/bin or \
                     /usr/lib/postgresql/*/bin); install it (e.g. `apt-get install postgresql`, as \
                     scripts/test does) to run this target",
                    missing.join(", ")
                ))
            }
        }
    }
}

/// Where PostgreSQL's programs may be: PATH, /usr/local/bin, then Debian's versioned
/// directories, newest first.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/local/bin"));
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.reverse();
    dirs.extend(versions);
    dirs
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `program`, run as the unprivileged `postgres` user when we are root.
fn as_pg_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub struct Postgres {
    /// The database Coffer is given: `postgres://coffer@127.0.0.1:PORT/coffer_bench`.
    pub url: String,
    /// The postmaster: its process tree is the database server's CPU.
    pub postmaster_pid: u32,
    /// The shell that runs the postmaster and stops it (fast shutdown) when this pipe closes —
    /// at `stop`, on drop, or when the benchmark process dies — so no server outlives the run.
    wrapper: Child,
    // Held, never read, and dropped last: the data directory goes once the server is gone.
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// initdb, start on a free port (under `taskset -c CORE` when given: the database server sits
    /// on the server core beside Coffer), and create the benchmark's database. Blocking.
    pub fn start(bins: &Binaries, server_core: Option<&str>) -> anyhow::Result<Postgres> {
        // Its own directory, not the target's: PostgreSQL runs as `postgres`, which cannot enter
        // the caller's private (0700, root-owned) temporary directory.
        let dir = tempfile::Builder::new()
            .prefix("coffer-bench-pg")
            .tempdir()?;
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .context("chown of the PostgreSQL directory")?;
            if !status.success() {
                bail!("chown postgres {} failed", dir.path().display());
            }
        }
        let data = dir.path().join("data");
        let out = as_pg_user(&bins.initdb)
            .arg("-D")
            .arg(&data)
            // initdb's own files need no fsync: a crash while initialising loses nothing of value.
            .args([
                "-A",
                "trust",
                "-U",
                "coffer",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();

        let script = r#"postgres="$1"; shift; "$postgres" "$@" & pid=$!; read _unused; kill -INT $pid; wait $pid"#;
        let mut cmd = match server_core {
            Some(core) => {
                // taskset applies to the wrapper and so to everything it starts.
                let mut c = Command::new("taskset");
                c.arg("-c").arg(core);
                if is_root() {
                    c.args(["runuser", "-u", "postgres", "--"]);
                }
                c.arg("sh");
                c
            }
            None => as_pg_user(Path::new("sh")),
        };
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&bins.postgres)
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                // Production settings where they matter to the figures: durable commits.
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "max_connections=200",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut wrapper = cmd.spawn().context("starting postgres")?;
        let stderr = wrapper
            .stderr
            .take()
            .ok_or_else(|| anyhow!("no stderr pipe"))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            let mut lines_before_ready = Vec::new();
            // Keep reading after ready: a full pipe would block the server.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("ready to accept connections") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(Ok(()));
                    }
                } else if ready.is_some() {
                    lines_before_ready.push(line);
                }
            }
            if let Some(tx) = ready {
                let _ = tx.send(Err(lines_before_ready.join(" | ")));
            }
        });
        let mut server = Postgres {
            url: format!("postgres://coffer@127.0.0.1:{port}/coffer_bench"),
            postmaster_pid: 0,
            wrapper,
            _dir: dir,
        };
        match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => bail!("PostgreSQL failed to start: {log}"),
            Err(_) => bail!("PostgreSQL was not ready within {READY_TIMEOUT:?}"),
        }
        server.postmaster_pid = postmaster_pid(&data)?;
        let out = Command::new(&bins.createdb)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "coffer"])
            .arg("coffer_bench")
            .output()
            .context("running createdb")?;
        if !out.status.success() {
            bail!(
                "createdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(server)
    }

    /// Fast shutdown; waits until the server has exited.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if self.wrapper.stdin.take().is_some() {
            let _ = self.wrapper.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The first line of `postmaster.pid` in the data directory.
fn postmaster_pid(data: &Path) -> anyhow::Result<u32> {
    let file = data.join("postmaster.pid");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| anyhow!("{} names no pid", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postmaster_pid_is_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("postmaster.pid"),
            "4242\n/tmp/x/data\n1700000000\n5432\n",
        )
        .unwrap();
        assert_eq!(postmaster_pid(dir.path()).unwrap(), 4242);
        std::fs::write(dir.path().join("postmaster.pid"), "").unwrap();
        assert!(postmaster_pid(dir.path()).is_err());
        assert!(postmaster_pid(&dir.path().join("none")).is_err());
    }

    #[test]
    fn missing_programs_are_named_in_the_reason_to_skip() {
        let empty = tempfile::tempdir().unwrap();
        let why = Binaries::find_in(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(why.contains("PostgreSQL is not installed"), "{why}");
        assert!(why.contains("initdb, postgres, createdb"), "{why}");
        assert!(why.contains("apt-get install postgresql"), "{why}");

        // Only the server missing: only it is named.
        let partial = tempfile::tempdir().unwrap();
        for name in ["initdb", "createdb"] {
            std::fs::write(partial.path().join(name), "").unwrap();
        }
        let why = Binaries::find_in(&[partial.path().to_path_buf()]).unwrap_err();
        assert!(why.contains("(postgres not found"), "{why}");

        std::fs::write(partial.path().join("postgres"), "").unwrap();
        let dirs = [empty.path().to_path_buf(), partial.path().to_path_buf()];
        let found = Binaries::find_in(&dirs).unwrap();
        assert_eq!(found.postgres, partial.path().join("postgres"));
    }
}
