"""Issue 5: Secrets Manager against the real binary, with boto3 over JSON 1.1 and over Query, and the AWS CLI."""
import base64
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import uuid

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_KEY, ROOT_SECRET, boto_client, cli_env

MODELS = pathlib.Path(os.environ.get("COFFER_AWS_MODELS", pathlib.Path(__file__).resolve().parents[2] / "data" / "aws-models"))
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)


def unique(prefix="e2e"):
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def error_of(excinfo):
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"].get("Message"), err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def sm(server):
    return boto_client("secretsmanager", server)


@pytest.fixture(scope="module")
def sm_query(server):
    """A boto3 client that speaks the Query protocol to Secrets Manager: the service model with
    `"protocol": "query"` (and the `resultWrapper` a Query model gives each output), loaded through
    AWS_DATA_PATH by a fresh botocore session."""
    data = tempfile.mkdtemp(prefix="coffer-sm-query-")
    target = pathlib.Path(data) / "secretsmanager" / "2017-10-17"
    shutil.copytree(MODELS / "secretsmanager" / "2017-10-17", target)
    model_path = target / "service-2.json"
    model = json.loads(model_path.read_text())
    model["metadata"]["protocol"] = "query"
    model["metadata"]["protocols"] = ["query"]
    # Query responses wrap each output in <OpResult>, which a Query model declares per operation.
    for op_name, op in model["operations"].items():
        if "output" in op:
            op["output"]["resultWrapper"] = f"{op_name}Result"
    model_path.write_text(json.dumps(model))
    old = os.environ.get("AWS_DATA_PATH")
    os.environ["AWS_DATA_PATH"] = data
    try:
        session = boto3.session.Session()
        client = session.client(
            "secretsmanager",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id=ROOT_KEY,
            aws_secret_access_key=ROOT_SECRET,
            verify=server.verify,
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )
    finally:
        if old is None:
            os.environ.pop("AWS_DATA_PATH", None)
        else:
            os.environ["AWS_DATA_PATH"] = old
    assert client.meta.service_model.protocol == "query"
    yield client
    shutil.rmtree(data, ignore_errors=True)


def arn_prefix(name, region="us-east-1"):
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-"


# ---- the main flow, over both protocols ------------------------------------------------------


@pytest.fixture(params=["json", "query"])
def client(request, sm, sm_query):
    return sm if request.param == "json" else sm_query


def test_create_get_put_describe(client):
    name = unique()
    created = client.create_secret(
        Name=name, SecretString="v1", Description="first one", Tags=[{"Key": "env", "Value": "dev"}]
    )
    assert created["Name"] == name
    assert created["ARN"].startswith(arn_prefix(name)) and len(created["ARN"]) == len(arn_prefix(name)) + 6
    v1 = created["VersionId"]
    uuid.UUID(v1)

    got = client.get_secret_value(SecretId=name)
    assert got["SecretString"] == "v1"
    assert got["VersionId"] == v1
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["ARN"] == created["ARN"]
    assert isinstance(got["CreatedDate"], datetime.datetime)

    put = client.put_secret_value(SecretId=created["ARN"], SecretString="v2")
    assert put["VersionStages"] == ["AWSCURRENT"]
    v2 = put["VersionId"]
    assert client.get_secret_value(SecretId=name)["SecretString"] == "v2"
    prev = client.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (prev["SecretString"], prev["VersionId"]) == ("v1", v1)

    desc = client.describe_secret(SecretId=name)
    assert desc["Name"] == name and desc["Description"] == "first one"
    assert desc["Tags"] == [{"Key": "env", "Value": "dev"}]
    assert desc["VersionIdsToStages"] == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert isinstance(desc["LastChangedDate"], datetime.datetime)
    assert isinstance(desc["LastAccessedDate"], datetime.datetime)
    assert "DeletedDate" not in desc and "RotationEnabled" not in desc

    versions = client.list_secret_version_ids(SecretId=name)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([v1, v2])
    assert all(v["KmsKeyIds"] == ["DefaultEncryptionKey"] for v in versions)


def test_binary_secret(client):
    name = unique()
    blob = bytes(range(256))
    client.create_secret(Name=name, SecretBinary=blob)
    got = client.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == blob
    assert "SecretString" not in got


def test_errors_as_aws_words_them(client):
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=unique("missing"))
    assert error_of(e) == ("ResourceNotFoundException", NOT_FOUND, 400)

    name = unique()
    client.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as e:
        client.create_secret(Name=name, SecretString="x")
    assert error_of(e) == ("ResourceExistsException", f"The operation failed because the secret {name} already exists.", 400)

    with pytest.raises(ClientError) as e:
        client.describe_secret(SecretId="Inv Name")
    assert error_of(e) == ("ValidationException", INVALID_NAME, 400)

    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
    assert error_of(e) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
        400,
    )


