"""IAM requests are authorized against the resources and condition keys AWS documents: the entity's
ARN with its path, the caller itself when `UserName` is omitted, the listed path for List*, and
`iam:PolicyARN`, `iam:PermissionsBoundary`, `aws:RequestTag`, `aws:TagKeys`, `iam:ResourceTag`."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def denied(call):
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    return e.value.response["Error"]["Message"]


def new_user(server, path="/", statements=()):
    iam = boto_client("iam", server)
    name = f"u-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name, Path=path)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = boto_client("iam", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    return name, f"arn:aws:iam::{ACCOUNT}:user{path}{name}", client


def test_self_service_policy_with_username_variable(server):
    name, arn, iam = new_user(server, path="/staff/", statements=[
        allow(["iam:GetUser", "iam:ListAccessKeys"], "arn:aws:iam::*:user/*/${aws:username}"),
    ])
    # No UserName: the caller itself, with its path, is the resource.
    assert iam.get_user()["User"]["Arn"] == arn
    assert iam.list_access_keys()["AccessKeyMetadata"][0]["UserName"] == name
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    other, other_arn, _ = new_user(server, path="/staff/")
    message = denied(lambda: iam.get_user(UserName=other))
    assert message == (f"User: {arn} is not authorized to perform: iam:GetUser on resource: {other_arn} "
                       "because no identity-based policy allows the iam:GetUser action")


def test_list_users_is_authorized_against_the_listed_path(server):
    _, arn, iam = new_user(server, statements=[allow("iam:ListUsers", f"arn:aws:iam::{ACCOUNT}:user/team/*")])
    iam.list_users(PathPrefix="/team/a/")
    message = denied(lambda: iam.list_users())
    assert message == (f"User: {arn} is not authorized to perform: iam:ListUsers on resource: "
                       f"arn:aws:iam::{ACCOUNT}:user/ because no identity-based policy allows the "
                       "iam:ListUsers action")


def test_policy_arn_condition_limits_what_may_be_attached(server):
    admin = boto_client("iam", server)
    target = f"t-{uuid.uuid4().hex[:8]}"
    admin.create_user(UserName=target)
    allowed = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    _, _, iam = new_user(server, statements=[allow(
        ["iam:AttachUserPolicy", "iam:DetachUserPolicy"], f"arn:aws:iam::{ACCOUNT}:user/*",
        Condition={"ArnEquals": {"iam:PolicyARN": allowed}})])
    iam.attach_user_policy(UserName=target, PolicyArn=allowed)
    denied(lambda: iam.attach_user_policy(UserName=target, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"))
    iam.detach_user_policy(UserName=target, PolicyArn=allowed)


def test_request_tags_and_permissions_boundary_conditions(server):
    admin = boto_client("iam", server)
    boundary = admin.create_policy(
        PolicyName=f"b-{uuid.uuid4().hex[:8]}",
        PolicyDocument=policy(allow("secretsmanager:GetSecretValue")))["Policy"]["Arn"]
    _, _, iam = new_user(server, statements=[
        allow("iam:CreateUser", "*", Condition={
            "StringEquals": {"aws:RequestTag/team": "blue", "iam:PermissionsBoundary": boundary},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
        }),
        allow("iam:TagUser", "*", Condition={"StringEquals": {"iam:ResourceTag/team": "blue"}}),
    ])
    ok = f"n-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=ok, Tags=[{"Key": "team", "Value": "blue"}], PermissionsBoundary=boundary)
    # Wrong tag value, an extra tag key, no boundary: each denied.
    denied(lambda: iam.create_user(UserName=f"n-{uuid.uuid4().hex[:8]}",
                                   Tags=[{"Key": "team", "Value": "red"}], PermissionsBoundary=boundary))
    denied(lambda: iam.create_user(UserName=f"n-{uuid.uuid4().hex[:8]}",
                                   Tags=[{"Key": "team", "Value": "blue"}, {"Key": "x", "Value": "y"}],
                                   PermissionsBoundary=boundary))
    denied(lambda: iam.create_user(UserName=f"n-{uuid.uuid4().hex[:8]}", Tags=[{"Key": "team", "Value": "blue"}]))
    # The created user carries the tag, so tagging it is allowed; an untagged user is not.
    iam.tag_user(UserName=ok, Tags=[{"Key": "more", "Value": "1"}])
    plain = f"p-{uuid.uuid4().hex[:8]}"
    admin.create_user(UserName=plain)
    denied(lambda: iam.tag_user(UserName=plain, Tags=[{"Key": "more", "Value": "1"}]))


def test_simulate_principal_policy_is_authorized_against_the_principal(server):
    name, arn, iam = new_user(server, statements=[
        allow("iam:SimulatePrincipalPolicy", "arn:aws:iam::*:user/${aws:username}")])
    result = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:SimulatePrincipalPolicy"],
                                           ResourceArns=[arn],
                                           ContextEntries=[{"ContextKeyName": "aws:username",
                                                            "ContextKeyValues": [name],
                                                            "ContextKeyType": "string"}])
    assert result["EvaluationResults"][0]["EvalDecision"] == "allowed"
    _, other_arn, _ = new_user(server)
    message = denied(lambda: iam.simulate_principal_policy(PolicySourceArn=other_arn, ActionNames=["iam:GetUser"]))
    assert f"on resource: {other_arn}" in message
