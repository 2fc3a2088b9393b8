"""Issue 5: Secrets Manager rotation end to end through the binary.

A rotation function here is a small HTTP server speaking the Lambda Invoke API
(`POST /2015-03-31/functions/<name>/invocations`), as the AWS Lambda Runtime Interface Emulator does.
It receives AWS's rotation event and calls back into Coffer with boto3 exactly as AWS's rotation
templates do: PutSecretValue with AWSPENDING in createSecret, UpdateSecretVersionStage moving
AWSCURRENT in finishSecret.
"""
import datetime
import http.server
import json
import socket
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_ENV, boto_client

CANNOT_INVOKE = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants "
    "access to the principal secretsmanager.amazonaws.com."
)
INCOMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."


def fn_arn(name):
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def unique(prefix="rot"):
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def error_of(excinfo):
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"].get("Message"), err["ResponseMetadata"]["HTTPStatusCode"]


class RotationFunctions:
    """Rotation functions by name: `rotator` rotates like AWS's generic template; `failing` creates
    the pending version and then fails in setSecret (an unhandled function error); `huge` rotates
    like `rotator` but answers each step with more than Lambda's 6 MB response limit."""

    def __init__(self):
        self.events = []
        self.coffer = None
        self.lock = threading.Lock()
        handler = self._handler()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def client(self):
        return boto_client("secretsmanager", self.coffer)

    def _handler(self):
        functions = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                parts = self.path.split("/")
                # /2015-03-31/functions/<name>/invocations
                if len(parts) != 5 or parts[1:3] != ["2015-03-31", "functions"] or parts[4] != "invocations":
                    return self._reply(404, {"Message": "Function not found"})
                name = parts[3]
                if name not in ("rotator", "failing", "huge"):
                    return self._reply(404, {"Type": "User", "Message": f"Function not found: {name}"})
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with functions.lock:
                    functions.events.append((name, event))
                try:
                    functions.run(name, event)
                except Exception as e:  # the Lambda runtime reports any exception as a function error
                    return self._reply(200, {"errorMessage": str(e), "errorType": type(e).__name__},
                                       {"X-Amz-Function-Error": "Unhandled"})
                if name == "huge":
                    return self._reply(200, "x" * (6 * 1024 * 1024 + 1))
                self._reply(200, None)

            def _reply(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # Coffer stops reading a response over its limit

        return Handler

    def run(self, name, event):
        sm = self.client()
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        if step == "createSecret":
            try:
                sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            except ClientError as e:
                if e.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                current = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
                sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                    SecretString=f"{current}+rotated", VersionStages=["AWSPENDING"])
        elif step == "setSecret":
            if name == "failing":
                raise RuntimeError("the database refused the new password")
        elif step == "testSecret":
            try:
                pending = sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
                assert pending["SecretString"].endswith("+rotated")
            except ClientError as e:
                # RotateImmediately=false tests the configuration before any pending version exists.
                if e.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
        elif step == "finishSecret":
            stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
            current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
            if current != token:
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                               MoveToVersionId=token, RemoveFromVersionId=current)
        else:
            raise ValueError(f"unknown step {step}")

    def steps_for(self, arn):
        with self.lock:
            return [(e["Step"], e["ClientRequestToken"]) for _, e in self.events if e["SecretId"] == arn]

    def close(self):
        self.httpd.shutdown()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def functions():
    f = RotationFunctions()
    yield f
    f.close()


@pytest.fixture(scope="module")
def rot_server(functions):
    from conftest import Server
    s = Server([
        "--account-id", ACCOUNT,
        "--lambda-endpoint", functions.url,
        # A full invocation URL, as the Runtime Interface Emulator serves one function.
        "--lambda-function", f"{fn_arn('mapped')}={functions.url}/2015-03-31/functions/rotator/invocations",
        "--lambda-function", f"{fn_arn('gone')}=http://127.0.0.1:{closed_port()}",
        "--maintenance-interval", "1",
    ], env=ROOT_ENV)
    functions.coffer = s
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def sm(rot_server):
    return boto_client("secretsmanager", rot_server)