def test_client_request_token_idempotency(client):
    name = unique()
    client.create_secret(Name=name, SecretString="v0")
    token = str(uuid.uuid4())
    a = client.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    b = client.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    assert a["VersionId"] == b["VersionId"] == token
    assert len(client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 2
    with pytest.raises(ClientError) as e:
        client.put_secret_value(SecretId=name, SecretString="other", ClientRequestToken=token)
    assert error_of(e)[0] == "ResourceExistsException"
    assert client.get_secret_value(SecretId=name)["SecretString"] == "v1"


def test_delete_restore_and_force(client):
    name = unique()
    arn = client.create_secret(Name=name, SecretString="x")["ARN"]
    before = datetime.datetime.now(datetime.timezone.utc)
    deleted = client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert deleted["ARN"] == arn and deleted["Name"] == name
    window = deleted["DeletionDate"] - before
    assert datetime.timedelta(days=6, hours=23) < window < datetime.timedelta(days=7, minutes=5)
    assert "DeletedDate" in client.describe_secret(SecretId=name)

    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=name)
    assert error_of(e) == ("InvalidRequestException", MARKED, 400)
    with pytest.raises(ClientError) as e:
        client.create_secret(Name=name, SecretString="again")
    assert error_of(e)[:2] == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
    )

    listed = client.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert listed == []
    listed = client.list_secrets(Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)["SecretList"]
    assert [s["Name"] for s in listed] == [name]

    restored = client.restore_secret(SecretId=arn)
    assert restored == {"ARN": arn, "Name": name, "ResponseMetadata": restored["ResponseMetadata"]}
    assert client.get_secret_value(SecretId=name)["SecretString"] == "x"

    with pytest.raises(ClientError) as e:
        client.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert error_of(e)[0] == "InvalidParameterException"
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        client.describe_secret(SecretId=name)
    assert error_of(e) == ("ResourceNotFoundException", NOT_FOUND, 400)
    again = client.create_secret(Name=name, SecretString="new")
    assert again["ARN"] != arn


def test_update_secret_and_version_stages(client):
    name = unique()
    v1 = client.create_secret(Name=name, SecretString="1")["VersionId"]
    only_meta = client.update_secret(SecretId=name, Description="changed")
    assert "VersionId" not in only_meta
    v2 = client.put_secret_value(SecretId=name, SecretString="2", VersionStages=["AWSPENDING"])["VersionId"]
    with pytest.raises(ClientError) as e:
        client.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2)
    assert error_of(e)[0] == "InvalidParameterException"
    client.update_secret_version_stage(
        SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1
    )
    stages = client.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert sorted(stages[v2]) == ["AWSCURRENT", "AWSPENDING"]
    assert stages[v1] == ["AWSPREVIOUS"]
    updated = client.update_secret(SecretId=name, SecretString="3")
    v3 = updated["VersionId"]
    stages = client.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    deprecated = client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    old = [v for v in deprecated if v["VersionId"] == v1]
    assert len(old) == 1 and "VersionStages" not in old[0]


def test_first_version_always_gets_awscurrent(client):
    # AWS API reference, PutSecretValue: "If this operation creates the first version for the
    # secret, then Secrets Manager automatically attaches the staging label AWSCURRENT to it."
    name = unique()
    client.create_secret(Name=name)
    first = client.put_secret_value(SecretId=name, SecretString="1", VersionStages=["blue", "green"])
    assert sorted(first["VersionStages"]) == ["AWSCURRENT", "blue", "green"]
    got = client.get_secret_value(SecretId=name)
    assert (got["VersionId"], got["SecretString"]) == (first["VersionId"], "1")
    # Later versions get only the labels they name: AWSCURRENT stays where it is.
    second = client.put_secret_value(SecretId=name, SecretString="2", VersionStages=["blue"])
    assert second["VersionStages"] == ["blue"]
    stages = client.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert sorted(stages[first["VersionId"]]) == ["AWSCURRENT", "green"]
    assert client.get_secret_value(SecretId=name)["SecretString"] == "1"


def test_tags(client):
    name = unique()
    client.create_secret(Name=name)
    assert "Tags" not in client.describe_secret(SecretId=name)
    client.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    client.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "one"}])
    assert client.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "one"}, {"Key": "b", "Value": "2"}]
    client.untag_resource(SecretId=name, TagKeys=["a", "b"])
    assert client.describe_secret(SecretId=name)["Tags"] == []


