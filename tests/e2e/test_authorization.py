"""Issue 4, end to end: an IAM user's requests are decided by its policies, evaluated by the policy
engine, with AWS's AccessDenied wording on both protocols."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


@pytest.fixture
def user(server):
    """A fresh IAM user with an access key, and clients signing as that user."""
    iam = boto_client("iam", server)
    name = f"alice-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class User:
        arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"

        def __init__(self):
            self.name = name

        def client(self, service):
            return boto_client(service, server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])

    return User()


def denied(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response


def test_user_without_policy_is_denied(user):
    resp = denied(lambda: user.client("secretsmanager").list_secrets())
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: secretsmanager:ListSecrets "
        "because no identity-based policy allows the secretsmanager:ListSecrets action")
    resp = denied(lambda: user.client("iam").list_users())
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert resp["Error"]["Message"].startswith(f"User: {user.arn} is not authorized to perform: iam:ListUsers")
    # GetCallerIdentity needs no permission.
    assert user.client("sts").get_caller_identity()["Arn"] == user.arn


def test_inline_policy_allows_then_deny_wins(server, user):
    iam = boto_client("iam", server)
    iam.put_user_policy(UserName=user.name, PolicyName="read", PolicyDocument=policy(allow("secretsmanager:List*")))
    sm = user.client("secretsmanager")
    assert "SecretList" in sm.list_secrets()
    # Other actions stay denied.
    assert denied(lambda: sm.create_secret(Name="x", SecretString="y"))["Error"]["Code"] == "AccessDeniedException"
    iam.put_user_policy(UserName=user.name, PolicyName="no", PolicyDocument=policy(deny("secretsmanager:ListSecrets")))
    resp = denied(lambda: sm.list_secrets())
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: secretsmanager:ListSecrets "
        "with an explicit deny in an identity-based policy")
    iam.delete_user_policy(UserName=user.name, PolicyName="no")
    assert "SecretList" in sm.list_secrets()


def test_group_managed_policy_and_boundary(server, user):
    iam = boto_client("iam", server)
    arn = iam.create_policy(PolicyName=f"sm-all-{uuid.uuid4().hex[:6]}",
                            PolicyDocument=policy(allow("secretsmanager:*")))["Policy"]["Arn"]
    group = f"readers-{uuid.uuid4().hex[:6]}"
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.add_user_to_group(GroupName=group, UserName=user.name)
    sm = user.client("secretsmanager")
    assert "SecretList" in sm.list_secrets()
    # A permissions boundary limits what the group's policy grants.
    boundary = iam.create_policy(PolicyName=f"boundary-{uuid.uuid4().hex[:6]}",
                                 PolicyDocument=policy(allow("secretsmanager:Describe*")))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=boundary)
    resp = denied(lambda: sm.list_secrets())
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: secretsmanager:ListSecrets "
        "because no permissions boundary allows the secretsmanager:ListSecrets action")


def test_source_ip_condition(server, user):
    iam = boto_client("iam", server)
    iam.put_user_policy(UserName=user.name, PolicyName="ip", PolicyDocument=policy(
        allow("secretsmanager:ListSecrets", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    sm = user.client("secretsmanager")
    assert denied(lambda: sm.list_secrets())["Error"]["Code"] == "AccessDeniedException"
    iam.put_user_policy(UserName=user.name, PolicyName="ip", PolicyDocument=policy(
        allow("secretsmanager:ListSecrets", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})))
    assert "SecretList" in sm.list_secrets()


def test_disabled_and_deleted_user_keys(server, user):
    iam = boto_client("iam", server)
    key_id = iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"][0]["AccessKeyId"]
    sts = user.client("sts")
    assert sts.get_caller_identity()["Arn"] == user.arn
    iam.update_access_key(UserName=user.name, AccessKeyId=key_id, Status="Inactive")
    assert denied(lambda: sts.get_caller_identity())["Error"]["Code"] == "InvalidClientTokenId"
    assert denied(lambda: user.client("secretsmanager").list_secrets())["Error"]["Code"] == "UnrecognizedClientException"
    iam.update_access_key(UserName=user.name, AccessKeyId=key_id, Status="Active")
    assert sts.get_caller_identity()["Arn"] == user.arn
    iam.delete_access_key(UserName=user.name, AccessKeyId=key_id)
    assert denied(lambda: sts.get_caller_identity())["Error"]["Code"] == "InvalidClientTokenId"


def test_resource_level_policies_on_secrets(server, user):
    sm_root = boto_client("secretsmanager", server)
    tag = uuid.uuid4().hex[:6]
    a = sm_root.create_secret(Name=f"team/a-{tag}", SecretString="value-a")["ARN"]
    b = sm_root.create_secret(Name=f"team/b-{tag}", SecretString="value-b")["ARN"]
    region_acct = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret"
    iam = boto_client("iam", server)
    iam.put_user_policy(UserName=user.name, PolicyName="a-only", PolicyDocument=policy(
        allow("secretsmanager:GetSecretValue", f"{region_acct}:team/a-{tag}-??????")))
    sm = user.client("secretsmanager")
    assert sm.get_secret_value(SecretId=f"team/a-{tag}")["SecretString"] == "value-a"
    assert sm.get_secret_value(SecretId=a)["SecretString"] == "value-a"
    resp = denied(lambda: sm.get_secret_value(SecretId=f"team/b-{tag}"))
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: {b} "
        "because no identity-based policy allows the secretsmanager:GetSecretValue action")
    # Allow everything, deny one secret: the deny wins for that secret only.
    iam.put_user_policy(UserName=user.name, PolicyName="a-only", PolicyDocument=policy(
        allow("secretsmanager:*"), deny("secretsmanager:GetSecretValue", f"{region_acct}:team/b-*")))
    assert sm.get_secret_value(SecretId=a)["SecretString"] == "value-a"
    resp = denied(lambda: sm.get_secret_value(SecretId=b))
    assert resp["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")
    # Over the Query protocol the denial is AccessDenied (403).
    resp = denied(lambda: user.client("iam").get_user(UserName=user.name))
    assert (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert f"on resource: arn:aws:iam::{ACCOUNT}:user/{user.name}" in resp["Error"]["Message"]


def test_resource_policy_deny_and_resource_tag_condition(server, user):
    sm_root = boto_client("secretsmanager", server)
    tag = uuid.uuid4().hex[:6]
    arn = sm_root.create_secret(Name=f"tagged-{tag}", SecretString="v", Tags=[{"Key": "team", "Value": "blue"}])["ARN"]
    iam = boto_client("iam", server)
    iam.put_user_policy(UserName=user.name, PolicyName="by-tag", PolicyDocument=policy(allow(
        "secretsmanager:GetSecretValue",
        Condition={"StringEquals": {"secretsmanager:ResourceTag/team": "blue"}})))
    sm = user.client("secretsmanager")
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    sm_root.tag_resource(SecretId=arn, Tags=[{"Key": "team", "Value": "red"}])
    assert denied(lambda: sm.get_secret_value(SecretId=arn))["Error"]["Code"] == "AccessDeniedException"
    sm_root.tag_resource(SecretId=arn, Tags=[{"Key": "team", "Value": "blue"}])
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    # A resource policy's explicit deny overrides the identity policy's allow, even for the root.
    sm_root.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue",
                       "Resource": "*"}]}))
    resp = denied(lambda: sm.get_secret_value(SecretId=arn))
    assert resp["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")
    assert denied(lambda: sm_root.get_secret_value(SecretId=arn))["Error"]["Code"] == "AccessDeniedException"
    sm_root.delete_resource_policy(SecretId=arn)
    assert sm_root.get_secret_value(SecretId=arn)["SecretString"] == "v"


def test_access_key_last_used_is_tracked(server, user):
    import time
    iam = boto_client("iam", server)
    key_id = iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"][0]["AccessKeyId"]
    assert iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    user.client("sts").get_caller_identity()
    deadline = time.time() + 10
    while True:
        last = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
        if last["ServiceName"] != "N/A":
            break
        assert time.time() < deadline, "the key's use was never recorded"
        time.sleep(0.05)
    assert (last["ServiceName"], last["Region"]) == ("sts", "us-east-1")
    assert "LastUsedDate" in last


def test_batch_get_needs_get_secret_value_on_each_secret(server, user):
    sm_root = boto_client("secretsmanager", server)
    tag = uuid.uuid4().hex[:8]
    mine = sm_root.create_secret(Name=f"batch-{tag}/mine", SecretString="readable")["ARN"]
    other = sm_root.create_secret(Name=f"batch-{tag}/other", SecretString="not-for-alice")["ARN"]
    iam = boto_client("iam", server)
    iam.put_user_policy(UserName=user.name, PolicyName="batch", PolicyDocument=policy(
        allow("secretsmanager:BatchGetSecretValue"),
        allow("secretsmanager:GetSecretValue", mine)))
    sm = user.client("secretsmanager")
    out = sm.batch_get_secret_value(SecretIdList=[mine, other])
    assert [v["SecretString"] for v in out["SecretValues"]] == ["readable"]
    assert out["Errors"] == [{
        "SecretId": other, "ErrorCode": "AccessDeniedException",
        "Message": (f"User: {user.arn} is not authorized to perform: secretsmanager:GetSecretValue on "
                    f"resource: {other} because no identity-based policy allows the "
                    "secretsmanager:GetSecretValue action")}]
    assert "not-for-alice" not in json.dumps(out, default=str)
    # Filters also need ListSecrets.
    resp = denied(lambda: sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"batch-{tag}"]}]))
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert "secretsmanager:ListSecrets" in resp["Error"]["Message"]
    iam.put_user_policy(UserName=user.name, PolicyName="list", PolicyDocument=policy(
        allow("secretsmanager:ListSecrets")))
    out = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"batch-{tag}"]}])
    assert [v["ARN"] for v in out["SecretValues"]] == [mine]
    assert [e["SecretId"] for e in out["Errors"]] == [other]


def test_bedrock_api_key_condition_keys(server, user):
    """iam:ServiceSpecificCredentialServiceName and iam:ServiceSpecificCredentialAgeDays: a user
    may make only Bedrock API keys that expire within 90 days."""
    iam = boto_client("iam", server)
    iam.put_user_policy(UserName=user.name, PolicyName="bedrock-keys", PolicyDocument=policy(allow(
        "iam:CreateServiceSpecificCredential", user.arn, Condition={
            "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
            "NumericLessThanEquals": {"iam:ServiceSpecificCredentialAgeDays": "90"}})))
    own = user.client("iam")
    made = own.create_service_specific_credential(UserName=user.name, ServiceName="bedrock.amazonaws.com",
                                                  CredentialAgeDays=90)["ServiceSpecificCredential"]
    assert made["ServiceCredentialSecret"].startswith("ABSK")
    for kwargs in [{"ServiceName": "bedrock.amazonaws.com", "CredentialAgeDays": 91},
                   {"ServiceName": "bedrock.amazonaws.com"},  # no expiry: the key is absent
                   {"ServiceName": "codecommit.amazonaws.com"}]:
        resp = denied(lambda: own.create_service_specific_credential(UserName=user.name, **kwargs))
        assert (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    iam.delete_service_specific_credential(UserName=user.name,
                                           ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"])
