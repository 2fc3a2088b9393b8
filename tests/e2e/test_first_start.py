"""Issue 14, the first ten minutes: what a new user sees from the binary — absolute paths on first
start, a data directory that must be a directory, errors without backtraces, `--version` with the
git revision, help texts, an all-or-nothing `admin restore`, and key ids in AWS's alphabet."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import ACCOUNT, REPO, ROOT_ENV, boto_client, coffer_bin

ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z2-7]{16}$")


def run(*args, env=None, cwd=None):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([coffer_bin(), *args], capture_output=True, text=True, timeout=120, env=full, cwd=cwd)


def test_first_start_prints_absolute_paths(tmp_path):
    # Started from a directory of its own with the default, relative `--data-dir coffer-data`.
    proc = subprocess.Popen([coffer_bin(), "serve", "--listen", "127.0.0.1:0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [proc.stdout.readline()]
        assert lines[0].startswith("coffer listening on https://"), lines
        while "CA certificate" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"no CA line: {lines}"
            lines.append(line)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    data_dir = tmp_path / "coffer-data"
    ca = str(data_dir / "tls" / "ca.pem")
    assert lines[-1].strip() == f"CA certificate: {ca} (export AWS_CA_BUNDLE={ca})"
    assert any(f"(secret in {data_dir / 'root-credentials'})" in line for line in lines), lines


def test_data_dir_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    for args in (["serve", "--listen", "127.0.0.1:0"], ["admin", "backup", str(tmp_path / "b")],
                 ["admin", "restore", str(tmp_path / "b")], ["admin", "account", "create"]):
        out = run(*args, "--data-dir", str(afile), env={"RUST_BACKTRACE": "1"})
        assert out.returncode == 1, (args, out)
        # The message chain only, even with RUST_BACKTRACE set: no backtrace, no Debug form.
        assert out.stderr == f"error: --data-dir {afile} is not a directory: it must name a directory (created when missing)\n", args
    assert afile.read_text() == "not a directory"


def test_startup_errors_print_no_backtrace(tmp_path):
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate")
    out = run("serve", "--dev", "--listen", "127.0.0.1:0", "--oidc-ca", str(bad_ca),
              env={"RUST_BACKTRACE": "full", "RUST_LIB_BACKTRACE": "1"})
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "backtrace" not in out.stderr.lower()


def test_version_names_the_git_revision_and_build_date():
    out = run("--version")
    assert out.returncode == 0
    m = re.fullmatch(r"coffer (\d+\.\d+\.\d+) \(git ([0-9a-f]{12}|unknown), built (\d{4}-\d{2}-\d{2})\)\n", out.stdout)
    assert m, out.stdout
    top = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode == 0 and pathlib.Path(top.stdout.strip()).resolve() == REPO.resolve():
        # Built from this checkout: a commit of its history (HEAD when nothing was committed since
        # the build).
        revision = m.group(2)
        assert subprocess.run(["git", "-C", str(REPO), "merge-base", "--is-ancestor", revision, "HEAD"]).returncode == 0, revision
    else:
        # A copy without .git, as CI builds.
        assert m.group(2) == "unknown"


@pytest.mark.parametrize("command", [["backup"], ["restore"], ["rotate-master-key"], ["account", "create"]])
def test_admin_help_does_not_mention_dev(command):
    out = run("admin", *command, "--help")
    assert out.returncode == 0
    assert "--dev" not in out.stdout and "dev mode" not in out.stdout.lower(), out.stdout


def tree(path):
    """Every file and directory under `path` with its mode and contents, and the names beside it."""
    path = pathlib.Path(path)
    beside = sorted(p.name for p in path.parent.iterdir())
    if not path.exists():
        return None, beside
    found = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        found[rel] = (oct(p.stat().st_mode), p.read_bytes() if p.is_file() else None)
    return found, beside


@pytest.fixture(scope="module")
def backup():
    """A backup of a store with an account, and the master key it was sealed under."""
    from conftest import Server
    srv = Server(["--account-id", ACCOUNT, "--http"], env=ROOT_ENV)
    work = tempfile.mkdtemp(prefix="coffer-restore-")
    try:
        boto_client("secretsmanager", srv).create_secret(Name="restored/one", SecretString="kept")
        srv.stop()
        path = os.path.join(work, "state.backup")
        out = run("admin", "backup", path, "--data-dir", srv.data_dir)
        assert out.returncode == 0, out.stderr
        key = os.path.join(work, "master.key")
        shutil.copy(os.path.join(srv.data_dir, "master.key"), key)
        yield path, key
    finally:
        srv.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def failed_restore_changes_nothing(target, *args, expect):
    before = tree(target)
    out = run("admin", "restore", *args, "--data-dir", str(target))
    assert out.returncode == 1, out.stdout
    assert expect in out.stderr and out.stderr.rstrip().endswith("Nothing was written."), out.stderr
    assert tree(target) == before
    return out.stderr


def test_failed_restores_leave_the_target_as_it_was(tmp_path, backup):
    path, key = backup
    # No key anywhere: nothing is created, and the error says where the key goes.
    missing = tmp_path / "new"
    err = failed_restore_changes_nothing(missing, path, expect=f"no master key at {missing}/master.key")
    assert "--master-key-file" in err
    # A directory holding another store's key (and anything else): untouched.
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    scratch = run("admin", "account", "create", "--data-dir", str(tmp_path / "scratch"))
    assert scratch.returncode == 0, scratch.stderr
    shutil.copy(tmp_path / "scratch" / "master.key", other / "master.key")
    (other / "notes.txt").write_text("mine")
    failed_restore_changes_nothing(other, path, expect="sealed under a different master key")
    # A target that already holds a database is never replaced.
    failed_restore_changes_nothing(tmp_path / "scratch", path, "--master-key-file", key, expect="already exists")
    # A backup that is not one: nothing written.
    junk = tmp_path / "junk.backup"
    junk.write_text("{}\n")
    failed_restore_changes_nothing(other, str(junk), expect="not a coffer backup")
    # No staging directory is left beside the targets.
    assert not [p for p in os.listdir(tmp_path) if ".restore-" in p]

    # Retried with the right key, the same command succeeds and the store serves the backup.
    shutil.copy(key, other / "master.key")
    out = run("admin", "restore", path, "--data-dir", str(other))
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(other)) == ["coffer.db", "master.key", "notes.txt"]
    assert (other / "notes.txt").read_text() == "mine"
    out = run("admin", "restore", path, "--data-dir", str(missing), "--master-key-file", key)
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(missing)) == ["coffer.db"]
    assert oct(missing.stat().st_mode & 0o777) == "0o700"
    assert not [p for p in os.listdir(tmp_path) if ".restore-" in p]
    from conftest import Server
    for data_dir, extra in ((other, []), (missing, ["--master-key-file", key])):
        srv = Server(["--http", *extra], data_dir=str(data_dir))
        try:
            sm = boto_client("secretsmanager", srv)
            assert sm.get_secret_value(SecretId="restored/one")["SecretString"] == "kept"
        finally:
            srv.stop()


def test_restore_into_postgres_is_all_or_nothing(tmp_path, backup, postgres):
    path, key = backup
    url = postgres.new_database()
    out = run("admin", "restore", path, "--storage", url, "--master-key-file", key, "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    again = run("admin", "restore", path, "--storage", url, "--master-key-file", key, "--data-dir", str(tmp_path / "d"))
    assert again.returncode == 1
    assert "already holds records" in again.stderr and "Nothing was written." in again.stderr
    assert not (tmp_path / "d").exists()


def key_ids(srv, sts, iam):
    """Every kind of id Coffer issues, through boto3."""
    ids = {}
    user = iam.create_user(UserName="ids-user")["User"]
    ids["user"] = user["UserId"]
    ids["access keys"] = []
    for _ in range(20):  # two keys per user at most, as on AWS
        key_id = iam.create_access_key(UserName="ids-user")["AccessKey"]["AccessKeyId"]
        iam.delete_access_key(UserName="ids-user", AccessKeyId=key_id)
        ids["access keys"].append(key_id)
    user_key = iam.create_access_key(UserName="ids-user")["AccessKey"]
    ids["access keys"].append(user_key["AccessKeyId"])
    ids["group"] = iam.create_group(GroupName="ids-group")["Group"]["GroupId"]
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}' % ACCOUNT
    role = iam.create_role(RoleName="ids-role", AssumeRolePolicyDocument=trust)["Role"]
    ids["role"] = role["RoleId"]
    ids["policy"] = iam.create_policy(PolicyName="ids-policy", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}')["Policy"]["PolicyId"]
    ids["instance profile"] = iam.create_instance_profile(InstanceProfileName="ids-profile")["InstanceProfile"]["InstanceProfileId"]
    ids["session keys"] = [sts.get_session_token()["Credentials"]["AccessKeyId"] for _ in range(10)]
    # Root may not assume roles (as on AWS): the user does.
    iam.put_user_policy(UserName="ids-user", PolicyName="assume",
                        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}')
    as_user = boto_client("sts", srv, key=user_key["AccessKeyId"], secret=user_key["SecretAccessKey"])
    ids["session keys"].append(as_user.assume_role(RoleArn=role["Arn"], RoleSessionName="ids")["Credentials"]["AccessKeyId"])
    ids["session keys"].append(sts.get_federation_token(Name="ids")["Credentials"]["AccessKeyId"])
    return ids


def test_issued_ids_use_aws_alphabet(start_server, tmp_path):
    # The root key of a first start and of `admin account create`, as Coffer issues them.
    srv = start_server(["--account-id", ACCOUNT, "--http"])
    text = open(os.path.join(srv.data_dir, "root-credentials")).read()
    root_key = text.split("aws_access_key_id = ")[1].split()[0]
    root_secret = text.split("aws_secret_access_key = ")[1].split()[0]
    assert ACCESS_KEY_ID.match(root_key), root_key
    created = run("admin", "account", "create", "--data-dir", srv.data_dir)
    assert created.returncode == 0, created.stderr
    assert ACCESS_KEY_ID.match(re.search(r'"AccessKeyId":"([^"]+)"', created.stdout).group(1))

    sts = boto_client("sts", srv, key=root_key, secret=root_secret)
    iam = boto_client("iam", srv, key=root_key, secret=root_secret)
    ids = key_ids(srv, sts, iam)
    for key in ids.pop("access keys") + ids.pop("session keys"):
        assert ACCESS_KEY_ID.match(key), key
    prefixes = {"user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA", "instance profile": "AIPA"}
    for kind, value in ids.items():
        assert re.fullmatch(prefixes[kind] + r"[A-Z2-7]{17}", value), (kind, value)