def test_list_secrets_filters_and_pagination(client):
    tag = uuid.uuid4().hex[:10]
    names = [unique(f"list{tag}") for _ in range(5)]
    for i, n in enumerate(names):
        client.create_secret(Name=n, SecretString="v", Tags=[{"Key": "group", "Value": tag}], Description=f"number {i}")
    pages = client.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "tag-value", "Values": [tag]}], PaginationConfig={"PageSize": 2}
    )
    seen, count = [], 0
    for page in pages:
        count += 1
        assert len(page["SecretList"]) <= 2
        seen += [s["Name"] for s in page["SecretList"]]
    assert seen == names and count == 3
    entry = client.list_secrets(Filters=[{"Key": "name", "Values": [names[0]]}])["SecretList"][0]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    desc = client.list_secrets(
        Filters=[{"Key": "tag-value", "Values": [tag]}, {"Key": "description", "Values": ["NUMBER 3"]}]
    )["SecretList"]
    assert [s["Name"] for s in desc] == [names[3]]
    negated = client.list_secrets(
        Filters=[{"Key": "tag-value", "Values": [tag]}, {"Key": "name", "Values": ["!" + names[0]]}], SortOrder="desc"
    )["SecretList"]
    assert [s["Name"] for s in negated] == list(reversed(names[1:]))


def test_batch_get_secret_value(client):
    a, b = unique(), unique()
    client.create_secret(Name=a, SecretString="A")
    client.create_secret(Name=b, SecretString="B")
    missing = unique("missing")
    r = client.batch_get_secret_value(SecretIdList=[a, missing, b])
    assert [(v["Name"], v["SecretString"]) for v in r["SecretValues"]] == [(a, "A"), (b, "B")]
    assert [(x["SecretId"], x["ErrorCode"]) for x in r["Errors"]] == [(missing, "ResourceNotFoundException")]


def test_get_random_password(client):
    pw = client.get_random_password()["RandomPassword"]
    assert len(pw) == 32
    pw = client.get_random_password(PasswordLength=64, ExcludePunctuation=True, ExcludeCharacters="abc")["RandomPassword"]
    assert len(pw) == 64 and pw.isalnum() and not set("abc") & set(pw)


def test_resource_policy(client):
    name = unique()
    arn = client.create_secret(Name=name)["ARN"]
    policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    assert client.put_resource_policy(SecretId=name, ResourcePolicy=policy, BlockPublicPolicy=True)["ARN"] == arn
    assert client.get_resource_policy(SecretId=name)["ResourcePolicy"] == policy
    public = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        client.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    assert error_of(e)[0] == "PublicPolicyException"
    assert client.validate_resource_policy(ResourcePolicy=public)["PolicyValidationPassed"] is False
    client.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in client.get_resource_policy(SecretId=name)


def test_lookup_by_partial_arn_and_region_isolation(server, client):
    name = unique()
    arn = client.create_secret(Name=name, SecretString="east")["ARN"]
    partial = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}"
    assert client.get_secret_value(SecretId=partial)["ARN"] == arn
    west = boto_client("secretsmanager", server, region="eu-west-1")
    with pytest.raises(ClientError) as e:
        west.get_secret_value(SecretId=name)
    assert error_of(e)[0] == "ResourceNotFoundException"
    assert west.create_secret(Name=name, SecretString="west")["ARN"].startswith(arn_prefix(name, "eu-west-1"))
    assert west.get_secret_value(SecretId=name)["SecretString"] == "west"
    assert client.get_secret_value(SecretId=name)["SecretString"] == "east"


def test_replication_across_regions(server, client):
    name = unique()
    arn = client.create_secret(Name=name, SecretString="v1")["ARN"]
    r = client.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "eu-central-1"}])
    assert r["ARN"] == arn
    assert [(s["Region"], s["Status"]) for s in r["ReplicationStatus"]] == [("eu-central-1", "InSync")]
    client.put_secret_value(SecretId=name, SecretString="v2")
    central = boto_client("secretsmanager", server, region="eu-central-1")
    got = central.get_secret_value(SecretId=name)
    assert got["SecretString"] == "v2" and got["ARN"] == arn.replace("us-east-1", "eu-central-1")
    assert central.describe_secret(SecretId=name)["PrimaryRegion"] == "us-east-1"
    with pytest.raises(ClientError) as e:
        central.put_secret_value(SecretId=name, SecretString="nope")
    assert error_of(e)[0] == "InvalidRequestException"
    promoted = central.stop_replication_to_replica(SecretId=name)
    assert promoted["ARN"] == got["ARN"]
    assert "ReplicationStatus" not in client.describe_secret(SecretId=name)
    r = client.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "ap-northeast-1"}])
    r = client.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=["ap-northeast-1"])
    assert r["ReplicationStatus"] == []


