"""Issue 12: every AWS managed policy (`arn:aws:iam::aws:policy/…`) with its real document, path and
version, listed, read, attached and enforced like any other policy; and service-linked roles made
as AWS makes them. Driven by the AWS CLI and boto3 against the real binary."""
import gzip
import json
import pathlib
import subprocess
import urllib.parse
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REPO, boto_client, cli_env
from test_iam import raw_iam

DATA = REPO / "data" / "aws"


def snapshot():
    """The AWS managed policies of the data file, by name (the lines exactly as stored)."""
    with gzip.open(DATA / "aws-managed-policies.jsonl.gz", "rb") as f:
        lines = [line for line in f.read().split(b"\n") if line]
    supplement = (DATA / "aws-managed-policies-supplement.jsonl").read_bytes().split(b"\n")
    out = {}
    for line in lines + [line for line in supplement if line]:
        policy = json.loads(line)
        out[policy["PolicyName"]] = policy
    return out


POLICIES = snapshot()
SERVICE_LINKED_ROLES = json.loads((DATA / "service-linked-roles.json").read_text())["roles"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Message")


def aws_cli(server, *args):
    out = subprocess.run(
        ["aws", *args, "--endpoint-url", server.url, "--output", "json"],
        env=cli_env(server), capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def iam(server):
    return boto_client("iam", server)


@pytest.fixture
def make_user(server, iam):
    """Creates IAM users with access keys; returns (name, client factory)."""
    made = []

    def make(*policy_arns, boundary=None):
        name = unique("managed")
        iam.create_user(UserName=name, **({"PermissionsBoundary": boundary} if boundary else {}))
        for arn in policy_arns:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        made.append((name, key["AccessKeyId"], policy_arns, boundary))

        def client(service):
            return boto_client(service, server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])

        return name, client

    yield make
    for name, key_id, policy_arns, boundary in made:
        iam.delete_access_key(UserName=name, AccessKeyId=key_id)
        for arn in policy_arns:
            iam.detach_user_policy(UserName=name, PolicyArn=arn)
        if boundary:
            iam.delete_user_permissions_boundary(UserName=name)
        iam.delete_user(UserName=name)


def denied(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def test_the_cli_pages_through_every_aws_managed_policy(server):
    listed = aws_cli(server, "iam", "list-policies", "--scope", "AWS", "--page-size", "100")["Policies"]
    # The 1,566 policies of the iam-dataset snapshot, and the three it lacks
    # (data/aws/aws-managed-policies-supplement.jsonl): AdministratorAccess, PowerUserAccess and
    # AmazonLexBotPolicy.
    assert len(listed) == len(POLICIES) == 1569
    by_name = {p["PolicyName"]: p for p in listed}
    assert set(by_name) == set(POLICIES)
    for name, data in POLICIES.items():
        p = by_name[name]
        assert (p["Arn"], p["Path"], p["DefaultVersionId"]) == (data["Arn"], data["Path"], data["DefaultVersionId"])
        assert p["IsAttachable"] is True and p["PolicyId"].startswith("ANPA")
    paths = {}
    for p in listed:
        paths[p["Path"]] = paths.get(p["Path"], 0) + 1
    assert paths == {"/": 970, "/service-role/": 226, "/aws-service-role/": 357, "/job-function/": 11,
                     "/root-task/": 5}

    job_functions = aws_cli(server, "iam", "list-policies", "--scope", "AWS", "--path-prefix", "/job-function/")
    assert sorted(p["PolicyName"] for p in job_functions["Policies"]) == sorted(
        n for n, d in POLICIES.items() if d["Path"] == "/job-function/")
    # Customer managed policies are not in the AWS scope, and the local scope has no AWS policy.
    local = aws_cli(server, "iam", "list-policies", "--scope", "Local")["Policies"]
    assert not any(p["Arn"].startswith("arn:aws:iam::aws:") for p in local)


def test_pages_resume_where_the_marker_says(iam):
    first = iam.list_policies(Scope="AWS", MaxItems=7)
    assert first["IsTruncated"] is True and len(first["Policies"]) == 7
    second = iam.list_policies(Scope="AWS", MaxItems=7, Marker=first["Marker"])
    names = [p["PolicyName"] for p in first["Policies"] + second["Policies"]]
    assert len(set(names)) == 14
    assert names == sorted(names, key=str.lower)


def test_get_policy_and_version_answer_the_data(iam, server):
    data = POLICIES["AWSLambdaExecute"]
    policy = iam.get_policy(PolicyArn=data["Arn"])["Policy"]
    assert policy["PolicyName"] == "AWSLambdaExecute" and policy["Path"] == "/"
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] >= 0
    assert policy["CreateDate"].isoformat() == "2015-02-06T18:40:46+00:00"

    version = iam.get_policy_version(PolicyArn=data["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == data["Document"] and version["IsDefaultVersion"] is True
    # On the wire: the document exactly as the data holds it, URL-encoded as IAM sends documents.
    raw = raw_iam(server, {"Action": "GetPolicyVersion", "PolicyArn": data["Arn"], "VersionId": "v1"})
    assert raw.status_code == 200
    stored = json.dumps(data["Document"], separators=(",", ":"))
    assert f"<Document>{urllib.parse.quote(stored, safe='-_.~')}</Document>" in raw.text

    # A large one, in a path: ReadOnlyAccess is some 90 KB.
    read_only = POLICIES["ReadOnlyAccess"]
    version = iam.get_policy_version(PolicyArn=read_only["Arn"], VersionId=read_only["DefaultVersionId"])
    assert version["PolicyVersion"]["Document"] == read_only["Document"]
    role_policy = POLICIES["AWSLambdaBasicExecutionRole"]
    assert role_policy["Arn"] == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert iam.get_policy(PolicyArn=role_policy["Arn"])["Policy"]["Path"] == "/service-role/"

    # Only the default version is served.
    versions = iam.list_policy_versions(PolicyArn=read_only["Arn"])["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [(read_only["DefaultVersionId"], True)]
    with pytest.raises(ClientError) as e:
        iam.get_policy_version(PolicyArn=read_only["Arn"], VersionId="v1")
    assert error_of(e) == (404, "NoSuchEntity", f"Policy {read_only['Arn']} version v1 does not exist.")
    # The path is part of the ARN.
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole")
    assert error_of(e) == (404, "NoSuchEntity",
                           "Policy arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole was not found.")
    # AWS's policies are AWS's: no changes.
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=data["Arn"], PolicyDocument=json.dumps(data["Document"]))
    assert error_of(e)[:2] == (403, "AccessDenied")


def test_read_only_access_reads_and_does_not_write(server, iam, make_user):
    secrets = boto_client("secretsmanager", server)
    secret = secrets.create_secret(Name=unique("managed-ro"), SecretString="s3cret")["ARN"]
    read_only = POLICIES["ReadOnlyAccess"]["Arn"]
    name, client = make_user(read_only)

    sm, user_iam = client("secretsmanager"), client("iam")
    assert "SecretList" in sm.list_secrets()
    assert sm.describe_secret(SecretId=secret)["ARN"] == secret
    assert user_iam.get_user(UserName=name)["User"]["UserName"] == name
    assert name in [u["UserName"] for u in user_iam.list_users(MaxItems=1000)["Users"]]
    assert user_iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": read_only}]
    assert client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"

    # ReadOnlyAccess does not grant reading secret values, nor any write.
    assert denied(lambda: sm.get_secret_value(SecretId=secret)) == "AccessDeniedException"
    assert denied(lambda: sm.create_secret(Name=unique("no"), SecretString="x")) == "AccessDeniedException"
    assert denied(lambda: sm.put_secret_value(SecretId=secret, SecretString="y")) == "AccessDeniedException"
    assert denied(lambda: user_iam.create_user(UserName=unique("no"))) == "AccessDenied"
    assert denied(lambda: user_iam.detach_user_policy(UserName=name, PolicyArn=read_only)) == "AccessDenied"

    assert iam.get_policy(PolicyArn=read_only)["Policy"]["AttachmentCount"] >= 1
    entities = iam.list_entities_for_policy(PolicyArn=read_only)
    assert name in [u["UserName"] for u in entities["PolicyUsers"]]
    secrets.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)


def test_aws_lambda_execute_allows_what_it_says_and_nothing_more(server, iam, make_user):
    arn = POLICIES["AWSLambdaExecute"]["Arn"]
    name, client = make_user(arn)
    # logs:* and s3:GetObject/PutObject: none of them a Coffer action, so every request is denied.
    assert denied(lambda: client("secretsmanager").list_secrets()) == "AccessDeniedException"
    assert denied(lambda: client("iam").get_user(UserName=name)) == "AccessDenied"

    # The simulator evaluates the same compiled policy.
    results = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        ActionNames=["logs:CreateLogGroup", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                     "secretsmanager:ListSecrets"],
        ResourceArns=["arn:aws:s3:::bucket/key"],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {"logs:CreateLogGroup": "implicitDeny", "s3:GetObject": "allowed",
                         "s3:PutObject": "allowed", "s3:DeleteObject": "implicitDeny",
                         "secretsmanager:ListSecrets": "implicitDeny"}
    logs = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{name}", ActionNames=["logs:CreateLogGroup"],
        ResourceArns=["arn:aws:logs:us-east-1:123456789012:log-group:app"],
    )["EvaluationResults"][0]
    assert logs["EvalDecision"] == "allowed"
    assert logs["MatchedStatements"][0]["SourcePolicyId"] == "AWSLambdaExecute"
    assert logs["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"


def test_an_aws_managed_policy_as_permissions_boundary(server, iam, make_user):
    admin = POLICIES["AdministratorAccess"]["Arn"]
    read_only = POLICIES["ReadOnlyAccess"]["Arn"]
    name, client = make_user(admin, boundary=read_only)
    sm = client("secretsmanager")
    assert "SecretList" in sm.list_secrets()
    assert denied(lambda: sm.create_secret(Name=unique("no"), SecretString="x")) == "AccessDeniedException"
    boundaries = iam.list_policies(Scope="AWS", PolicyUsageFilter="PermissionsBoundary", MaxItems=1000)["Policies"]
    assert read_only in [p["Arn"] for p in boundaries]
    assert iam.get_policy(PolicyArn=read_only)["Policy"]["PermissionsBoundaryUsageCount"] >= 1
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True, MaxItems=1000)["Policies"]
    assert {admin, read_only} <= {p["Arn"] for p in attached}
    assert len(attached) < len(POLICIES)


def test_attach_to_groups_and_roles_and_list_entities(iam):
    arn = POLICIES["ViewOnlyAccess"]["Arn"]
    assert arn == "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    group, role = unique("viewers"), unique("viewer")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    before = iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"]
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == before + 2
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert group in [g["GroupName"] for g in entities["PolicyGroups"]]
    assert role in [r["RoleName"] for r in entities["PolicyRoles"]]
    details = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    view_only = next(p for p in details if p["Arn"] == arn)
    assert view_only["PolicyVersionList"][0]["Document"] == POLICIES["ViewOnlyAccess"]["Document"]
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == before
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)


