"""The audit trail and the request log (issue 13): one CloudTrail record per request, allowed or
denied, signed or not; no secret anywhere in the trail; durable before the answer, so a trail that
cannot be written answers 503; tamper evidence that `coffer admin verify-audit` checks; lookups with
`coffer admin audit`; one `info` log line per request."""
import base64
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from conftest import ACCOUNT, ROOT_ENV, ROOT_KEY, ROOT_SECRET, Server, boto_client, coffer_bin, wait_until

PLANTED_STRING = "planted-string-9c1d0e"
PLANTED_UPDATE = "planted-update-4b7a21"
PLANTED_BINARY = b"planted-binary-\x00\x01\x02-77e3"
PLANTED_PASSWORD = "Planted-Passw0rd!-5e2f"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
NOBODY = 65534


def run_coffer(*args, **kwargs):
    return subprocess.run([coffer_bin(), *args], capture_output=True, text=True, timeout=120, **kwargs)


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


class Session:
    """Calls that remember the request id of every answer, successful or not."""

    def __init__(self):
        self.ids = []

    def call(self, method, **params):
        try:
            answer = method(**params)
        except botocore.exceptions.ClientError as e:
            self.ids.append(e.response["ResponseMetadata"]["RequestId"])
            return e
        self.ids.append(answer["ResponseMetadata"]["RequestId"])
        return answer


def unsigned_get_secret_value(srv, secret_id):
    """A request with no signature at all, as curl would send it."""
    request = urllib.request.Request(
        srv.url + "/",
        data=json.dumps({"SecretId": secret_id}).encode(),
        headers={"X-Amz-Target": "secretsmanager.GetSecretValue",
                 "Content-Type": "application/x-amz-json-1.1",
                 "User-Agent": "unsigned-probe/1.0"},
        method="POST",
    )
    context = None
    if srv.verify:
        import ssl
        context = ssl.create_default_context(cafile=srv.ca)
    try:
        urllib.request.urlopen(request, context=context, timeout=30)
    except urllib.error.HTTPError as e:
        return e.code, e.headers["x-amzn-requestid"], json.loads(e.read())
    raise AssertionError("an unsigned request was answered 200")


