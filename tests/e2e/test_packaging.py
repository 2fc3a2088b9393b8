"""Issue 13: packaging/ (Dockerfile, systemd unit, example settings) and README's configuration
and CI recipes cannot run here (no Docker engine, no systemd), so this checks that they name
flags, variables and paths that exist, and runs the binary as each of them would."""
import configparser
import json
import os
import re
import shlex
import signal
import subprocess

import pytest
import requests
import yaml

from conftest import REPO, Server, coffer_bin, wait_until

PACKAGING = REPO / "packaging"


def help_flags(*command):
    """The long flags and COFFER_* variables `coffer COMMAND --help` lists."""
    out = subprocess.run([coffer_bin(), *command, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(re.findall(r"--([a-z0-9-]+)", out.stdout)), set(re.findall(r"\[env: (COFFER_[A-Z0-9_]+)\]", out.stdout))


def flags_of(argv):
    return [a[2:].split("=", 1)[0] for a in argv if a.startswith("--")]


# --- Dockerfile ---------------------------------------------------------------------------------

def dockerfile():
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = (PACKAGING / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def exec_form(text):
    assert text.startswith("["), f"exec form expected: {text}"
    return json.loads(text)


def docker_parts():
    instructions = dockerfile()
    env = {}
    for keyword, rest in instructions:
        if keyword == "ENV":
            for assignment in shlex.split(rest):
                name, _, value = assignment.partition("=")
                env[name] = value
    one = lambda k: [rest for keyword, rest in instructions if keyword == k]
    healthcheck = one("HEALTHCHECK")[0]
    health_cmd = exec_form(healthcheck.split(" CMD ", 1)[1])
    return instructions, env, one, health_cmd


def test_the_dockerfile_names_flags_variables_and_paths_that_exist():
    instructions, env, one, health_cmd = docker_parts()
    froms = one("FROM")
    assert len(froms) >= 2, "a multi-stage build"
    assert froms[0].endswith(" AS build")
    rust = re.match(r"rust:(\d+)\.(\d+)", froms[0])
    assert rust and (int(rust.group(1)), int(rust.group(2))) >= (1, 94), froms[0]
    builds = " ".join(one("RUN"))
    assert "cargo build --release --locked -p coffer" in builds
    assert (REPO / "crates" / "coffer" / "Cargo.toml").exists() and (REPO / "Cargo.lock").exists()
    # The runtime stage runs as a non-root user.
    user = one("USER")[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit(), user
    # State in the /data volume, which the data directory names.
    assert exec_form(one("VOLUME")[0]) == ["/data"]
    assert env["COFFER_DATA_DIR"] == "/data"
    _, serve_env = help_flags("serve")
    assert set(env) <= serve_env, set(env) - serve_env
    assert "4566" in env["COFFER_LISTEN"] and one("EXPOSE") == ["4566"]
    # The command: `coffer serve` with flags it has.
    entrypoint, cmd = exec_form(one("ENTRYPOINT")[0]), exec_form(one("CMD")[0])
    argv = entrypoint + cmd
    assert argv[0] == "/usr/local/bin/coffer" and argv[1] == "serve"
    serve_flags, _ = help_flags("serve")
    assert set(flags_of(argv[2:])) <= serve_flags
    copied = [rest for keyword, rest in instructions if keyword == "COPY" and "/usr/local/bin/coffer" in rest]
    assert copied, "the binary is copied where the entrypoint runs it"
    # The health check asks /readyz with `coffer probe` flags that exist.
    assert health_cmd[:2] == ["/usr/local/bin/coffer", "probe"]
    probe_flags, _ = help_flags("probe")
    assert set(flags_of(health_cmd[2:])) <= probe_flags
    assert health_cmd[-1].endswith("/readyz")
    assert "--ca" in health_cmd and health_cmd[health_cmd.index("--ca") + 1] == "/data/tls/ca.pem"


def test_the_image_command_and_its_health_check_run(tmp_path):
    """The image's CMD with its environment (the /data volume a temporary directory, a free port),
    then its HEALTHCHECK command against it."""
    _, env, one, health_cmd = docker_parts()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_") or k == "COFFER_BIN"}
    run_env.update(env)
    run_env["COFFER_DATA_DIR"] = str(data)
    run_env["COFFER_LISTEN"] = "127.0.0.1:0"
    cmd = exec_form(one("CMD")[0])
    proc = subprocess.Popen([coffer_bin(), *cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=run_env)
    try:
        first = proc.stdout.readline()
        assert first.startswith("coffer listening on https://127.0.0.1:"), first
        port = first.rsplit(":", 1)[1].strip()
        assert (data / "coffer.db").exists() and (data / "tls" / "ca.pem").exists()
        probe = [coffer_bin()] + [a.replace("/data/", f"{data}/") for a in health_cmd[1:]]
        probe[-1] = probe[-1].replace(":4566/", f":{port}/")
        out = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert '"status":"ready"' in out.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Against a server that is gone, the health check fails.
    out = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1


def test_probe_fails_on_an_unhealthy_answer_and_needs_a_ca_for_https(start_server, tmp_path):
    srv = start_server(["--dev"])
    ok = subprocess.run([coffer_bin(), "probe", srv.url + "/readyz"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("HTTP/1.1 200 OK")
    not_found = subprocess.run([coffer_bin(), "probe", srv.url + "/_coffer/nothing"], capture_output=True,
                               text=True, timeout=60)
    assert not_found.returncode == 1
    https = subprocess.run([coffer_bin(), "probe", "https://127.0.0.1:1/readyz"], capture_output=True,
                           text=True, timeout=60)
    assert https.returncode == 1 and "needs --ca FILE" in https.stderr


# --- systemd unit -------------------------------------------------------------------------------

def unit():
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string((PACKAGING / "coffer.service").read_text())
    return parser


def test_the_systemd_unit_is_sandboxed_and_names_what_exists():
    service = unit()["Service"]
    for key, value in (("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("StateDirectory", "coffer"),
                       ("ConfigurationDirectory", "coffer"), ("PrivateTmp", "yes"), ("ProtectHome", "yes")):
        assert service.get(key) == value, key
    argv = shlex.split(service["ExecStart"])
    assert argv[:2] == ["/usr/local/bin/coffer", "serve"]
    serve_flags, _ = help_flags("serve")
    assert set(flags_of(argv[2:])) <= serve_flags
    # The data directory is the state directory; the settings file is in the configuration one.
    assert argv[argv.index("--data-dir") + 1] == "/var/lib/" + service["StateDirectory"]
    assert argv[argv.index("--config") + 1] == f"/etc/{service['ConfigurationDirectory']}/coffer.toml"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_units_command_runs_against_a_temporary_directory(tmp_path):
    """ExecStart as written, with the installed paths mapped to this checkout and a temporary
    state directory, and --listen/--metrics-listen on free ports (flags override the file)."""
    argv = shlex.split(unit()["Service"]["ExecStart"])
    state = tmp_path / "var-lib-coffer"
    mapping = {"/usr/local/bin/coffer": coffer_bin(), "/etc/coffer/coffer.toml": str(PACKAGING / "coffer.toml"),
               "/var/lib/coffer": str(state)}
    argv = [mapping.get(a, a) for a in argv] + ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_") or k == "COFFER_BIN"}
    check = subprocess.run([argv[0], "config", "check", *argv[2:]], capture_output=True, text=True, env=env,
                           timeout=60)
    assert check.returncode == 0, check.stderr
    assert f'data-dir = "{state}"  # flag' in check.stdout
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        first = proc.stdout.readline()
        assert first.startswith("coffer listening on https://127.0.0.1:"), (first, proc.stderr.readline())
        metrics = proc.stdout.readline()
        assert metrics.startswith("coffer metrics on http://127.0.0.1:"), metrics
        url = first.split(" on ", 1)[1].strip()
        ready = requests.get(url + "/readyz", verify=str(state / "tls" / "ca.pem"), timeout=30)
        assert ready.status_code == 200
        assert oct(state.stat().st_mode & 0o777) == "0o700"
        # ExecReload: SIGHUP reloads, the server stays.
        proc.send_signal(signal.SIGHUP)
        for line in proc.stderr:
            lines.append(line)
            if 'reason="SIGHUP"' in line:
                break
        assert proc.poll() is None
        assert requests.get(url + "/healthz", verify=str(state / "tls" / "ca.pem"), timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=40)
    assert proc.returncode == 0


def test_the_example_settings_pass_config_check(tmp_path):
    out = subprocess.run([coffer_bin(), "config", "check", "--config", str(PACKAGING / "coffer.toml")],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert 'listen = "0.0.0.0:4566"  # file' in out.stdout


# --- README's configuration and CI recipes ------------------------------------------------------

def readme_blocks(lang):
    text = (REPO / "README.md").read_text()
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, re.S | re.M)


def test_the_readme_configuration_files_pass_config_check(tmp_path):
    blocks = readme_blocks("toml")
    assert blocks
    for i, block in enumerate(blocks):
        config = tmp_path / f"readme-{i}.toml"
        config.write_text(block)
        out = subprocess.run([coffer_bin(), "config", "check", "--config", str(config)], capture_output=True,
                             text=True, timeout=60, cwd=tmp_path)
        assert out.returncode == 0, (block, out.stderr)


def test_the_readme_ci_recipe_names_what_exists():
    blocks = readme_blocks("yaml")
    assert blocks
    serve_flags, _ = help_flags("serve")
    for block in blocks:
        steps = yaml.safe_load(block)["steps"]
        commands = "\n".join(step.get("run", "") for step in steps)
        for line in commands.splitlines():
            words = shlex.split(line.split("&", 1)[0].split(">", 1)[0]) if line.strip() else []
            if words[:2] == ["coffer", "serve"]:
                assert set(flags_of(words[2:])) <= serve_flags, line
                assert "--dev" in words
            if words[:2] == ["cargo", "install"]:
                path = words[words.index("--path") + 1]
                assert (REPO / path / "Cargo.toml").exists(), path
        assert "/readyz" in commands
