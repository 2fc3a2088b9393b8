"""Issue 3 through the real binary: state survives restarts, backup/restore and master-key rotation
round-trip through `coffer admin`, a wrong master key is refused."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import ACCOUNT, ROOT_ENV, ROOT_KEY, ROOT_SECRET, boto_client, coffer_bin


def admin(*args, env=None):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([coffer_bin(), "admin", *args], capture_output=True, text=True, timeout=120, env=full)


def test_backup_restore_and_rotation(start_server):
    first = start_server(["--account-id", ACCOUNT, "--http"], env=ROOT_ENV)
    assert boto_client("sts", first).get_caller_identity()["Account"] == ACCOUNT
    first.stop()
    src = first.data_dir
    work = tempfile.mkdtemp(prefix="coffer-backup-")
    try:
        backup = os.path.join(work, "state.backup")
        out = admin("backup", backup, "--data-dir", src)
        assert out.returncode == 0, out.stderr
        assert "backed up" in out.stdout
        assert ROOT_SECRET.encode() not in open(backup, "rb").read()

        # Restore into an empty data directory, opened with the backup's master key.
        key_copy = os.path.join(work, "master.key")
        shutil.copy(os.path.join(src, "master.key"), key_copy)
        restored = os.path.join(work, "restored")
        out = admin("restore", backup, "--data-dir", restored, "--master-key-file", key_copy)
        assert out.returncode == 0, out.stderr
        # Restoring twice is refused: the target is no longer empty.
        again = admin("restore", backup, "--data-dir", restored, "--master-key-file", key_copy)
        assert again.returncode != 0
        srv = start_server(["--http", "--master-key-file", key_copy], data_dir=restored)
        # No credentials file in the restored directory: the stored root key still authenticates.
        assert boto_client("sts", srv).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
        srv.stop()

        # Rotation replaces the generated key file; the old key no longer opens the store.
        out = admin("rotate-master-key", "--data-dir", src)
        assert out.returncode == 0, out.stderr
        assert open(os.path.join(src, "master.key")).read() != open(key_copy).read()
        srv = start_server(["--http"], data_dir=src)
        assert boto_client("sts", srv).get_caller_identity()["Account"] == ACCOUNT
        srv.stop()
        proc = subprocess.run(
            [coffer_bin(), "serve", "--http", "--listen", "127.0.0.1:0", "--data-dir", src,
             "--master-key-file", key_copy],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert "master key" in proc.stderr.lower()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_backup_of_missing_database_fails_clearly(tmp_path):
    out = admin("backup", str(tmp_path / "x.backup"), "--data-dir", str(tmp_path / "nothing"))
    assert out.returncode != 0
    assert "no database" in out.stderr


def test_two_nodes_share_one_postgres_database(start_server, postgres):
    import base64
    url = postgres.new_database()
    env = dict(ROOT_ENV, COFFER_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
    a = start_server(["--account-id", ACCOUNT, "--http", "--storage", url], env=env)
    b = start_server(["--account-id", ACCOUNT, "--http", "--storage", url], env=env)
    # The root key stored by node A authenticates on node B.
    assert boto_client("sts", b).get_caller_identity()["Account"] == ACCOUNT
    sm_a, sm_b = boto_client("secretsmanager", a), boto_client("secretsmanager", b)
    arn = sm_a.create_secret(Name="shared/one", SecretString="written-on-a")["ARN"]
    assert sm_b.get_secret_value(SecretId="shared/one")["SecretString"] == "written-on-a"
    sm_b.put_secret_value(SecretId=arn, SecretString="written-on-b")
    import time
    deadline = time.time() + 5
    while sm_a.get_secret_value(SecretId=arn)["SecretString"] != "written-on-b":
        assert time.time() < deadline, "node A never saw node B's write"
        time.sleep(0.1)
    # A node with another master key refuses to start on the same database.
    bad = subprocess.run(
        [coffer_bin(), "serve", "--http", "--listen", "127.0.0.1:0", "--storage", url,
         "--data-dir", tempfile.mkdtemp(prefix="coffer-e2e-")],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, **ROOT_ENV, COFFER_MASTER_KEY=base64.b64encode(os.urandom(32)).decode()))
    assert bad.returncode != 0
    assert "master key" in bad.stderr.lower()


def test_acknowledged_writes_survive_kill_9(start_server):
    """Concurrent PutSecretValue calls, the server SIGKILLed mid-stream, several rounds: every write
    that was answered 200 is there after a restart, and exactly one version is AWSCURRENT."""
    import random
    import signal
    import threading

    # Eight writers at full speed exceed AWS's PutSecretValue quota (50/s), which the server
    # enforces by default: this test is about durability, not throttling.
    srv = start_server(["--account-id", ACCOUNT, "--http", "--no-rate-limits"], env=ROOT_ENV)
    data_dir = srv.data_dir
    boto_client("secretsmanager", srv).create_secret(Name="crash/test", SecretString="v0")
    acknowledged = {}
    for round_no in range(4):
        stop = threading.Event()
        lock = threading.Lock()

        def writer(n, url=srv.url):
            import boto3
            import botocore.config
            client = boto3.client(
                "secretsmanager", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ROOT_KEY,
                aws_secret_access_key=ROOT_SECRET,
                config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
            i = 0
            while not stop.is_set():
                value = f"round{round_no}-writer{n}-{i}"
                try:
                    version = client.put_secret_value(SecretId="crash/test", SecretString=value)["VersionId"]
                except Exception:
                    return  # the server is gone
                with lock:
                    acknowledged[version] = value
                i += 1

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        # Kill once some writes of this round were acknowledged, at a random point after that.
        import time
        before, deadline = len(acknowledged), time.time() + 60
        while len(acknowledged) < before + 20:
            assert time.time() < deadline, "no writes were acknowledged"
            time.sleep(0.01)
        threading.Event().wait(random.uniform(0.0, 0.3))
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        srv = start_server(["--http", "--no-rate-limits"], data_dir=data_dir)

    sm = boto_client("secretsmanager", srv)
    assert len(acknowledged) >= 80
    # Secrets Manager keeps unlabeled versions (up to 100 of them are listed); check each directly.
    for version, value in acknowledged.items():
        got = sm.get_secret_value(SecretId="crash/test", VersionId=version)
        assert got["SecretString"] == value
    stages = sm.describe_secret(SecretId="crash/test")["VersionIdsToStages"]
    current = [v for v, labels in stages.items() if "AWSCURRENT" in labels]
    assert len(current) == 1, stages
    assert sm.get_secret_value(SecretId="crash/test")["VersionId"] == current[0]


def test_postgres_restart_under_load(start_server):
    """PostgreSQL restarted while writes are in flight: clients see AWS-style retryable errors (or
    success), never a hang or a non-AWS answer, and the node recovers by itself."""
    import base64
    import threading
    import time
    from botocore.exceptions import ClientError

    from conftest import Postgres
    pg = Postgres()
    try:
        url = pg.new_database()
        env = dict(ROOT_ENV, COFFER_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
        # Writers at full speed would be throttled by the default quotas (50 PutSecretValue/s).
        node = start_server(["--account-id", ACCOUNT, "--http", "--storage", url, "--no-rate-limits"], env=env)
        boto_client("secretsmanager", node).create_secret(Name="pg/restart", SecretString="v0")
        acknowledged, errors, stop = {}, [], threading.Event()

        def writer(n):
            client = boto_client("secretsmanager", node, read_timeout=20, connect_timeout=5)
            i = 0
            while not stop.is_set():
                value = f"w{n}-{i}"
                try:
                    acknowledged[client.put_secret_value(SecretId="pg/restart", SecretString=value)["VersionId"]] = value
                except ClientError as e:
                    errors.append((e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]))
                i += 1

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        from conftest import wait_until
        wait_until(lambda: len(acknowledged) >= 20, "writes were acknowledged before the restart")
        pg.restart()
        # Writers hit the restart (errors) and then the database that came back (writes again).
        restarted = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= restarted + 20, "writes were acknowledged after the restart")
        stop.set()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a request hung across the PostgreSQL restart"
        for status, code in errors:
            assert (status, code) in ((503, "ServiceUnavailable"), (500, "InternalFailure"),
                                      (500, "InternalServiceError")), (status, code)
        # Recovered without a restart of Coffer, and nothing acknowledged is lost.
        sm = boto_client("secretsmanager", node)
        deadline = time.time() + 20
        while True:
            try:
                sm.put_secret_value(SecretId="pg/restart", SecretString="after")
                break
            except ClientError:
                assert time.time() < deadline, "Coffer did not recover after PostgreSQL came back"
                time.sleep(0.2)
        for version, value in acknowledged.items():
            assert sm.get_secret_value(SecretId="pg/restart", VersionId=version)["SecretString"] == value
    finally:
        pg.stop()