def test_rotation_without_a_function(client):
    name = unique()
    client.create_secret(Name=name, SecretString="v")
    with pytest.raises(ClientError) as e:
        client.rotate_secret(SecretId=name)
    assert error_of(e) == (
        "InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.", 400
    )
    with pytest.raises(ClientError) as e:
        client.cancel_rotate_secret(SecretId=name)
    assert error_of(e)[0] == "InvalidRequestException"


def test_builtin_rotation(client):
    name = unique()
    client.create_secret(Name=name, SecretString=json.dumps({"username": "app", "password": "old"}))
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:coffer-builtin-password-rotation"
    r = client.rotate_secret(SecretId=name, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30})
    value = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    assert value["username"] == "app" and len(value["password"]) == 32
    assert client.get_secret_value(SecretId=name)["VersionId"] == r["VersionId"]
    desc = client.describe_secret(SecretId=name)
    assert desc["RotationEnabled"] is True and desc["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert desc["NextRotationDate"] - desc["LastRotatedDate"] == datetime.timedelta(days=30)
    cancelled = client.cancel_rotate_secret(SecretId=name)
    assert cancelled["Name"] == name
    assert client.describe_secret(SecretId=name)["RotationEnabled"] is False


def test_reads_see_the_latest_write(client):
    """GetSecretValue is served from the store's cache (issue 3); every write on this node must be
    visible to the very next read."""
    name = unique()
    arn = client.create_secret(Name=name, SecretString="v0")["ARN"]
    assert client.get_secret_value(SecretId=name)["SecretString"] == "v0"
    for i in range(1, 8):
        client.put_secret_value(SecretId=arn, SecretString=f"v{i}")
        assert client.get_secret_value(SecretId=name)["SecretString"] == f"v{i}"
    pending = client.put_secret_value(SecretId=name, SecretString="p", VersionStages=["AWSPENDING"])["VersionId"]
    current = client.get_secret_value(SecretId=name)["VersionId"]
    client.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=pending,
                                       RemoveFromVersionId=current)
    assert client.get_secret_value(SecretId=name)["SecretString"] == "p"
    client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=name)
    assert error_of(e) == ("InvalidRequestException", MARKED, 400)
    client.restore_secret(SecretId=name)
    assert client.get_secret_value(SecretId=name)["SecretString"] == "p"
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=name)
    assert error_of(e) == ("ResourceNotFoundException", NOT_FOUND, 400)
    client.create_secret(Name=name, SecretString="reborn")
    assert client.get_secret_value(SecretId=name)["SecretString"] == "reborn"
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=arn)
    assert error_of(e) == ("ResourceNotFoundException", NOT_FOUND, 400)


# ---- raw JSON body shape ---------------------------------------------------------------------


def test_json_error_body_shape(sm):
    """The JSON 1.1 error body carries a bare `__type` and a capital `Message`."""
    captured = {}
    sm.meta.events.register(
        "before-parse.secrets-manager.GetSecretValue", lambda response_dict, **_: captured.update(response_dict)
    )
    with pytest.raises(ClientError):
        sm.get_secret_value(SecretId=unique("missing"))
    body = json.loads(captured["body"])
    assert body == {"__type": "ResourceNotFoundException", "Message": NOT_FOUND}


# ---- AWS CLI ---------------------------------------------------------------------------------


def cli(server, *args):
    out = subprocess.run(
        ["aws", "secretsmanager", *args, "--endpoint-url", server.url, "--output", "json"],
        capture_output=True, text=True, timeout=120, env=cli_env(server),
    )
    return out


def test_aws_cli_flow(server):
    name = unique("cli")
    out = cli(server, "create-secret", "--name", name, "--secret-string", '{"user":"u","password":"p"}')
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["ARN"].startswith(arn_prefix(name))
    out = cli(server, "get-secret-value", "--secret-id", name)
    assert out.returncode == 0, out.stderr
    assert json.loads(json.loads(out.stdout)["SecretString"]) == {"user": "u", "password": "p"}
    out = cli(server, "put-secret-value", "--secret-id", name, "--secret-binary", base64.b64encode(b"\x00\x01").decode())
    assert out.returncode == 0, out.stderr
    out = cli(server, "list-secrets", "--filters", f"Key=name,Values={name}")
    assert out.returncode == 0, out.stderr
    assert [s["Name"] for s in json.loads(out.stdout)["SecretList"]] == [name]
    out = cli(server, "delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    assert out.returncode == 0, out.stderr
    out = cli(server, "describe-secret", "--secret-id", name)
    assert out.returncode != 0
    assert "ResourceNotFoundException" in out.stderr and NOT_FOUND in out.stderr