def stages_of(sm, name):
    return sm.describe_secret(SecretId=name).get("VersionIdsToStages")


def test_rotate_immediately_runs_the_four_steps_and_moves_labels(sm, functions):
    name = unique()
    created = sm.create_secret(Name=name, SecretString="pw0")
    arn, v1 = created["ARN"], created["VersionId"]
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    r = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"),
                         RotationRules={"AutomaticallyAfterDays": 1})
    v2 = r["VersionId"]
    assert (r["ARN"], r["Name"]) == (arn, name)
    uuid.UUID(v2)
    assert functions.steps_for(arn) == [(s, v2) for s in ("createSecret", "setSecret", "testSecret", "finishSecret")]
    event = next(e for _, e in functions.events if e["SecretId"] == arn)
    assert set(event) == {"Step", "SecretId", "ClientRequestToken", "RotationToken"}

    got = sm.get_secret_value(SecretId=name)
    assert (got["SecretString"], got["VersionId"], got["VersionStages"]) == ("pw0+rotated", v2, ["AWSCURRENT"])
    # As on AWS, the rotated version keeps AWSCURRENT only: AWSPENDING is gone once rotation completes.
    assert stages_of(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    desc = sm.describe_secret(SecretId=name)
    assert desc["RotationEnabled"] is True and desc["RotationLambdaARN"] == fn_arn("rotator")
    assert desc["RotationRules"] == {"AutomaticallyAfterDays": 1}
    assert desc["LastRotatedDate"] >= before
    assert desc["NextRotationDate"] - desc["LastRotatedDate"] == datetime.timedelta(days=1)
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
    assert error_of(e)[0] == "ResourceNotFoundException"

    # A second rotation reuses the configured function; v1 loses its last label and is deprecated.
    v3 = sm.rotate_secret(SecretId=arn)["VersionId"]
    assert stages_of(sm, name) == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw0+rotated+rotated"
    listed = {v["VersionId"] for v in sm.list_secret_version_ids(SecretId=name)["Versions"]}
    assert listed == {v2, v3}


def test_function_by_its_own_endpoint(sm, functions):
    name = unique()
    arn = sm.create_secret(Name=name, SecretString="m")["ARN"]
    v = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("mapped"))["VersionId"]
    assert [s for s, _ in functions.steps_for(arn)] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert sm.get_secret_value(SecretId=name)["VersionId"] == v
    assert "RotationRules" not in sm.describe_secret(SecretId=name)