@pytest.mark.parametrize("template", SERVICE_LINKED_ROLES, ids=lambda t: t["service"])
def test_every_catalogued_service_linked_role_is_made_as_aws_makes_it(iam, template):
    service = template["service"]
    created = iam.create_service_linked_role(AWSServiceName=service)["Role"]
    name = template["role_name"]
    assert created["RoleName"] == name
    assert created["Path"] == f"/aws-service-role/{service}/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}"
    assert created.get("Description") == template.get("description")
    role = iam.get_role(RoleName=name)["Role"]
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    assert role["MaxSessionDuration"] == 3600
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": p, "PolicyArn": f"arn:aws:iam::aws:policy/aws-service-role/{p}"}
                        for p in template["policies"]]
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName=service)
    assert error_of(e) == (400, "InvalidInput",
                           f"Service role name {name} has been taken in this account, please try a different suffix.")
    if not template["custom_suffix"]:
        with pytest.raises(ClientError) as e:
            iam.create_service_linked_role(AWSServiceName=service, CustomSuffix="debug")
        assert error_of(e) == (400, "InvalidInput", f"Custom suffix is not allowed for {service}")
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/{service}/{name}/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"


def test_service_linked_roles_carry_their_policies_until_deleted(iam):
    suffix = uuid.uuid4().hex[:8]
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix,
                                          Description="for tests")["Role"]
    name = f"AWSServiceRoleForAutoScaling_{suffix}"
    assert role["RoleName"] == name and role["Description"] == "for tests"
    policy = "arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy"
    entities = iam.list_entities_for_policy(PolicyArn=policy)["PolicyRoles"]
    assert name in [r["RoleName"] for r in entities]
    # The service owns the role: its policies cannot be detached by the account.
    with pytest.raises(ClientError) as e:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy)
    assert error_of(e) == (400, "UnmodifiableEntity",
                           f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS")
    iam.delete_service_linked_role(RoleName=name)
    entities = iam.list_entities_for_policy(PolicyArn=policy)["PolicyRoles"]
    assert name not in [r["RoleName"] for r in entities]


def test_unknown_services_have_no_service_linked_role(iam):
    for service in ["not-a-service.example.com", "ECS.amazonaws.com", "nothing.amazonaws.com"]:
        with pytest.raises(ClientError) as e:
            iam.create_service_linked_role(AWSServiceName=service)
        assert error_of(e) == (403, "AccessDenied", f"Cannot find Service Linked Role template for {service}")


def test_managed_policies_grant_creating_a_service_linked_role_by_its_name(iam, make_user):
    # AWSLambda_FullAccess allows iam:CreateServiceLinkedRole on
    # role/aws-service-role/lambda.amazonaws.com/AWSServiceRoleForLambda only: the request is
    # authorized against the role AWS would make.
    name, client = make_user(POLICIES["AWSLambda_FullAccess"]["Arn"])
    as_user = client("iam")
    role = as_user.create_service_linked_role(AWSServiceName="lambda.amazonaws.com")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/lambda.amazonaws.com/AWSServiceRoleForLambda"
    with pytest.raises(ClientError) as e:
        as_user.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    assert error_of(e)[:2] == (403, "AccessDenied")
    assert (f"iam:CreateServiceLinkedRole on resource: arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
            "ecs.amazonaws.com/AWSServiceRoleForECS because") in error_of(e)[2]
    iam.delete_service_linked_role(RoleName="AWSServiceRoleForLambda")
