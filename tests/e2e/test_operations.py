"""Issue 13: the operator endpoints of the real binary — health and readiness without
authentication (Coffer's own, LocalStack's and Vault's), Prometheus metrics on --metrics-listen,
and the --dev reset and persistence that test suites use."""
import concurrent.futures
import json
import os
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import tempfile

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REPO, ROOT_ENV, ROOT_KEY, ROOT_SECRET, Server, boto_client, coffer_bin, wait_until

SECRET_VALUE = "hunter2-never-in-metrics"


def get(srv, path, method="GET", **kwargs):
    return requests.request(method, srv.url + path, verify=srv.verify, timeout=30, **kwargs)


def metrics_url(srv):
    wait_until(lambda: any(line.startswith("coffer metrics on ") for line in srv.stdout_lines),
               "the metrics address is printed")
    line = next(line for line in srv.stdout_lines if line.startswith("coffer metrics on "))
    return line.split("coffer metrics on ", 1)[1].strip()


def scrape(srv):
    """The metrics as {`name{labels}`: value}, and the text itself."""
    resp = requests.get(metrics_url(srv), timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    text = resp.text
    assert text.endswith("# EOF\n")
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        samples[series] = float(value)
    return samples, text


def delta(before, after, series):
    return after.get(series, 0.0) - before.get(series, 0.0)


# --- health and readiness ------------------------------------------------------------------------

def test_probes_answer_without_credentials_and_reveal_nothing(server):
    """Over HTTPS, unsigned: Coffer's probes, LocalStack's and Vault's shapes; the verdicts only."""
    live = get(server, "/healthz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = get(server, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"storage": "ok", "keys": "ok", "shutdown": "no"}}
    assert ready.headers["Cache-Control"] == "no-store"
    localstack = get(server, "/_localstack/health")
    assert localstack.status_code == 200
    assert localstack.json()["services"] == {"iam": "running", "secretsmanager": "running", "sts": "running"}
    assert set(localstack.json()) == {"services", "edition", "version"}
    vault = get(server, "/v1/sys/health").json()
    assert (vault["initialized"], vault["sealed"], vault["standby"]) == (True, False, False)
    assert isinstance(vault["server_time_utc"], int)
    # Vault's status-code parameters.
    assert get(server, "/v1/sys/health?activecode=204&standbyok=true").status_code == 204
    assert get(server, "/v1/sys/health?activecode=twohundred").status_code == 400
    # HEAD: the status alone.
    head = get(server, "/readyz", method="HEAD")
    assert (head.status_code, head.content) == (200, b"")
    for path in ("/healthz", "/readyz", "/_localstack/health", "/v1/sys/health"):
        text = get(server, path).text
        for secret in (ROOT_KEY, ROOT_SECRET, ACCOUNT, server.data_dir, "127.0.0.1"):
            assert secret not in text, (path, text)


def test_probe_paths_answer_nothing_else(server):
    # Other methods, even signed ones, are refused without reaching the AWS pipeline.
    for path in ("/healthz", "/readyz", "/_localstack/health", "/v1/sys/health"):
        resp = get(server, path, method="POST", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == 405, path
        assert resp.headers["Allow"] == "GET, HEAD"
        assert resp.json() == {"error": "method not allowed"}
    # The reset does not exist outside --dev.
    assert get(server, "/_coffer/reset", method="POST").status_code == 404
    # Near misses are AWS requests as before: unsigned, so refused.
    for path in ("/healthz/", "/readyz/x", "/metrics", "/_localstack", "/v1/sys/health/x"):
        resp = get(server, path)
        assert resp.status_code in (400, 403), (path, resp.status_code)
        assert "MissingAuthenticationToken" in resp.text or "MissingAction" in resp.text, (path, resp.text)


def test_readyz_fails_while_postgres_is_down_and_recovers(postgres, start_server):
    srv = start_server(["--http", "--account-id", ACCOUNT, "--storage", postgres.new_database(),
                        "--metrics-listen", "127.0.0.1:0"], env=ROOT_ENV)
    assert get(srv, "/readyz").status_code == 200
    before, _ = scrape(srv)
    postgres._shutdown()
    try:
        wait_until(lambda: get(srv, "/readyz").status_code == 503, "/readyz fails")
        body = get(srv, "/readyz").json()
        assert body == {"status": "not ready", "checks": {"storage": "failing", "keys": "ok", "shutdown": "no"}}
        assert get(srv, "/_localstack/health").status_code == 503
        vault = get(srv, "/v1/sys/health")
        assert (vault.status_code, vault.json()["sealed"]) == (503, True)
        # Alive all the same, and the storage errors are counted.
        assert get(srv, "/healthz").status_code == 200
        after, _ = scrape(srv)
        failed = sum(v for k, v in after.items() if k.startswith("coffer_storage_errors_total{"))
        assert failed > sum(v for k, v in before.items() if k.startswith("coffer_storage_errors_total{"))
    finally:
        postgres.start()
    wait_until(lambda: get(srv, "/readyz").status_code == 200, "/readyz recovers")
    assert boto_client("sts", srv).get_caller_identity()["Account"] == ACCOUNT


# --- metrics ----------------------------------------------------------------------------------------

def test_metrics_move_under_a_scripted_session(start_server):
    srv = start_server(["--account-id", ACCOUNT, "--metrics-listen", "127.0.0.1:0"], env=ROOT_ENV)
    before, _ = scrape(srv)
    sm = boto_client("secretsmanager", srv)
    iam = boto_client("iam", srv)
    arn = sm.create_secret(Name="metrics/db", SecretString=SECRET_VALUE)["ARN"]
    assert sm.get_secret_value(SecretId="metrics/db")["SecretString"] == SECRET_VALUE
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = boto_client("secretsmanager", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as denied:
        reader.get_secret_value(SecretId=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    unsigned = get(srv, "/", method="POST", data=b'{"SecretId": "metrics/db"}',
                   headers={"Content-Type": "application/x-amz-json-1.1",
                            "X-Amz-Target": "secretsmanager.GetSecretValue"})
    unsigned_code = unsigned.headers["x-amzn-ErrorType"]
    forged = boto_client("secretsmanager", srv, secret="not-the-secret-key-at-all-0000000000000")
    with pytest.raises(ClientError) as bad_signature:
        forged.describe_secret(SecretId="metrics/db")
    bad_code = bad_signature.value.response["Error"]["Code"]
    sm.rotate_secret(SecretId="metrics/db", RotationLambdaARN=
                     f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:coffer-builtin-password-rotation")
    sm.delete_secret(SecretId="metrics/db", ForceDeleteWithoutRecovery=True)
    after, text = scrape(srv)

    def requests_of(operation, status, code=""):
        return delta(before, after, f'coffer_requests_total{{service="secretsmanager",operation="{operation}",'
                                    f'status="{status}",error_code="{code}"}}')

    assert requests_of("CreateSecret", 200) == 1
    assert requests_of("GetSecretValue", 200) == 1
    assert requests_of("GetSecretValue", 400, "AccessDeniedException") == 1
    assert requests_of("GetSecretValue", unsigned.status_code, unsigned_code) == 1
    assert requests_of("DescribeSecret", 400, bad_code) == 1
    assert requests_of("DeleteSecret", 200) == 1
    assert delta(before, after, 'coffer_request_duration_seconds_count{service="secretsmanager",'
                                'operation="GetSecretValue"}') == 3
    assert delta(before, after, 'coffer_requests_total{service="iam",operation="CreateUser",status="200",'
                                'error_code=""}') == 1
    assert delta(before, after, 'coffer_authorization_denials_total{reason="no_allow_identity_policy"}') == 1
    assert delta(before, after, f'coffer_authentication_failures_total{{code="{unsigned_code}"}}') == 1
    assert delta(before, after, f'coffer_authentication_failures_total{{code="{bad_code}"}}') == 1
    assert delta(before, after, 'coffer_rotations_total{trigger="request",outcome="succeeded"}') == 1
    assert delta(before, after, 'coffer_storage_transaction_duration_seconds_count{kind="write"}') >= 4
    assert delta(before, after, 'coffer_storage_transaction_duration_seconds_count{kind="read"}') >= 1
    lookups = sum(delta(before, after, f'coffer_cache_lookups_total{{cache="{cache}",result="{result}"}}')
                  for cache in ("records", "decoded") for result in ("hit", "miss"))
    assert lookups > 0
    import time
    assert after["coffer_tls_certificate_expiry_timestamp_seconds"] > time.time() + 300 * 86400
    # Nothing sensitive: no value, key, name, principal or address.
    for secret in (SECRET_VALUE, ROOT_SECRET, ROOT_KEY, key["AccessKeyId"], key["SecretAccessKey"],
                   "metrics/db", "reader", ACCOUNT):
        assert secret not in text, secret


def test_audit_writes_are_timed_and_failures_counted(start_server, tmp_path):
    """`coffer_audit_write_duration_seconds` times every record appended, written or not;
    `coffer_audit_write_failures_total` counts those that could not be written (here the trail's
    path is made a directory, which stops root as well as anyone)."""
    trail = tmp_path / "audit.log"
    srv = start_server(["--dev", "--audit-log", str(trail), "--metrics-listen", "127.0.0.1:0"])
    sts = boto_client("sts", srv, key="AKIADEVEXAMPLE", secret="any")
    before, _ = scrape(srv)
    for _ in range(3):
        sts.get_caller_identity()
    written, _ = scrape(srv)
    assert delta(before, written, "coffer_audit_write_duration_seconds_count") == 3
    assert delta(before, written, "coffer_audit_write_failures_total") == 0
    assert written["coffer_audit_write_duration_seconds_sum"] > before.get("coffer_audit_write_duration_seconds_sum", 0)
    # Every write lands in some bucket: the +Inf bucket counts them all.
    assert written['coffer_audit_write_duration_seconds_bucket{le="+Inf"}'] == \
        written["coffer_audit_write_duration_seconds_count"]

    aside = tmp_path / "aside.log"
    trail.rename(aside)
    trail.mkdir()
    # --dev does not require the trail: answered all the same, and counted as a failure.
    sts.get_caller_identity()
    failed, _ = scrape(srv)
    assert delta(written, failed, "coffer_audit_write_failures_total") == 1
    assert delta(written, failed, "coffer_audit_write_duration_seconds_count") == 1
    assert any("audit=failed" in line for line in srv.stderr_lines)

    trail.rmdir()
    aside.rename(trail)
    sts.get_caller_identity()
    recovered, _ = scrape(srv)
    assert delta(failed, recovered, "coffer_audit_write_failures_total") == 0
    assert delta(failed, recovered, "coffer_audit_write_duration_seconds_count") == 1


def test_without_a_trail_no_audit_write_is_counted(start_server):
    srv = start_server(["--dev", "--metrics-listen", "127.0.0.1:0"])
    boto_client("sts", srv, key="AKIADEVEXAMPLE", secret="any").get_caller_identity()
    samples, _ = scrape(srv)
    assert samples["coffer_audit_write_duration_seconds_count"] == 0
    assert samples["coffer_audit_write_failures_total"] == 0


def test_open_connections_are_counted(start_server):
    srv = start_server(["--dev", "--metrics-listen", "127.0.0.1:0"])
    gauge = lambda: scrape(srv)[0]["coffer_open_connections"]
    assert gauge() == 0
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(3)]
    wait_until(lambda: gauge() == 3, "three connections are counted")
    for sock in held:
        sock.close()
    wait_until(lambda: gauge() == 0, "closed connections are no longer counted")


def test_the_metrics_listener_serves_metrics_only(start_server):
    srv = start_server(["--dev", "--metrics-listen", "127.0.0.1:0"])
    url = metrics_url(srv)
    base = url.rsplit("/metrics", 1)[0]
    assert requests.get(base + "/", timeout=30).status_code == 404
    assert requests.get(base + "/healthz", timeout=30).status_code == 404
    assert requests.post(url, timeout=30).status_code == 405
    head = requests.head(url, timeout=30)
    assert (head.status_code, head.content) == (200, b"")
    # The main port does not serve them: there `/metrics` is an AWS request like any other.
    main = get(srv, "/metrics")
    assert main.status_code == 400 and "coffer_requests_total" not in main.text


def test_metrics_listen_must_differ_and_resolve():
    # Refused before anything is bound.
    for flags, message in ((["--metrics-listen", "127.0.0.1:4599", "--listen", "127.0.0.1:4599"], "must differ"),
                           (["--listen", "127.0.0.1:0", "--metrics-listen", "no-such-host.invalid:1"],
                            "no-such-host.invalid"),
                           (["--listen", "127.0.0.1:0", "--metrics-listen", "9100"], "HOST:PORT")):
        out = subprocess.run([coffer_bin(), "serve", "--dev", *flags], capture_output=True, text=True, timeout=60)
        assert out.returncode != 0, flags
        assert message in out.stderr, out.stderr
        assert "coffer listening" not in out.stdout


# --- reset and dev-mode persistence -------------------------------------------------------------

def test_reset_empties_a_dev_server(start_server):
    srv = start_server(["--dev"])
    sm = boto_client("secretsmanager", srv, key="AKIADEVEXAMPLE", secret="any")
    iam = boto_client("iam", srv, key="AKIADEVEXAMPLE", secret="any")
    sm.create_secret(Name="app/db", SecretString="v1")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = boto_client("sts", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert alice.get_caller_identity()["Arn"].endswith(":user/alice")
    assert get(srv, "/_coffer/reset").status_code == 405
    reset = get(srv, "/_coffer/reset", method="POST")
    assert reset.status_code == 200
    body = reset.json()
    assert body["status"] == "ok" and body["recordsRemoved"] >= 3
    assert isinstance(body["durationMicroseconds"], int)
    assert sm.list_secrets()["SecretList"] == []
    assert iam.list_users()["Users"] == []
    # Alice's key is gone with her: it now answers as any unknown key does, the account's root.
    assert alice.get_caller_identity()["Arn"].endswith(":root")
    # The same process serves on, and the names are free again.
    sm.create_secret(Name="app/db", SecretString="v2")
    assert sm.get_secret_value(SecretId="app/db")["SecretString"] == "v2"
    assert get(srv, "/_coffer/reset", method="POST").json()["recordsRemoved"] >= 1


def test_a_reset_with_ten_thousand_secrets_stored(start_server):
    """The reset swaps the tables for empty ones: its cost does not grow with what is stored. The
    server reports how long the reset took (printed here; README and the report give the figure),
    which no test asserts as a wall-clock bound."""
    srv = start_server(["--dev"])
    body = b'{"Name": "s%d", "SecretString": "value", "ClientRequestToken": "00000000-0000-0000-0000-%012d"}'

    def create(chunk):
        with requests.Session() as session:
            for i in chunk:
                r = session.post(srv.url + "/", data=body % (i, i), timeout=60, headers={
                    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.CreateSecret",
                    "X-Amz-Date": "20260101T000000Z",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIADEV/20260101/us-east-1/secretsmanager/"
                                     "aws4_request, SignedHeaders=host, Signature=" + "0" * 64})
                assert r.status_code == 200, r.text

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(create, [range(i, 10_000, 4) for i in range(4)]))
    sm = boto_client("secretsmanager", srv, key="AKIADEV", secret="any")
    page = sm.list_secrets(MaxResults=100)
    assert len(page["SecretList"]) == 100 and "NextToken" in page
    reset = get(srv, "/_coffer/reset", method="POST").json()
    print(f"\nreset of {reset['recordsRemoved']} records (10,000 secrets): {reset['durationMicroseconds']} µs")
    assert reset["recordsRemoved"] >= 10_000
    assert sm.list_secrets()["SecretList"] == []
    sm.create_secret(Name="s1", SecretString="after the reset")


def test_dev_data_dir_keeps_state_across_restarts(start_server, tmp_path):
    data = str(tmp_path / "dev-state")
    first = start_server(["--dev"], data_dir=data)
    assert first.url.startswith("http://")
    wait_until(lambda: any(f"dev-mode state kept in {data}" in line for line in first.stdout_lines),
               "the data directory is named")
    sm = boto_client("secretsmanager", first, key="AKIAANYTHING", secret="any")
    sm.create_secret(Name="kept", SecretString="across restarts")
    assert first.stop() == 0
    again = start_server(["--dev"], data_dir=data)
    # Still dev mode: any credentials, plain HTTP.
    sm = boto_client("secretsmanager", again, key="AKIASOMETHINGELSE", secret="whatever")
    assert sm.get_secret_value(SecretId="kept")["SecretString"] == "across restarts"
    assert get(again, "/_coffer/reset", method="POST").json()["recordsRemoved"] >= 1
    assert again.stop() == 0
    third = start_server(["--dev"], data_dir=data)
    assert boto_client("secretsmanager", third, key="AKIAX", secret="y").list_secrets()["SecretList"] == []
    # Sealed on disk like any data directory, under its own master key.
    assert os.path.exists(os.path.join(data, "coffer.db")) and os.path.exists(os.path.join(data, "master.key"))
    # Without --data-dir nothing is written anywhere.
    fresh = start_server(["--dev"])
    assert os.listdir(fresh.data_dir) == []


def test_a_reset_is_one_audit_record_and_the_trail_goes_on(start_server, tmp_path):
    """`--dev --data-dir` with a trail in that directory: a reset empties the store, not the trail;
    it is itself one record (eventSource `coffer`, eventName `ResetState`) in the same chain, which
    goes on across a restart and verifies whole."""
    data = str(tmp_path / "dev-state")
    trail = os.path.join(data, "audit.log")
    args = ["--dev", "--audit-log", trail]
    first = start_server(args, data_dir=data)
    sm = boto_client("secretsmanager", first, key="AKIADEVEXAMPLE", secret="any")
    sm.create_secret(Name="before-reset", SecretString="v1")
    size_before = os.path.getsize(trail)
    reset = get(first, "/_coffer/reset", method="POST")
    assert reset.status_code == 200 and reset.json()["recordsRemoved"] >= 1
    reset_id = reset.headers["x-amzn-RequestId"]
    assert os.path.getsize(trail) > size_before
    assert sm.list_secrets()["SecretList"] == []
    sm.create_secret(Name="after-reset", SecretString="v2")
    assert first.stop() == 0
    log_line = next(line for line in first.stderr_lines if f"request_id={reset_id}" in line)
    assert "operation=coffer:ResetState" in log_line and "status=200" in log_line and "audit=ok" in log_line

    again = start_server(args, data_dir=data)
    second_reset = get(again, "/_coffer/reset", method="POST")
    assert second_reset.status_code == 200
    boto_client("secretsmanager", again, key="AKIADEVEXAMPLE", secret="any").list_secrets()
    assert again.stop() == 0

    with open(trail) as f:
        written = [json.loads(line) for line in f]
    assert [(r["eventSource"], r["eventName"]) for r in written] == [
        ("secretsmanager.amazonaws.com", "CreateSecret"),
        ("coffer", "ResetState"),
        ("secretsmanager.amazonaws.com", "ListSecrets"),
        ("secretsmanager.amazonaws.com", "CreateSecret"),
        ("coffer", "ResetState"),
        ("secretsmanager.amazonaws.com", "ListSecrets"),
    ]
    record = written[1]
    assert record["requestID"] == reset_id
    assert record["readOnly"] is False and "errorCode" not in record
    assert record["responseElements"] == {"recordsRemoved": reset.json()["recordsRemoved"]}
    assert record["userIdentity"]["type"] == "Unknown"
    assert written[4]["requestID"] == second_reset.headers["x-amzn-RequestId"]
    verified = subprocess.run([coffer_bin(), "admin", "verify-audit", "--dev", trail],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified 6 records" in verified.stdout, verified.stdout


def test_a_reset_is_refused_while_a_required_trail_cannot_be_written(start_server, tmp_path):
    trail = tmp_path / "audit.log"
    srv = start_server(["--dev", "--audit-log", str(trail), "--audit-required"])
    sm = boto_client("secretsmanager", srv, key="AKIADEVEXAMPLE", secret="any")
    sm.create_secret(Name="kept", SecretString="v1")
    aside = tmp_path / "aside.log"
    trail.rename(aside)
    trail.mkdir()
    with pytest.raises(ClientError) as failed:
        sm.list_secrets()
    assert failed.value.response["Error"]["Code"] == "ServiceUnavailable"
    reset = get(srv, "/_coffer/reset", method="POST")
    assert reset.status_code == 503
    assert reset.json() == {"status": "failed",
                            "error": "the audit trail cannot be written; see the server's log"}
    trail.rmdir()
    aside.rename(trail)
    # Nothing was emptied while it could not be recorded.
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["kept"]
    assert get(srv, "/_coffer/reset", method="POST").status_code == 200
    assert sm.list_secrets()["SecretList"] == []


# --- start-up lines -------------------------------------------------------------------------------

def startup_lines(srv):
    """The start-up log lines as {setting: value}."""
    lines = {}
    for line in srv.stderr_lines:
        if " coffer::startup: " in line:
            setting, value = line.split(" coffer::startup: ", 1)[1].rstrip("\n").split(": ", 1)
            lines[setting] = value
    return lines


def test_startup_lines_say_what_is_configured_and_nothing_secret(postgres, start_server):
    import base64
    key = bytes(range(7, 39))
    key_b64 = base64.b64encode(key).decode()
    password = "Planted-Pg-Passw0rd-6d1e"
    database = postgres.new_database()
    with_password = database.replace("postgres://coffer@", f"postgres://coffer:{password}@")
    srv = start_server(["--account-id", ACCOUNT, "--storage", with_password, "--tls-name", "coffer.test",
                        "--metrics-listen", "127.0.0.1:0"],
                       env={**ROOT_ENV, "COFFER_MASTER_KEY": key_b64})
    metrics = metrics_url(srv)
    assert boto_client("sts", srv).get_caller_identity()["Account"] == ACCOUNT
    assert srv.stop() == 0
    lines = startup_lines(srv)
    assert lines["listen"] == srv.url
    assert lines["storage"] == "PostgreSQL " + database.replace("postgres://coffer@", "postgres://coffer:***@")
    assert lines["master key"] == "environment variable COFFER_MASTER_KEY"
    tls_dir = os.path.join(srv.data_dir, "tls")
    assert lines["TLS"] == (f"generated certificate {tls_dir}/server.pem for localhost, 127.0.0.1, ::1, "
                            f"coffer.test, signed by the CA {tls_dir}/ca.pem")
    assert lines["audit trail"] == (f"{srv.data_dir}/audit.log (required: a request whose record cannot be "
                                    "written fails with 503)")
    assert lines["metrics"] == metrics
    output = "".join(srv.stdout_lines + srv.stderr_lines)
    for secret in (password, key_b64, key.hex(), base64.urlsafe_b64encode(key).decode(), ROOT_SECRET):
        assert secret not in output, secret

    # A key from a command (whose line holds the key itself), supplied certificate files, no trail.
    command_key = base64.b64encode(bytes(range(100, 132))).decode()
    data = tempfile.mkdtemp(prefix="coffer-startup-")
    files = start_server(["--account-id", ACCOUNT, "--master-key-command", f"echo {command_key}",
                          "--tls-cert", os.path.join(tls_dir, "server.pem"),
                          "--tls-key", os.path.join(tls_dir, "server-key.pem"), "--no-audit-log"],
                         env=ROOT_ENV, data_dir=data)
    assert files.stop() == 0
    lines = startup_lines(files)
    assert lines["storage"] == f"SQLite database {data}/coffer.db"
    assert lines["master key"] == "output of --master-key-command (command not shown)"
    assert lines["TLS"] == (f"certificate {tls_dir}/server.pem for localhost, 127.0.0.1, ::1, coffer.test, "
                            f"key {tls_dir}/server-key.pem (reloaded on SIGHUP and when they change)")
    assert lines["audit trail"] == "none (--no-audit-log)"
    assert lines["metrics"] == "off (no --metrics-listen)"
    output = "".join(files.stdout_lines + files.stderr_lines)
    for secret in (command_key, ROOT_SECRET):
        assert secret not in output, secret


def test_dev_startup_lines(start_server, tmp_path):
    srv = start_server(["--dev"])
    assert srv.stop() == 0
    assert startup_lines(srv) == {
        "listen": srv.url,
        "storage": "in memory (--dev: nothing is kept after the process ends)",
        "master key": "generated in memory for this process (--dev)",
        "TLS": "none: plain HTTP (--dev)",
        "audit trail": "none (--dev without --audit-log)",
        "metrics": "off (no --metrics-listen)",
    }
    data = str(tmp_path / "dev-state")
    kept = start_server(["--dev", "--audit-log", "-"], data_dir=data)
    assert kept.stop() == 0
    lines = startup_lines(kept)
    assert lines["storage"] == f"SQLite database {data}/coffer.db"
    assert lines["master key"] == f"file {data}/master.key (created on the first start)"
    assert lines["audit trail"] == "standard output (not required)"


def test_a_failed_postgres_connection_does_not_show_its_password(tmp_path):
    password = "Planted-Pg-Passw0rd-0a9b"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on `port` once the socket is closed.
    out = subprocess.run([coffer_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
                          "--storage", f"postgres://coffer:{password}@127.0.0.1:{port}/coffer"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, **ROOT_ENV})
    assert out.returncode != 0
    assert "coffer listening" not in out.stdout
    assert password not in out.stdout + out.stderr


def readme_block(marker):
    """The fenced block of README.md that follows the line containing `marker`."""
    text = (REPO / "README.md").read_text()
    after = text.split(marker, 1)[1]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


SUITE = '''
def test_first(secretsmanager):
    assert secretsmanager.list_secrets()["SecretList"] == []
    secretsmanager.create_secret(Name="shared/name", SecretString="one")


def test_second(secretsmanager):
    assert secretsmanager.list_secrets()["SecretList"] == []
    secretsmanager.create_secret(Name="shared/name", SecretString="two")
'''


@pytest.mark.parametrize("with_reset", [True, False])
def test_the_readme_fixture_isolates_the_tests_of_a_pytest_suite(tmp_path, with_reset):
    """README's pytest recipe, as a project's conftest.py: two tests that create the same secret
    on one long-running server pass with the reset between them, and fail without it."""
    conftest = readme_block("readme-test: skip (a conftest.py for your project")
    if not with_reset:
        conftest, n = re.subn(r"@pytest\.fixture\(autouse=True\)\n", "@pytest.fixture\n", conftest)
        assert n == 1
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_suite.py").write_text(SUITE)
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(coffer_bin()), os.environ["PATH"]]))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    if with_reset:
        assert out.returncode == 0, out.stdout + out.stderr
        assert "2 passed" in out.stdout
    else:
        assert out.returncode == 1, out.stdout + out.stderr
        assert "1 failed, 1 passed" in out.stdout
