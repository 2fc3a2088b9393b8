"""Starts the real `coffer` binary for end-to-end tests with real AWS clients.

The binary is the one `cargo build` produced (or $COFFER_BIN). Each server binds port 0 and the test
waits for its first stdout line, `coffer listening on <url>`: no fixed ports, no sleeps.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
ROOT_KEY = "AKIACOFFERTESTROOT01"
ROOT_SECRET = "cOfFeRtEsTsEcReTkEy0123456789abcdefGHIJ"
ACCOUNT = "123456789012"


def coffer_bin():
    explicit = os.environ.get("COFFER_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    return str(pathlib.Path(target) / "debug" / "coffer")


class Server:
    def __init__(self, args, env=None, data_dir=None, preexec_fn=None, binary=None):
        # `--dev` keeps its state in memory unless given a data directory: only an explicit one.
        persistent = data_dir is not None or "--dev" not in args
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="coffer-e2e-")
        full_env = dict(os.environ)
        full_env.update(env or {})
        location = ["--data-dir", self.data_dir] if persistent else []
        self.proc = subprocess.Popen(
            [binary or coffer_bin(), "serve", "--listen", "127.0.0.1:0", *location, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            text=True,
            preexec_fn=preexec_fn,
        )
        first = self.proc.stdout.readline()
        if not first.startswith("coffer listening on "):
            self.proc.kill()
            raise RuntimeError(f"coffer did not start: {first!r} {self.proc.stderr.read()}")
        self.url = first.split("coffer listening on ", 1)[1].strip()
        self.stdout_lines = [first]
        self.stderr_lines = []
        # Keep draining both pipes so the server never blocks on a full pipe.
        self._drainers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.stdout_lines), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr_lines), daemon=True),
        ]
        for drainer in self._drainers:
            drainer.start()
        self.ca = os.path.join(self.data_dir, "tls", "ca.pem")
        self.port = int(self.url.rsplit(":", 1)[1])

    @staticmethod
    def _drain(pipe, sink):
        for line in pipe:
            sink.append(line)

    @property
    def verify(self):
        return self.ca if self.url.startswith("https") else None

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # The process is gone: once the pipes are read to their end, the lines are complete.
        for drainer in self._drainers:
            drainer.join(timeout=20)
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


ROOT_ENV = {
    "COFFER_ROOT_ACCESS_KEY_ID": ROOT_KEY,
    "COFFER_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
}


@pytest.fixture(scope="session")
def server():
    """The production configuration: HTTPS with the generated CA, real authentication."""
    s = Server(["--account-id", ACCOUNT], env=ROOT_ENV)
    yield s
    s.cleanup()


@pytest.fixture(scope="session")
def dev_server():
    s = Server(["--dev"])
    yield s
    s.cleanup()


@pytest.fixture
def start_server():
    """Starts extra servers for a test and stops them afterwards."""
    started = []

    def start(args, env=None, data_dir=None, preexec_fn=None):
        s = Server(args, env=env, data_dir=data_dir, preexec_fn=preexec_fn)
        started.append(s)
        return s

    yield start
    for s in started:
        s.cleanup()


def wait_until(predicate, what, timeout=60):
    """Waits for an event another thread or process causes (writes acknowledged, a line logged),
    polling: `timeout` only bounds a failure, it is never the thing waited for."""
    import time
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def boto_client(service, srv, region="us-east-1", key=ROOT_KEY, secret=ROOT_SECRET, token=None, **config):
    import boto3
    import botocore.config

    return boto3.client(
        service,
        endpoint_url=srv.url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        verify=srv.verify,
        config=botocore.config.Config(retries={"max_attempts": 1}, **config),
    )


def cli_env(srv, key=ROOT_KEY, secret=ROOT_SECRET, region="us-east-1"):
    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_MAX_ATTEMPTS": "1",
        }
    )
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    if srv.verify:
        env["AWS_CA_BUNDLE"] = srv.ca
    return env


def _find_pg_bin(name):
    import glob
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise RuntimeError(f"PostgreSQL's {name} is not installed: scripts/test installs it (apt-get install postgresql)")


class Postgres:
    """A throw-away PostgreSQL server: initdb in a temp dir, run as `postgres` when we are root."""

    def __init__(self):
        import socket
        import time
        self.dir = tempfile.mkdtemp(prefix="coffer-pg-")
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
        data = os.path.join(self.dir, "data")
        subprocess.run(as_pg + [_find_pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "coffer", "-E", "UTF8",
                                "--locale=C", "--no-sync"], check=True, capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.as_pg, self.data = as_pg, data
        self.start()
        self.count = 0

    def start(self):
        import time
        self.proc = subprocess.Popen(
            self.as_pg + [_find_pg_bin("postgres"), "-D", self.data, "-p", str(self.port), "-k", self.dir,
                          "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        for line in self.proc.stderr:
            if "ready to accept connections" in line:
                break
            if time.time() > deadline:
                raise RuntimeError("PostgreSQL did not start")
        else:
            raise RuntimeError("PostgreSQL exited while starting")
        proc = self.proc
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()

    def _shutdown(self):
        # runuser does not forward signals, so ask pg_ctl, which signals the postmaster itself.
        subprocess.run(self.as_pg + [_find_pg_bin("pg_ctl"), "stop", "-D", self.data, "-m", "fast", "-w"],
                       capture_output=True, timeout=60)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def restart(self):
        self._shutdown()
        self.start()

    def new_database(self):
        self.count += 1
        name = f"coffer{self.count}"
        subprocess.run([_find_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "coffer", "-d", "postgres",
                        "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return f"postgres://coffer@127.0.0.1:{self.port}/{name}"

    def stop(self):
        self._shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres()
    yield pg
    pg.stop()
