"""Issue 13: every `coffer serve` flag from the environment (COFFER_*) and from a TOML file
(--config), with one precedence (flag > environment > file > default), `coffer config check`,
contradictory settings refused, and host names accepted by --listen."""
import json
import os
import re
import subprocess

import pytest
import requests

from conftest import boto_client, coffer_bin, wait_until


def run(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_") or k == "COFFER_BIN"}
    full_env.update(env or {})
    return subprocess.run([coffer_bin(), *args], capture_output=True, text=True, timeout=60, env=full_env, cwd=cwd)


def serve_flags():
    """{long flag: environment variable} as `coffer serve --help` lists them."""
    out = run("serve", "--help")
    assert out.returncode == 0
    flags = {}
    for block in re.split(r"\n(?=\s+--)", out.stdout):
        m = re.match(r"\s+--([a-z0-9-]+)", block)
        if not m or m.group(1) in ("help", "version"):
            continue
        env = re.search(r"\[env: ([A-Z0-9_]+)\]", block)
        flags[m.group(1)] = env.group(1) if env else None
    return flags


def test_every_serve_flag_has_its_environment_variable():
    flags = serve_flags()
    assert len(flags) >= 30, flags
    for flag, env in flags.items():
        assert env == "COFFER_" + flag.upper().replace("-", "_"), (flag, env)
    # Values of the environment are never printed by --help (a database URL may hold a password).
    out = run("serve", "--help", env={"COFFER_STORAGE": "postgres://u:s3cret@db/x"})
    assert "s3cret" not in out.stdout


@pytest.fixture
def samples(tmp_path):
    """A valid value for every flag, as the file spells it, with the flags it needs beside it."""
    existing = tmp_path / "file.pem"
    existing.write_text("not read by config check")
    return {
        "listen": ("127.0.0.1:4599", {}),
        "metrics-listen": ("127.0.0.1:9199", {}),
        "data-dir": (str(tmp_path / "data"), {}),
        "storage": (str(tmp_path / "other.db"), {}),
        "master-key-file": (str(existing), {}),
        "master-key-command": ("cat /run/secrets/coffer-key", {}),
        "lambda-endpoint": ("http://127.0.0.1:9", {}),
        "lambda-function": (["arn:aws:lambda:us-east-1:123456789012:function:f=http://127.0.0.1:9"], {}),
        "maintenance-interval": (0.5, {}),
        "http": (True, {}),
        "dev": (True, {}),
        "dev-clock-start": ("2030-06-14T12:00:00Z", {"dev": True}),
        "account-id": ("123456789012", {}),
        "region": ("eu-west-1", {}),
        "tls-cert": (str(existing), {"tls-key": str(existing)}),
        "tls-key": (str(existing), {"tls-cert": str(existing)}),
        "tls-name": (["coffer.internal"], {}),
        "oidc-ca": (str(existing), {}),
        "max-connections": (100, {}),
        "max-connections-per-ip": (10, {}),
        "first-byte-timeout": (5, {}),
        "idle-timeout": (7, {}),
        "http2-max-streams": (8, {}),
        "http2-ping-interval": (9, {}),
        "http2-ping-timeout": (11, {}),
        "body-budget-mib": (3, {}),
        "body-budget-wait-ms": (250, {}),
        "no-rate-limits": (True, {}),
        "rate-limit": (["sts:*=5"], {}),
        "audit-log": (str(tmp_path / "trail" / "audit.log"), {}),
        "no-audit-log": (True, {}),
        "audit-log-max-mib": ("7", {}),
        "audit-log-keep": ("3", {}),
        "audit-required": ("false", {}),
        "audit-flush": ("write", {}),
        "explain-denials": (True, {}),
        "delegation-outbox": (str(tmp_path), {}),
        "log-format": ("json", {}),
    }


def toml_of(settings):
    lines = []
    for key, value in settings.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def env_of(settings):
    env = {}
    for key, value in settings.items():
        name = "COFFER_" + key.upper().replace("-", "_")
        if isinstance(value, bool):
            env[name] = "1" if value else "0"
        elif isinstance(value, list):
            env[name] = ",".join(value)
        else:
            env[name] = str(value)
    return env


def printed(key, value):
    """The line `config check` prints for a setting, without its origin."""
    if key == "master-key-command":
        return f'{key} = "(set; not shown)"'
    if isinstance(value, bool):
        return f"{key} = true"
    if isinstance(value, str) and value.isdigit() and not value.startswith("0"):
        return f"{key} = {value}"  # a number in TOML, handed back as the same text
    return f"{key} = {json.dumps(value)}"


def test_every_flag_works_from_the_environment_and_from_a_file(samples, tmp_path):
    assert set(samples) | {"config"} == set(serve_flags()), "a flag without a sample value"
    for key, (value, companions) in samples.items():
        settings = {key: value, **companions}
        # From the environment.
        out = run("config", "check", env=env_of(settings), cwd=tmp_path)
        assert out.returncode == 0, (key, out.stderr)
        assert f"{printed(key, value)}  # environment" in out.stdout.splitlines(), (key, out.stdout)
        # From a file.
        config = tmp_path / f"{key}.toml"
        config.write_text(toml_of(settings))
        out = run("config", "check", "--config", str(config), cwd=tmp_path)
        assert out.returncode == 0, (key, out.stderr)
        assert f"{printed(key, value)}  # file" in out.stdout.splitlines(), (key, out.stdout)
    # Repeatable flags: several values, comma-separated in the environment, an array in a file.
    out = run("config", "check", env={"COFFER_TLS_NAME": "a.internal,10.0.0.1"}, cwd=tmp_path)
    assert 'tls-name = ["a.internal", "10.0.0.1"]  # environment' in out.stdout.splitlines(), out.stdout


def test_the_printed_configuration_reads_back(tmp_path):
    """What `config check` prints is a configuration file that gives the same settings."""
    config = tmp_path / "coffer.toml"
    config.write_text('listen = "0.0.0.0:4566"\ntls-name = ["a.internal"]\nmax-connections = 10\nhttp2-ping-interval = 0\n')
    first = run("config", "check", "--config", str(config), "--idle-timeout", "5", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = tmp_path / "again.toml"
    again.write_text(first.stdout)
    second = run("config", "check", "--config", str(again), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    strip = lambda text: [re.sub(r"  # \w+$", "", line) for line in text.splitlines()[1:]]
    assert strip(first.stdout) == strip(second.stdout)


def test_one_precedence_flag_environment_file_default(tmp_path):
    config = tmp_path / "coffer.toml"
    config.write_text('region = "eu-west-1"\n')

    def region(*args, env=None):
        out = run("config", "check", *args, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return next(line for line in out.stdout.splitlines() if line.startswith("region = "))

    env = {"COFFER_REGION": "eu-west-2"}
    assert region("--config", str(config), "--region", "eu-west-3", env=env) == 'region = "eu-west-3"  # flag'
    assert region("--config", str(config), env=env) == 'region = "eu-west-2"  # environment'
    assert region("--config", str(config)) == 'region = "eu-west-1"  # file'
    assert region() == 'region = "us-east-1"  # default'
    # The file may be named by the environment too; a switch set false in the environment wins
    # over the file's true.
    config.write_text("http = true\n")
    out = run("config", "check", env={"COFFER_CONFIG": str(config), "COFFER_HTTP": "false"}, cwd=tmp_path)
    assert out.returncode == 0 and "http = true" not in out.stdout, out.stdout
    out = run("config", "check", env={"COFFER_CONFIG": str(config)}, cwd=tmp_path)
    assert "http = true  # file" in out.stdout.splitlines(), out.stdout


@pytest.mark.parametrize("text, message", [
    ('lissen = "127.0.0.1:1"\n', "unknown key `lissen`"),
    ('data_dir = "x"\n', "unknown key `data_dir`: did you mean `data-dir`?"),
    ('config = "other.toml"\n', "unknown key `config`"),
    ('http = "yes"\n', "`http` is a switch: true or false"),
    ("metrics-listen = 4566\n", "invalid value '4566' for '--metrics-listen"),
    ('max-connections = "many"\n', "invalid value 'many' for '--max-connections"),
    ("max-connections = 0\n", "invalid value '0' for '--max-connections"),
    ('tls-name = "x"\nregion = ["a"]\n', "`region` takes one value, not an array"),
    ("[server]\nlisten = \"x:1\"\n", "unknown key `server`"),
    ("listen = \n", "not valid TOML"),
])
def test_config_check_and_serve_reject_bad_files(tmp_path, text, message):
    config = tmp_path / "coffer.toml"
    config.write_text(text)
    for command in (["config", "check"], ["serve", "--listen", "127.0.0.1:0"]):
        out = run(*command, "--config", str(config), cwd=tmp_path)
        assert out.returncode == 1, (command, out.stdout)
        assert message in out.stderr, out.stderr
        assert str(config) in out.stderr, out.stderr
        assert "coffer listening" not in out.stdout
    out = run("config", "check", "--config", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert out.returncode == 1 and "missing.toml" in out.stderr


@pytest.mark.parametrize("args, env, message", [
    (["--dev", "--tls-name", "x.internal"], {}, "--dev serves plain HTTP"),
    (["--dev"], {"COFFER_TLS_CERT": "c.pem", "COFFER_TLS_KEY": "k.pem"}, "--dev serves plain HTTP"),
    (["--http", "--tls-name", "x.internal"], {}, "--http serves plain HTTP"),
    (["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-name", "x"], {}, "--tls-name names the generated"),
    (["--dev", "--storage", "postgres://db/x"], {}, "only with --data-dir"),
    (["--dev"], {"COFFER_MASTER_KEY_FILE": "k"}, "only with --data-dir"),
    (["--region", "useast1"], {}, "not a region name"),
    ([], {"COFFER_REGION": "US-EAST-1"}, "not a region name"),
    (["--account-id", "1234"], {}, "account id must be 12 digits"),
    (["--lambda-function", "arn-without-url"], {}, "ARN=URL"),
    (["--rate-limit", "sts:Nope=1"], {}, "--rate-limit"),
])
def test_contradictions_are_errors(tmp_path, args, env, message):
    for command in (["config", "check"], ["serve", "--listen", "127.0.0.1:0"]):
        out = run(*command, *args, env=env, cwd=tmp_path)
        assert out.returncode == 1, (command, args, out.stdout)
        assert message in out.stderr, out.stderr
        assert "coffer listening" not in out.stdout


def test_settings_that_change_nothing_are_warned_about(tmp_path):
    out = run("config", "check", "--dev", "--no-rate-limits", cwd=tmp_path)
    assert out.returncode == 0
    assert "warning: --no-rate-limits and --rate-limit have no effect with --dev" in out.stderr


def test_printed_settings_hide_secrets(tmp_path):
    out = run("config", "check", env={"COFFER_STORAGE": "postgres://coffer:s3cret-pw@db:5432/coffer",
                                      "COFFER_MASTER_KEY_COMMAND": "vault read -field=key token=abc123"},
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert 'storage = "postgres://coffer:***@db:5432/coffer"  # environment' in out.stdout.splitlines()
    assert "s3cret-pw" not in out.stdout + out.stderr and "abc123" not in out.stdout + out.stderr


def test_a_new_tls_name_outside_the_ca_is_caught_by_config_check(start_server, tmp_path):
    srv = start_server([])
    srv.stop()
    out = run("config", "check", "--data-dir", srv.data_dir, "--tls-name", "api.example.com")
    assert out.returncode == 1
    assert "api.example.com is outside the names the CA" in out.stderr, out.stderr


class Started:
    """A server started with no flags but the ones a test gives: settings come from the
    environment or the file."""

    def __init__(self, args, env, cwd):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_") or k == "COFFER_BIN"}
        full_env.update(env)
        self.proc = subprocess.Popen([coffer_bin(), "serve", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=full_env, cwd=cwd)
        first = self.proc.stdout.readline()
        assert first.startswith("coffer listening on "), (first, self.proc.stderr.read())
        self.url = first.split("coffer listening on ", 1)[1].strip()
        self.lines = [first]
        self.verify = None

    def next_line(self):
        line = self.proc.stdout.readline()
        self.lines.append(line)
        return line

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def started():
    servers = []

    def start(args=(), env=None, cwd=None):
        s = Started(list(args), env or {}, cwd)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def test_a_server_configured_by_the_environment(started, tmp_path):
    srv = started(env={"COFFER_DEV": "1", "COFFER_LISTEN": "localhost:0", "COFFER_METRICS_LISTEN": "127.0.0.1:0",
                       "COFFER_ACCOUNT_ID": "210987654321"}, cwd=tmp_path)
    assert re.match(r"http://127\.0\.0\.1:\d+$", srv.url), srv.url
    metrics = srv.next_line()
    assert metrics.startswith("coffer metrics on http://127.0.0.1:"), metrics
    sts = boto_client("sts", srv, key="AKIAANYKEY", secret="any")
    assert sts.get_caller_identity()["Account"] == "210987654321"
    assert requests.get(metrics.split(" on ", 1)[1].strip(), timeout=30).status_code == 200
    # --dev wrote nothing where it ran.
    assert os.listdir(tmp_path) == []


def test_a_server_configured_by_a_file(started, tmp_path):
    config = tmp_path / "coffer.toml"
    config.write_text(f'data-dir = "{tmp_path / "data"}"\nhttp = true\nlisten = "localhost:0"\n'
                      f'account-id = "123412341234"\nmax-connections = 50\n')
    srv = started(["--config", str(config)], env={"COFFER_ROOT_ACCESS_KEY_ID": "AKIACONFIGFILETEST01",
                                                  "COFFER_ROOT_SECRET_ACCESS_KEY": "c0nfigFileTestSecretKey0123456789abcdefg"})
    assert srv.url.startswith("http://127.0.0.1:")
    sts = boto_client("sts", srv, key="AKIACONFIGFILETEST01", secret="c0nfigFileTestSecretKey0123456789abcdefg")
    assert sts.get_caller_identity()["Account"] == "123412341234"
    assert (tmp_path / "data" / "coffer.db").exists()
    # The environment overrides the file: HTTPS from the same data directory.
    srv.stop()
    again = started(["--config", str(config)], env={"COFFER_HTTP": "false"})
    assert again.url.startswith("https://127.0.0.1:"), again.url


def test_listen_accepts_host_names(started, tmp_path):
    srv = started(["--dev", "--listen", "localhost:0"], cwd=tmp_path)
    assert srv.url.startswith("http://127.0.0.1:")
    assert requests.get(srv.url + "/healthz", timeout=30).json() == {"status": "ok"}
    out = run("serve", "--dev", "--listen", "no-such-host.invalid:0", cwd=tmp_path)
    assert out.returncode == 1 and "resolving no-such-host.invalid:0" in out.stderr, out.stderr
