"""Issue 3: backup and master-key rotation run online, against the data directory of a running server
(SQLite), without stopping it: the server keeps answering and writing throughout, everything it
acknowledged survives, and after a restart it opens the store with the rotated key."""
import os
import subprocess
import threading
import uuid

from conftest import ACCOUNT, ROOT_ENV, boto_client, coffer_bin, wait_until


def admin(*args):
    return subprocess.run([coffer_bin(), "admin", *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_backup_and_rotation_while_serving(start_server, tmp_path):
    # Writers run flat out while the backup and the key rotation happen: this test is not about
    # quotas, so the per-principal rate limits (which such a loop can reach) are off.
    srv = start_server(["--account-id", ACCOUNT, "--http", "--no-rate-limits"], env=ROOT_ENV)
    sm = boto_client("secretsmanager", srv)
    name = f"online/{uuid.uuid4().hex[:8]}"
    arn = sm.create_secret(Name=name, SecretString="v0")["ARN"]
    acknowledged, failures, stop = [], [], threading.Event()

    def writer():
        client = boto_client("secretsmanager", srv)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                v = client.put_secret_value(SecretId=arn, SecretString=f"v{i}")["VersionId"]
                acknowledged.append((v, f"v{i}"))
                assert client.get_secret_value(SecretId=arn, VersionId=v)["SecretString"] == f"v{i}"
            except Exception as e:  # noqa: BLE001 - every failure is reported below
                failures.append(repr(e))

    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_until(lambda: len(acknowledged) >= 20 or failures, "the writer wrote before the backup")
        work = str(tmp_path)  # pytest's: removed later, unlike a mkdtemp holding an old master key
        backup = os.path.join(work, "state.backup")
        backed_up = len(acknowledged)
        out = admin("backup", backup, "--data-dir", srv.data_dir)
        assert out.returncode == 0, out.stderr
        old_key = open(os.path.join(srv.data_dir, "master.key")).read()
        out = admin("rotate-master-key", "--data-dir", srv.data_dir)
        assert out.returncode == 0, out.stderr
        assert open(os.path.join(srv.data_dir, "master.key")).read() != old_key
        rotated = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= rotated + 20 or failures, "the writer wrote after the rotation")
    finally:
        stop.set()
        t.join()
    assert not failures, failures[:3]
    assert len(acknowledged) > backed_up > 0, "the writer must have run before and after the backup"
    # The running server still reads and writes after the rotation.
    sm.put_secret_value(SecretId=arn, SecretString="after-rotation")
    srv.stop()

    again = start_server(["--http"], data_dir=srv.data_dir)
    sm = boto_client("secretsmanager", again)
    for version, value in acknowledged:
        assert sm.get_secret_value(SecretId=arn, VersionId=version)["SecretString"] == value
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "after-rotation"
    again.stop()

    # The online backup is consistent: it restores (with the key of its time) and holds every write
    # acknowledged before it began.
    old_key_file = os.path.join(work, "old.key")
    with open(old_key_file, "w") as f:
        f.write(old_key)
    os.chmod(old_key_file, 0o600)
    restored = os.path.join(work, "restored")
    out = admin("restore", backup, "--data-dir", restored, "--master-key-file", old_key_file)
    assert out.returncode == 0, out.stderr
    from_backup = start_server(["--http", "--master-key-file", old_key_file], data_dir=restored)
    sm = boto_client("secretsmanager", from_backup)
    for version, value in acknowledged[:backed_up]:
        assert sm.get_secret_value(SecretId=arn, VersionId=version)["SecretString"] == value