@pytest.fixture(scope="module")
def scripted():
    """A production server (HTTPS, real signatures and policies) and a scripted session: create,
    read, denied read, unsigned request, delete — with secrets planted along the way."""
    srv = Server(["--account-id", ACCOUNT], env=ROOT_ENV)
    session = Session()
    sm = boto_client("secretsmanager", srv)
    iam = boto_client("iam", srv)
    steps = {}

    created = session.call(sm.create_secret, Name="audit/db", SecretString=PLANTED_STRING)
    steps["create"] = session.ids[-1]
    read = session.call(sm.get_secret_value, SecretId="audit/db")
    assert read["SecretString"] == PLANTED_STRING
    steps["read"] = session.ids[-1]

    session.call(iam.create_user, UserName="auditee")
    key = session.call(iam.create_access_key, UserName="auditee")["AccessKey"]
    session.call(iam.create_login_profile, UserName="auditee", Password=PLANTED_PASSWORD)
    session.call(iam.put_user_policy, UserName="auditee", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:GetFederationToken",
                                                      "sts:GetSessionToken"], "Resource": "*"}]}))
    user_sm = boto_client("secretsmanager", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    denied = session.call(user_sm.get_secret_value, SecretId="audit/db")
    assert denied.response["Error"]["Code"] == "AccessDeniedException"
    steps["denied"] = session.ids[-1]

    status, unsigned_id, body = unsigned_get_secret_value(srv, "audit/db")
    assert (status, body["__type"]) == (400, "MissingAuthenticationTokenException")
    session.ids.append(unsigned_id)
    steps["unsigned"] = unsigned_id

    # More secrets in flight: a binary value, a new version, a role session and its token.
    session.call(sm.create_secret, Name="audit/bin", SecretBinary=PLANTED_BINARY)
    session.call(sm.put_secret_value, SecretId="audit/db", SecretString=PLANTED_UPDATE)
    password = session.call(sm.get_random_password, PasswordLength=40)["RandomPassword"]
    session.call(iam.create_role, RoleName="audited-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/auditee"},
                       "Action": "sts:AssumeRole"}]}))
    user_sts = boto_client("sts", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assumed = session.call(user_sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/audited-role",
                           RoleSessionName="audit-session")
    credentials = assumed["Credentials"]
    role_sts = boto_client("sts", srv, key=credentials["AccessKeyId"], secret=credentials["SecretAccessKey"],
                           token=credentials["SessionToken"])
    session.call(role_sts.get_caller_identity)
    steps["as_role"] = session.ids[-1]
    federation = session.call(user_sts.get_federation_token, Name="fed-audit",
                              PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])["Credentials"]
    fed_sts = boto_client("sts", srv, key=federation["AccessKeyId"], secret=federation["SecretAccessKey"],
                          token=federation["SessionToken"])
    session.call(fed_sts.get_caller_identity)
    steps["as_federated"] = session.ids[-1]
    user_session = session.call(user_sts.get_session_token)["Credentials"]
    session_sts = boto_client("sts", srv, key=user_session["AccessKeyId"], secret=user_session["SecretAccessKey"],
                              token=user_session["SessionToken"])
    session.call(session_sts.get_caller_identity)
    steps["as_user_session"] = session.ids[-1]

    deleted = session.call(sm.delete_secret, SecretId="audit/db", ForceDeleteWithoutRecovery=True)
    assert deleted["Name"] == "audit/db"
    steps["delete"] = session.ids[-1]

    planted = [PLANTED_STRING, PLANTED_UPDATE, PLANTED_PASSWORD, password, ROOT_SECRET,
               key["SecretAccessKey"], credentials["SecretAccessKey"], credentials["SessionToken"],
               federation["SecretAccessKey"], federation["SessionToken"],
               user_session["SecretAccessKey"], user_session["SessionToken"],
               base64.b64encode(PLANTED_BINARY).decode()]
    yield {"srv": srv, "ids": session.ids, "steps": steps, "planted": planted, "user_key": key["AccessKeyId"],
           "secret_arn": created["ARN"], "trail": os.path.join(srv.data_dir, "audit.log")}
    srv.cleanup()


def test_each_request_has_exactly_one_record(scripted):
    trail = records(scripted["trail"])
    ids = [r["requestID"] for r in trail]
    assert sorted(ids) == sorted(scripted["ids"])
    assert len(set(ids)) == len(ids)
    assert [r["cofferIntegrity"]["sequence"] for r in trail] == list(range(1, len(trail) + 1))