def test_a_failing_function_leaves_awspending(sm, functions):
    name = unique()
    created = sm.create_secret(Name=name, SecretString="pw0")
    arn, v1 = created["ARN"], created["VersionId"]
    # AWS runs rotation asynchronously: RotateSecret answers once the rotation has started, and
    # the function's failure shows in the secret's labels, not as an error of this call.
    r = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("failing"),
                         RotationRules={"ScheduleExpression": "rate(10 days)"})
    token = r["VersionId"]
    assert [s for s, _ in functions.steps_for(arn)] == ["createSecret", "setSecret"]
    assert stages_of(sm, name) == {v1: ["AWSCURRENT"], token: ["AWSPENDING"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw0"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "pw0+rotated"
    desc = sm.describe_secret(SecretId=name)
    assert desc["RotationEnabled"] is True and "LastRotatedDate" not in desc

    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name)
    assert error_of(e) == ("InvalidRequestException", INCOMPLETE, 400)

    cancelled = sm.cancel_rotate_secret(SecretId=name)
    assert (cancelled["ARN"], cancelled["Name"], cancelled["VersionId"]) == (arn, name, token)
    desc = sm.describe_secret(SecretId=name)
    assert desc["RotationEnabled"] is False and "NextRotationDate" not in desc
    # Cancelling leaves the labels to the caller, as AWS documents.
    assert stages_of(sm, name) == {v1: ["AWSCURRENT"], token: ["AWSPENDING"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    assert stages_of(sm, name) == {v1: ["AWSCURRENT"]}
    # With the pending version cleaned up, rotation works again (with a function that succeeds).
    v = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"))["VersionId"]
    assert stages_of(sm, name) == {v1: ["AWSPREVIOUS"], v: ["AWSCURRENT"]}


def test_a_response_over_lambdas_payload_limit_fails_the_step(sm, functions):
    name = unique()
    created = sm.create_secret(Name=name, SecretString="pw0")
    arn, v1 = created["ARN"], created["VersionId"]
    token = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("huge"))["VersionId"]
    # createSecret did its work, but its answer broke Lambda's response limit: the step failed and
    # rotation stopped there, as after a function error.
    assert [s for s, _ in functions.steps_for(arn)] == ["createSecret"]
    assert stages_of(sm, name) == {v1: ["AWSCURRENT"], token: ["AWSPENDING"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw0"


@pytest.mark.parametrize("function", ["gone", "nothing-serves-this"])
def test_a_function_that_cannot_be_invoked(sm, function):
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn(function),
                         RotationRules={"AutomaticallyAfterDays": 7})
    assert error_of(e) == ("AccessDeniedException", CANNOT_INVOKE, 400)
    desc = sm.describe_secret(SecretId=name)
    assert not {"RotationEnabled", "RotationLambdaARN", "RotationRules"} & set(desc)


def test_builtin_rotation_through_the_binary(sm):
    name = unique()
    v1 = sm.create_secret(Name=name, SecretString=json.dumps({"username": "app", "password": "old", "port": 5432}))["VersionId"]
    r = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("coffer-builtin-password-rotation"),
                         RotationRules={"ScheduleExpression": "rate(30 days)"})
    value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    assert value["username"] == "app" and value["port"] == 5432
    assert len(value["password"]) == 32 and value["password"] != "old"
    assert stages_of(sm, name) == {v1: ["AWSPREVIOUS"], r["VersionId"]: ["AWSCURRENT"]}
    old = json.loads(sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"])
    assert old["password"] == "old"
    desc = sm.describe_secret(SecretId=name)
    assert desc["NextRotationDate"] - desc["LastRotatedDate"] == datetime.timedelta(days=30)
    # A plain-string secret is replaced whole.
    plain = unique()
    sm.create_secret(Name=plain, SecretString="hunter2")
    sm.rotate_secret(SecretId=plain, RotationLambdaARN=fn_arn("coffer-builtin-password-rotation"))
    assert len(sm.get_secret_value(SecretId=plain)["SecretString"]) == 32


def wait_for(predicate, timeout=30):
    """Polls for an event (a rotation done by the scheduler); `timeout` only bounds a failure."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    return None


# The scheduler tests run against a --dev server whose clock starts at noon UTC on a fixed day:
# the daily window below is open for twelve hours whatever the real time of day, so no test waits
# for midnight to pass, and the dates it checks are exact.
NOON = datetime.datetime(2030, 6, 14, 12, 0, tzinfo=datetime.timezone.utc)
MAINTENANCE_PASS = "maintenance pass finished"


@pytest.fixture
def scheduler():
    """A --dev server at NOON with its own rotation functions; the maintenance task runs ten times a
    second and logs each finished pass, which is how tests know the scheduler looked again."""
    from conftest import Server
    functions = RotationFunctions()
    srv = Server(["--dev", "--account-id", ACCOUNT, "--lambda-endpoint", functions.url,
                  "--maintenance-interval", "0.1", "--dev-clock-start", NOON.isoformat()],
                 env={"COFFER_LOG": "info,coffer::services=debug"})
    functions.coffer = srv
    yield boto_client("secretsmanager", srv), functions, srv
    srv.cleanup()
    functions.close()


def wait_for_passes(srv, count):
    """Returns once `count` more maintenance passes have finished: each began after this call."""
    passes = lambda: sum(MAINTENANCE_PASS in line for line in list(srv.stderr_lines))  # noqa: E731
    target = passes() + count + 1  # the pass running now may have begun before this call
    assert wait_for(lambda: passes() >= target), f"no maintenance pass: {srv.stderr_lines[-5:]}"


def test_scheduler_rotates_when_a_cron_window_is_open(scheduler):
    sm, functions, srv = scheduler
    name = unique()
    created = sm.create_secret(Name=name, SecretString="pw0")
    arn, v1 = created["ARN"], created["VersionId"]
    # Today's window opened at noon (the server's clock) and closes at the end of the UTC day;
    # the secret was never rotated in it, so it is due now and the scheduler rotates it.
    schedule = "cron(0 12 * * ? *)"
    r = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"),
                         RotationRules={"ScheduleExpression": schedule}, RotateImmediately=False)
    assert "VersionId" not in r
    desc = wait_for(lambda: (d := sm.describe_secret(SecretId=name)).get("LastRotatedDate") and d)
    assert desc, f"the scheduler did not rotate {name}: {functions.steps_for(arn)}"
    steps = functions.steps_for(arn)
    # RotateImmediately=false tests the configuration only; the scheduled rotation runs all four.
    assert steps[0][0] == "testSecret"
    assert [s for s, _ in steps[1:]] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    new = steps[1][1]
    assert stages_of(sm, name) == {v1: ["AWSPREVIOUS"], new: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw0+rotated"
    assert desc["RotationRules"] == {"ScheduleExpression": schedule}
    assert NOON <= desc["LastRotatedDate"] < NOON + datetime.timedelta(hours=1)
    # The next window is tomorrow's, opening at the same hour.
    assert desc["NextRotationDate"] == NOON + datetime.timedelta(days=1)
    # It does not rotate again in the same window, however often the scheduler looks.
    wait_for_passes(srv, 2)
    assert len(functions.steps_for(arn)) == 5


def test_scheduler_leaves_a_rotation_that_is_not_due(scheduler):
    sm, functions, srv = scheduler
    name = unique()
    arn = sm.create_secret(Name=name, SecretString="pw0")["ARN"]
    sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"),
                     RotationRules={"ScheduleExpression": "rate(10 days)", "Duration": "3h"}, RotateImmediately=False)
    desc = sm.describe_secret(SecretId=name)
    assert desc["RotationEnabled"] is True and "LastRotatedDate" not in desc
    # Ten days from the server's now, which began at NOON.
    assert NOON + datetime.timedelta(days=10) <= desc["NextRotationDate"] < NOON + datetime.timedelta(days=10, hours=1)
    wait_for_passes(srv, 2)
    assert [s for s, _ in functions.steps_for(arn)] == ["testSecret"]
    assert list(stages_of(sm, name).values()) == [["AWSCURRENT"]]


@pytest.mark.parametrize("rules", [
    {"ScheduleExpression": "cron(5 10 * * ? *)"},      # minutes must be 0
    {"ScheduleExpression": "cron(0 10 * * ? 2030)"},   # year must be *
    {"ScheduleExpression": "cron(0 10 * * * *)"},      # one of the day fields must be ?
    {"ScheduleExpression": "rate(2 hours)"},           # at most every four hours
    {"ScheduleExpression": "cron(0 */2 * * ? *)"},
    {"ScheduleExpression": "rate(1000 days)"},
    {"ScheduleExpression": "every day"},
])
def test_invalid_schedule_expressions(sm, rules):
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"), RotationRules=rules)
    assert error_of(e) == ("InvalidParameterException", "The schedule expression is invalid.", 400)
    assert "RotationEnabled" not in sm.describe_secret(SecretId=name)


@pytest.mark.parametrize("rules,message", [
    ({"AutomaticallyAfterDays": 3, "ScheduleExpression": "rate(3 days)"},
     "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules."),
    ({"ScheduleExpression": "cron(0 20 * * ? *)", "Duration": "5h"},
     "The rotation window must not extend into the next rotation window or the next UTC day."),
    ({"ScheduleExpression": "rate(4 hours)", "Duration": "30h"}, "The rotation window Duration must be between 1h and 24h."),
])
def test_invalid_rotation_rules(sm, rules, message):
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"), RotationRules=rules)
    assert error_of(e) == ("InvalidParameterException", message, 400)


def test_days_out_of_the_model_range(sm):
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=fn_arn("rotator"), RotationRules={"AutomaticallyAfterDays": 1001})
    assert error_of(e) == ("ValidationException", "1 validation error detected: Value '1001' at "
                           "'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have "
                           "value less than or equal to 1000", 400)