def test_records_name_the_principal_and_the_error(scripted):
    by_id = {r["requestID"]: r for r in records(scripted["trail"])}
    steps = scripted["steps"]

    create = by_id[steps["create"]]
    assert (create["eventName"], create["eventSource"]) == ("CreateSecret", "secretsmanager.amazonaws.com")
    assert create["userIdentity"] == {"type": "Root", "principalId": ACCOUNT, "arn": ROOT_ARN,
                                      "accountId": ACCOUNT, "accessKeyId": ROOT_KEY}
    assert "errorCode" not in create and create["readOnly"] is False
    assert create["requestParameters"]["name"] == "audit/db"
    assert "secretString" not in create["requestParameters"]
    assert create["responseElements"]["arn"] == scripted["secret_arn"]

    read = by_id[steps["read"]]
    assert read["eventName"] == "GetSecretValue" and read["readOnly"] is True
    assert read["userIdentity"]["arn"] == ROOT_ARN and "errorCode" not in read
    assert read["requestParameters"] == {"secretId": "audit/db"}
    assert read["responseElements"] is None

    denied = by_id[steps["denied"]]
    assert denied["userIdentity"]["type"] == "IAMUser"
    assert denied["userIdentity"]["userName"] == "auditee"
    assert denied["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/auditee"
    assert denied["userIdentity"]["principalId"].startswith("AIDA")
    assert denied["userIdentity"]["accessKeyId"] == scripted["user_key"]
    assert denied["errorCode"] == "AccessDenied"
    assert "is not authorized to perform: secretsmanager:GetSecretValue" in denied["errorMessage"]

    unsigned = by_id[steps["unsigned"]]
    assert unsigned["userIdentity"] == {"type": "Unknown"}
    assert unsigned["errorCode"] == "MissingAuthenticationTokenException"
    assert (unsigned["eventName"], unsigned["eventSource"]) == ("GetSecretValue", "secretsmanager.amazonaws.com")
    assert unsigned["userAgent"] == "unsigned-probe/1.0"

    as_role = by_id[steps["as_role"]]
    identity = as_role["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/audited-role/audit-session"
    assert identity["accessKeyId"].startswith("ASIA")
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert issuer["type"] == "Role" and issuer["arn"] == f"arn:aws:iam::{ACCOUNT}:role/audited-role"
    assert issuer["principalId"] == identity["principalId"].split(":")[0]
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"

    federated = by_id[steps["as_federated"]]["userIdentity"]
    assert federated["type"] == "FederatedUser"
    assert federated["arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/fed-audit"
    assert federated["sessionContext"]["sessionIssuer"] == {
        "type": "IAMUser", "principalId": denied["userIdentity"]["principalId"],
        "arn": f"arn:aws:iam::{ACCOUNT}:user/auditee", "accountId": ACCOUNT, "userName": "auditee"}

    user_session = by_id[steps["as_user_session"]]["userIdentity"]
    assert user_session["type"] == "IAMUser" and user_session["userName"] == "auditee"
    assert user_session["accessKeyId"].startswith("ASIA")
    assert "sessionIssuer" not in user_session["sessionContext"]
    assert user_session["sessionContext"]["attributes"]["creationDate"].endswith("Z")

    delete = by_id[steps["delete"]]
    assert delete["eventName"] == "DeleteSecret" and delete["userIdentity"]["arn"] == ROOT_ARN
    assert delete["responseElements"]["name"] == "audit/db"

    for record in by_id.values():
        assert record["eventVersion"] == "1.11"
        assert record["eventType"] == "AwsApiCall" and record["managementEvent"] is True
        assert record["eventCategory"] == "Management"
        assert record["recipientAccountId"] == ACCOUNT
        assert record["sourceIPAddress"] == "127.0.0.1"
        assert record["tlsDetails"]["tlsVersion"] in ("TLSv1.2", "TLSv1.3")
        assert record["tlsDetails"]["cipherSuite"]
        assert record["tlsDetails"]["clientProvidedHostHeader"] == f"127.0.0.1:{scripted['srv'].port}"


def logged(scripted):
    """The server's log once every request of the session is in it (log lines are written before
    each answer, and read from the pipe by another thread)."""
    srv = scripted["srv"]
    last = f"request_id={scripted['ids'][-1]}"
    wait_until(lambda: any(last in line for line in list(srv.stderr_lines)), "the last request is logged")
    return list(srv.stderr_lines)


def test_no_secret_anywhere_in_the_trail_or_the_log(scripted):
    raw = pathlib.Path(scripted["trail"]).read_bytes()
    log = "".join(logged(scripted))
    for value in scripted["planted"]:
        assert value.encode() not in raw, f"{value!r} is in the audit trail"
        assert value not in log, f"{value!r} is in the log"
    assert PLANTED_BINARY not in raw


def test_one_log_line_per_request(scripted):
    lines = [line for line in logged(scripted) if "coffer::request" in line]
    for request_id in scripted["ids"]:
        mine = [line for line in lines if f"request_id={request_id}" in line]
        assert len(mine) == 1, (request_id, mine)
    denied = next(line for line in lines if f"request_id={scripted['steps']['denied']}" in line)
    assert " INFO " in denied
    assert f"principal=arn:aws:iam::{ACCOUNT}:user/auditee" in denied
    assert "operation=secretsmanager:GetSecretValue" in denied
    assert "status=400" in denied and "error_code=AccessDeniedException" in denied
    assert "latency_ms=" in denied and "audit=ok" in denied


def test_verify_audit_accepts_the_trail_and_finds_edits_deletions_and_reordering(scripted, tmp_path):
    srv = scripted["srv"]
    ok = run_coffer("admin", "verify-audit", "--data-dir", srv.data_dir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"verified {len(scripted['ids'])} records" in ok.stdout

    lines = pathlib.Path(scripted["trail"]).read_text().splitlines(keepends=True)

    def verdict(name, edited):
        copy = tmp_path / name
        copy.write_text("".join(edited))
        return run_coffer("admin", "verify-audit", "--data-dir", srv.data_dir, str(copy))

    edited = list(lines)
    edited[2] = edited[2].replace('"readOnly":', '"readOnly" :', 1)
    out = verdict("edited.log", edited)
    assert out.returncode == 1
    assert "edited.log:3: record 3 was altered" in out.stdout

    deleted = lines[:3] + lines[4:]
    out = verdict("deleted.log", deleted)
    assert out.returncode == 1
    assert "deleted.log:4: record 4 is missing: record 5 follows record 3" in out.stdout

    reordered = list(lines)
    reordered[1], reordered[2] = reordered[2], reordered[1]
    out = verdict("reordered.log", reordered)
    assert out.returncode == 1
    assert "reordered.log:2: record 3 is out of order" in out.stdout

    # Another master key cannot vouch for the trail.
    other_key = tmp_path / "other.key"
    other_key.write_text(base64.b64encode(os.urandom(32)).decode())
    os.chmod(other_key, 0o600)
    out = run_coffer("admin", "verify-audit", "--master-key-file", str(other_key), scripted["trail"])
    assert out.returncode == 1 and "signed with a key none of the given master keys derives" in out.stdout

    out = run_coffer("admin", "verify-audit", "--data-dir", srv.data_dir, str(tmp_path / "absent.log"))
    assert out.returncode == 2 and "absent.log" in out.stderr


def test_audit_lookup_filters_like_lookup_events(scripted):
    srv, steps = scripted["srv"], scripted["steps"]

    def lookup(*filters):
        out = run_coffer("admin", "audit", "--data-dir", srv.data_dir, *filters)
        assert out.returncode == 0, out.stderr
        return [json.loads(line)["requestID"] for line in out.stdout.splitlines()]

    assert lookup("--principal", f"arn:aws:iam::{ACCOUNT}:user/auditee", "--event-name", "GetSecretValue") \
        == [steps["denied"]]
    assert lookup("--principal", "auditee", "--event-name", "GetSecretValue") == [steps["denied"]]
    by_secret = lookup("--secret", "audit/db")
    assert steps["create"] in by_secret and steps["read"] in by_secret and steps["delete"] in by_secret
    assert lookup("--secret", scripted["secret_arn"], "--event-name", "DeleteSecret") == [steps["delete"]]
    assert lookup("--access-key-id", scripted["user_key"], "--read-only", "true",
                  "--event-source", "secretsmanager.amazonaws.com") == [steps["denied"]]
    assert len(lookup("--access-key-id", scripted["user_key"], "--read-only", "false")) == 1  # AssumeRole
    assert lookup("--start-time", "2099-01-01") == []
    assert len(lookup("--end-time", "2099-01-01T00:00:00Z")) == len(scripted["ids"])
    bad = run_coffer("admin", "audit", "--data-dir", srv.data_dir, "--start-time", "yesterday")
    assert bad.returncode == 2 and "RFC 3339" in bad.stderr


def start_as_nobody(args, data_dir):
    """A server whose audit file can be made read-only: root writes any file, so as root the
    server runs as `nobody`."""
    if os.geteuid() != 0:
        return Server(args, env=ROOT_ENV, data_dir=data_dir)
    os.chown(data_dir, NOBODY, NOBODY)
    # The build may sit where `nobody` cannot reach it (CI works in a 0700 temporary folder):
    # `nobody` runs a copy of the binary from a folder it may enter.
    reachable = tempfile.mkdtemp(prefix="coffer-audit-bin-")
    os.chmod(reachable, 0o755)
    binary = os.path.join(reachable, "coffer")
    shutil.copy2(coffer_bin(), binary)
    os.chmod(binary, 0o755)

    def drop_privileges():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    try:
        return Server(args, env=ROOT_ENV, data_dir=data_dir, preexec_fn=drop_privileges, binary=binary)
    finally:
        # The running process keeps its image; the copy is not needed once it started.
        shutil.rmtree(reachable, ignore_errors=True)


def test_a_read_only_audit_file_fails_requests_with_503_and_nothing_answered_goes_unaudited():
    data_dir = tempfile.mkdtemp(prefix="coffer-audit-ro-")
    srv = start_as_nobody(["--account-id", ACCOUNT, "--http"], data_dir)
    try:
        sm = boto_client("secretsmanager", srv)
        iam = boto_client("iam", srv)
        answered, refused = [], []

        def note(method, **params):
            try:
                answer = method(**params)
                answered.append(answer["ResponseMetadata"]["RequestId"])
                return answer
            except botocore.exceptions.ClientError as e:
                status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                (refused if status == 503 else answered).append(e.response["ResponseMetadata"]["RequestId"])
                return e

        note(sm.create_secret, Name="ro/db", SecretString="before")
        trail = os.path.join(data_dir, "audit.log")
        os.chmod(trail, 0o444)

        failed = note(sm.get_secret_value, SecretId="ro/db")
        assert failed.response["Error"]["Code"] == "ServiceUnavailable"
        assert failed.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "before" not in json.dumps(failed.response, default=str)
        # Query protocol too, in its own envelope.
        failed = note(iam.list_users)
        assert failed.response["Error"]["Code"] == "ServiceUnavailable"
        # A change is refused before it runs while the trail cannot be written.
        failed = note(sm.put_secret_value, SecretId="ro/db", SecretString=PLANTED_UPDATE)
        assert failed.response["Error"]["Code"] == "ServiceUnavailable"
        assert len(refused) == 3

        os.chmod(trail, 0o600)
        assert note(sm.get_secret_value, SecretId="ro/db")["SecretString"] == "before"

        written = [r["requestID"] for r in records(trail)]
        assert sorted(written) == sorted(answered)
        assert not set(refused) & set(written)
        log = "".join(srv.stderr_lines)
        assert "audit trail write failed" in log
        for request_id in refused:
            line = next(line for line in srv.stderr_lines if f"request_id={request_id}" in line)
            assert "status=503" in line and "audit=failed" in line
        out = run_coffer("admin", "verify-audit", "--data-dir", data_dir)
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        srv.cleanup()


def test_the_chain_continues_across_restarts_and_rotated_files():
    data_dir = tempfile.mkdtemp(prefix="coffer-audit-rotate-")
    args = ["--account-id", ACCOUNT, "--http", "--audit-log-max-mib", "0.004", "--audit-log-keep", "2"]
    srv = Server(args, env=ROOT_ENV, data_dir=data_dir)
    try:
        sts = boto_client("sts", srv)
        for _ in range(8):
            sts.get_caller_identity()
        srv.stop()
        srv = Server(args, env=ROOT_ENV, data_dir=data_dir)
        sts = boto_client("sts", srv)
        for _ in range(8):
            sts.get_caller_identity()
        srv.stop()
        rotated = sorted(p for p in os.listdir(data_dir) if p.startswith("audit.log."))
        assert len(rotated) == 2, os.listdir(data_dir)
        for name in rotated:
            assert oct(os.stat(os.path.join(data_dir, name)).st_mode & 0o777) == "0o600"
        out = run_coffer("admin", "verify-audit", "--data-dir", data_dir)
        assert out.returncode == 0, out.stdout + out.stderr
        # Older files were deleted: the trail given starts after sequence 1 and runs to 16.
        assert "start at sequence" in out.stdout
        assert "to 16)" in out.stdout
        # One rotated file removed from the middle of what is kept is a gap.
        files = [os.path.join(data_dir, name) for name in rotated]
        active = os.path.join(data_dir, "audit.log")
        if os.path.exists(active):
            out = run_coffer("admin", "verify-audit", "--data-dir", data_dir, files[0], active)
            assert out.returncode == 1 and "missing" in out.stdout
    finally:
        srv.cleanup()


def test_dev_mode_keeps_no_trail_unless_asked(start_server, tmp_path):
    srv = start_server(["--dev"])
    boto_client("sts", srv).get_caller_identity()
    srv.stop()
    assert not any("audit.log" in p for p in os.listdir(srv.data_dir))
    assert any("audit=off" in line for line in srv.stderr_lines)

    trail = tmp_path / "dev-audit.log"
    srv = start_server(["--dev", "--audit-log", str(trail)])
    boto_client("secretsmanager", srv).create_secret(Name="dev/x", SecretString=PLANTED_STRING)
    srv.stop()
    assert PLANTED_STRING.encode() not in trail.read_bytes()
    out = run_coffer("admin", "verify-audit", "--dev", str(trail))
    assert out.returncode == 0 and "verified 1 records" in out.stdout
    # Signed with the public dev key, not with a production master key.
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    os.chmod(key_file, 0o600)
    out = run_coffer("admin", "verify-audit", "--master-key-file", str(key_file), str(trail))
    assert out.returncode == 1


def test_a_trail_on_standard_output(start_server):
    srv = start_server(["--dev", "--audit-log", "-"])
    answer = boto_client("sts", srv).get_caller_identity()
    srv.stop()
    on_stdout = [json.loads(line) for line in srv.stdout_lines if line.startswith('{"eventVersion"')]
    assert [r["requestID"] for r in on_stdout] == [answer["ResponseMetadata"]["RequestId"]]
    assert on_stdout[0]["eventName"] == "GetCallerIdentity"


def test_json_log_lines(start_server):
    srv = start_server(["--dev", "--log-format", "json"])
    answer = boto_client("sts", srv).get_caller_identity()
    srv.stop()
    request_id = answer["ResponseMetadata"]["RequestId"]
    lines = [json.loads(line) for line in srv.stderr_lines if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert len(mine) == 1
    assert mine[0]["level"] == "INFO" and mine[0]["operation"] == "sts:GetCallerIdentity"
    assert mine[0]["status"] == 200 and mine[0]["principal"].endswith(":root")
    assert isinstance(mine[0]["latency_ms"], float)


def test_one_writer_per_trail_and_a_broken_trail_stops_the_start(start_server, tmp_path):
    trail = tmp_path / "shared.log"
    start_server(["--dev", "--audit-log", str(trail)])
    with pytest.raises(RuntimeError) as second:
        start_server(["--dev", "--audit-log", str(trail)])
    assert "is written by another coffer process" in str(second.value)

    broken = tmp_path / "broken.log"
    broken.write_text("not an audit record\n")
    with pytest.raises(RuntimeError) as refused:
        start_server(["--dev", "--audit-log", str(broken)])
    assert "not an audit record" in str(refused.value)


@pytest.mark.parametrize("args, message", [
    (["--dev", "--audit-required"], "--audit-required needs an audit trail"),
    (["--audit-log-max-mib", "0"], "outside 0.001"),
    (["--audit-log-keep", "0"], "audit-log-keep"),
    (["--audit-log", "x", "--no-audit-log"], "cannot be used with"),
    (["--audit-flush", "write", "--no-audit-log"], "cannot be used with"),
    (["--dev", "--audit-flush", "write"], "--audit-flush needs an audit trail"),
    (["--audit-log", "-", "--audit-flush", "write"], "--audit-flush applies to a trail file"),
    (["--audit-flush", "sometimes"], "invalid value 'sometimes'"),
])
def test_contradictory_audit_flags_are_refused(args, message, tmp_path):
    out = run_coffer("serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), *args)
    assert out.returncode != 0
    assert message in out.stderr


def test_config_check_refuses_a_trail_with_no_trail_but_not_a_false_no_audit_log(tmp_path):
    refused = run_coffer("config", "check", "--audit-log", str(tmp_path / "a.log"), "--no-audit-log")
    assert refused.returncode != 0 and "cannot be used with --no-audit-log" in refused.stderr
    refused = run_coffer("config", "check", "--audit-flush", "write",
                         env=dict(os.environ, COFFER_NO_AUDIT_LOG="1"))
    assert refused.returncode != 0 and "cannot be used with --no-audit-log" in refused.stderr
    # COFFER_NO_AUDIT_LOG=0 says "keep a trail": nothing contradicts it.
    accepted = run_coffer("config", "check", "--audit-flush", "write", "--audit-log", str(tmp_path / "a.log"),
                          env=dict(os.environ, COFFER_NO_AUDIT_LOG="0"))
    assert accepted.returncode == 0, accepted.stderr
    assert 'audit-flush = "write"' in accepted.stdout


@pytest.mark.parametrize("flush", ["fsync", "write"])
def test_every_answered_request_is_in_the_trail_after_kill_9(flush):
    """Readers at full speed, the server SIGKILLed mid-stream: every request that was answered has
    its record, and the trail verifies. `--audit-flush write` answers once the record is written
    to the file (the kernel keeps it when the process dies), `fsync` once it is synced."""
    import signal
    import threading
    import time

    data_dir = tempfile.mkdtemp(prefix=f"coffer-audit-kill-{flush}-")
    args = ["--account-id", ACCOUNT, "--http", "--no-rate-limits", "--audit-flush", flush]
    srv = Server(args, env=ROOT_ENV, data_dir=data_dir)
    try:
        # The start-up line says how records are flushed (read from the pipe by another thread).
        wait_until(lambda: any("audit trail:" in line for line in list(srv.stderr_lines)), "the audit start-up line")
        trail_line = next(line for line in srv.stderr_lines if "audit trail:" in line)
        assert ("--audit-flush write" in trail_line) == (flush == "write"), trail_line
        boto_client("secretsmanager", srv).create_secret(Name="kill/db", SecretString="v")
        answered, lock, stop = [], threading.Lock(), threading.Event()

        def reader(url=srv.url):
            import boto3
            import botocore.config
            client = boto3.client(
                "secretsmanager", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ROOT_KEY,
                aws_secret_access_key=ROOT_SECRET,
                config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
            while not stop.is_set():
                try:
                    answer = client.get_secret_value(SecretId="kill/db")
                except Exception:
                    return  # the server is gone
                with lock:
                    answered.append(answer["ResponseMetadata"]["RequestId"])

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = time.time() + 60
        while len(answered) < 200:
            assert time.time() < deadline, "too few requests answered"
            time.sleep(0.01)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        written = {r["requestID"] for r in records(os.path.join(data_dir, "audit.log"))}
        missing = [request_id for request_id in answered if request_id not in written]
        assert not missing, f"{len(missing)} of {len(answered)} answered requests have no record"
        out = run_coffer("admin", "verify-audit", "--data-dir", data_dir)
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        srv.cleanup()
