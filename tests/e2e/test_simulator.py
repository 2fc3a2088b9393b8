"""Issue 4: IAM's policy simulator (SimulateCustomPolicy, SimulatePrincipalPolicy,
GetContextKeysForCustomPolicy, GetContextKeysForPrincipalPolicy), answered by the enforcing engine
and driven by the AWS CLI and boto3 against the real binary. Expected answers come from the
examples in the AWS CLI reference and the IAM API reference."""
import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client, cli_env

OTHER_ACCOUNT = "444455556666"

DATE_POLICY = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
    '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run_cli(server, *args):
    out = subprocess.run(
        ["aws", *args, "--endpoint-url", server.url, "--output", "json"],
        env=cli_env(server), capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def cli_error(server, *args):
    out = subprocess.run(
        ["aws", *args, "--endpoint-url", server.url, "--output", "json"],
        env=cli_env(server), capture_output=True, text=True, timeout=120,
    )
    assert out.returncode != 0, out.stdout
    return out.stderr


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Message")


@pytest.fixture(scope="module")
def iam(server):
    return boto_client("iam", server)


def doc(statement, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": statement})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def results(response):
    return response["EvaluationResults"]


# --- The AWS CLI reference examples ------------------------------------------------------------


def test_cli_simulate_custom_policy_example_1_allowed(server):
    out = run_cli(
        server, "iam", "simulate-custom-policy",
        "--policy-input-list", DATE_POLICY,
        "--action-names", "dynamodb:CreateBackup",
        "--context-entries",
        "ContextKeyName='aws:CurrentTime',ContextKeyValues='2019-04-25T11:00:00Z',ContextKeyType=date",
    )
    assert out == {
        "EvaluationResults": [
            {
                "EvalActionName": "dynamodb:CreateBackup",
                "EvalResourceName": "*",
                "EvalDecision": "allowed",
                "MatchedStatements": [
                    {
                        "SourcePolicyId": "PolicyInputList.1",
                        "StartPosition": {"Line": 1, "Column": 38},
                        "EndPosition": {"Line": 1, "Column": 167},
                    }
                ],
                "MissingContextValues": [],
            }
        ]
    }


def test_cli_simulate_custom_policy_example_2_denied(server):
    out = run_cli(
        server, "iam", "simulate-custom-policy",
        "--policy-input-list", DATE_POLICY,
        "--action-names", "dynamodb:CreateBackup",
        "--context-entries",
        "ContextKeyName='aws:CurrentTime',ContextKeyValues='2014-04-25T11:00:00Z',ContextKeyType=date",
    )
    assert out == {
        "EvaluationResults": [
            {
                "EvalActionName": "dynamodb:CreateBackup",
                "EvalResourceName": "*",
                "EvalDecision": "implicitDeny",
                "MatchedStatements": [],
                "MissingContextValues": [],
            }
        ]
    }


# The policy of the `simulate-principal-policy` examples, laid out so that its statement sits
# where AWS's answer says (line 3 column 19 to line 9 column 10).
CODECOMMIT_POLICY = """{
    "Version": "2012-10-17",
    "Statement": {
            "Effect": "Allow",
            "Action": [
                "codecommit:ListRepositories"
            ],
            "Resource": "*"
        }
}"""


def test_cli_simulate_principal_policy_examples(server, iam):
    user = unique("alejandro")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="Grant-Access-To-CodeCommit-ListRepo",
                        PolicyDocument=CODECOMMIT_POLICY)
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"

    out = run_cli(server, "iam", "simulate-principal-policy", "--policy-source-arn", arn,
                  "--action-names", "codecommit:ListRepositories")
    [result] = out["EvaluationResults"]
    [matched] = result.pop("MatchedStatements")
    assert result == {
        "EvalActionName": "codecommit:ListRepositories",
        "EvalResourceName": "*",
        "EvalDecision": "allowed",
        "MissingContextValues": [],
    }
    assert matched == {
        "SourcePolicyId": "Grant-Access-To-CodeCommit-ListRepo",
        "SourcePolicyType": "user",
        "StartPosition": {"Line": 3, "Column": 19},
        "EndPosition": {"Line": 9, "Column": 10},
    }

    # Example 2: the user's policy allows DynamoDB only after a date; the simulated time is
    # earlier.
    iam.put_user_policy(UserName=user, PolicyName="dynamodb-after-date", PolicyDocument=DATE_POLICY)
    out = run_cli(
        server, "iam", "simulate-principal-policy", "--policy-source-arn", arn,
        "--action-names", "dynamodb:CreateBackup",
        "--context-entries",
        "ContextKeyName='aws:CurrentTime',ContextKeyValues='2018-04-25T11:00:00Z',ContextKeyType=date",
    )
    assert out == {
        "EvaluationResults": [
            {
                "EvalActionName": "dynamodb:CreateBackup",
                "EvalResourceName": "*",
                "EvalDecision": "implicitDeny",
                "MatchedStatements": [],
                "MissingContextValues": [],
            }
        ]
    }


def test_cli_get_context_keys_for_custom_policy_example(server):
    policy = (
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
        '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
        '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}'
    )
    out = run_cli(server, "iam", "get-context-keys-for-custom-policy", "--policy-input-list", policy)
    assert out == {"ContextKeyNames": ["aws:username", "aws:CurrentTime"]}


def test_cli_errors_are_aws_errors(server):
    err = cli_error(server, "iam", "simulate-principal-policy",
                    "--policy-source-arn", f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}",
                    "--action-names", "s3:GetObject")
    assert "(NoSuchEntity)" in err and "cannot be found" in err
    err = cli_error(server, "iam", "simulate-custom-policy", "--policy-input-list", "{not json",
                    "--action-names", "s3:GetObject")
    assert "(InvalidInput)" in err and "Syntax errors in policy." in err


# --- The IAM API reference examples (SimulatePrincipalPolicy) -----------------------------------


def test_api_example_1_user_with_managed_policy_and_input_policy(iam):
    user = unique("Jill")
    iam.create_user(UserName=user)
    read_only = iam.create_policy(
        PolicyName=unique("S3ReadOnly"),
        PolicyDocument=doc([allow(["s3:Get*", "s3:List*"])]),
    )["Policy"]
    iam.attach_user_policy(UserName=user, PolicyArn=read_only["Arn"])
    extra = ('{\n  "Version":"2012-10-17",\n  "Statement":{\n    "Effect":"Allow",\n'
             '    "Action":"s3:PutObject",\n    "Resource":"arn:aws:s3:::my-test-bucket"\n  }\n}')
    r = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{user}",
        ActionNames=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        ResourceArns=["arn:aws:s3:::my-test-bucket"],
        PolicyInputList=[extra],
    )
    assert r["IsTruncated"] is False
    put, get, delete = results(r)
    assert [x["EvalActionName"] for x in (put, get, delete)] == ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    assert [x["EvalDecision"] for x in (put, get, delete)] == ["allowed", "allowed", "implicitDeny"]
    for x in (put, get, delete):
        assert x["EvalResourceName"] == "arn:aws:s3:::my-test-bucket"
        assert x["EvalDecisionDetails"] == {}
        [rsr] = x["ResourceSpecificResults"]
        assert rsr["EvalResourceName"] == "arn:aws:s3:::my-test-bucket"
        assert rsr["EvalResourceDecision"] == x["EvalDecision"]
        assert rsr["MatchedStatements"] == x["MatchedStatements"]
    assert put["MatchedStatements"] == [{
        "SourcePolicyId": "PolicyInputList.1",
        "StartPosition": {"Line": 3, "Column": 16},
        "EndPosition": {"Line": 7, "Column": 4},
    }]
    [m] = get["MatchedStatements"]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == (read_only["PolicyName"], "user-managed")
    assert delete["MatchedStatements"] == []


def test_api_example_2_same_account_with_boundary(iam):
    user = unique("mateo")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="AdminUser", PolicyDocument=doc(allow("iam:GetRole")))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/pol-sim-test"
    source = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    r = iam.simulate_principal_policy(
        PolicySourceArn=source, ActionNames=["iam:GetRole"], ResourceArns=[role_arn],
        PermissionsBoundaryPolicyInputList=[doc(allow(["iam:*", "s3:*"]))],
    )
    [x] = results(r)
    assert x["EvalDecision"] == "allowed"
    assert x["EvalDecisionDetails"] == {}
    assert x["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert [m["SourcePolicyId"] for m in x["MatchedStatements"]] == ["AdminUser"]
    [rsr] = x["ResourceSpecificResults"]
    assert rsr["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert rsr["EvalResourceDecision"] == "allowed"

    # A boundary that leaves IAM out denies what the identity policy allows.
    r = iam.simulate_principal_policy(
        PolicySourceArn=source, ActionNames=["iam:GetRole"], ResourceArns=[role_arn],
        PermissionsBoundaryPolicyInputList=[doc(allow("s3:*"))],
    )
    [x] = results(r)
    assert x["EvalDecision"] == "implicitDeny"
    assert x["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    # A stored boundary counts too, and an input boundary replaces it.
    boundary = iam.create_policy(PolicyName=unique("s3-only"), PolicyDocument=doc(allow("s3:*")))["Policy"]
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary["Arn"])
    [x] = results(iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["iam:GetRole"]))
    assert x["EvalDecision"] == "implicitDeny"
    assert x["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert "EvalDecisionDetails" not in x and "ResourceSpecificResults" not in x
    [x] = results(iam.simulate_principal_policy(
        PolicySourceArn=source, ActionNames=["iam:GetRole"],
        PermissionsBoundaryPolicyInputList=[doc(allow("iam:*"))],
    ))
    assert x["EvalDecision"] == "allowed"
    iam.delete_user_permissions_boundary(UserName=user)


def test_api_example_3_cross_account_resource_policy(iam):
    caller = f"arn:aws:iam::{ACCOUNT}:user/arnav"
    resource_policy = doc({
        "Effect": "Allow", "Principal": {"AWS": caller},
        "Action": ["s3:List*", "s3:Put*"], "Resource": ["arn:aws:s3:::mary/*"],
    })
    common = dict(
        ActionNames=["s3:PutObject"], ResourceArns=["arn:aws:s3:::mary/Test"],
        ResourceOwner=f"arn:aws:iam::{OTHER_ACCOUNT}:root", CallerArn=caller,
        ResourcePolicy=resource_policy,
    )
    r = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("iam:GetUser"))],
        PermissionsBoundaryPolicyInputList=[doc(allow("iam:*"))], **common,
    )
    [x] = results(r)
    assert x["EvalDecision"] == "implicitDeny"
    assert x["EvalDecisionDetails"] == {
        "IAM Policy": "implicitDeny",
        "Resource Policy": "allowed",
        "Permissions Boundary Policy": "implicitDeny",
    }
    assert x["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert x["ResourceSpecificResults"][0]["EvalDecisionDetails"] == x["EvalDecisionDetails"]

    # Across accounts both sides must allow.
    [x] = results(iam.simulate_custom_policy(PolicyInputList=[doc(allow("s3:PutObject"))], **common))
    assert x["EvalDecision"] == "allowed"
    assert x["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    types = sorted(m.get("SourcePolicyType", "") for m in x["MatchedStatements"])
    assert types == ["", "resource"]
    assert "ResourcePolicy" in [m["SourcePolicyId"] for m in x["MatchedStatements"]]

    other_caller = dict(common, CallerArn=f"arn:aws:iam::{ACCOUNT}:user/someone-else")
    [x] = results(iam.simulate_custom_policy(PolicyInputList=[doc(allow("s3:PutObject"))], **other_caller))
    assert x["EvalDecision"] == "implicitDeny"
    assert x["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "implicitDeny"}


def test_same_account_resource_policy_naming_the_user_allows_alone(iam):
    caller = f"arn:aws:iam::{ACCOUNT}:user/reader"
    policy = doc({"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::bucket/*"})
    [x] = results(iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("iam:GetUser"))], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/key"], ResourcePolicy=policy, CallerArn=caller,
    ))
    assert x["EvalDecision"] == "allowed"
    assert x["EvalDecisionDetails"] == {}
    assert [m["SourcePolicyId"] for m in x["MatchedStatements"]] == ["ResourcePolicy"]


def test_explicit_deny_wins_and_is_the_only_match(iam):
    policies = [
        doc([allow("s3:*")]),
        doc([{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]),
    ]
    r = iam.simulate_custom_policy(PolicyInputList=policies, ActionNames=["s3:DeleteObject", "s3:GetObject"])
    delete, get = results(r)
    assert delete["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in delete["MatchedStatements"]] == ["PolicyInputList.2"]
    assert get["EvalDecision"] == "allowed"
    assert [m["SourcePolicyId"] for m in get["MatchedStatements"]] == ["PolicyInputList.1"]


# --- Context entries of every type --------------------------------------------------------------


def condition_policy(condition):
    return doc(allow("s3:GetObject", Condition=condition))


@pytest.mark.parametrize("condition,entry,want", [
    ({"StringEquals": {"s3:prefix": "home/"}}, ("s3:prefix", "string", ["home/"]), "allowed"),
    ({"StringEquals": {"s3:prefix": "home/"}}, ("s3:prefix", "string", ["other/"]), "implicitDeny"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, ("aws:TagKeys", "stringList", ["a", "b"]), "allowed"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, ("aws:TagKeys", "stringList", ["a", "c"]), "implicitDeny"),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, ("s3:max-keys", "numeric", ["10"]), "allowed"),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, ("s3:max-keys", "numeric", ["11"]), "implicitDeny"),
    ({"ForAnyValue:NumericEquals": {"s3:nums": "3"}}, ("s3:nums", "numericList", ["1", "3"]), "allowed"),
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, ("aws:MultiFactorAuthPresent", "boolean", ["true"]), "allowed"),
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, ("aws:MultiFactorAuthPresent", "boolean", ["false"]), "implicitDeny"),
    ({"ForAllValues:Bool": {"s3:flags": "true"}}, ("s3:flags", "booleanList", ["true", "false"]), "implicitDeny"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, ("aws:SourceIp", "ip", ["203.0.113.7"]), "allowed"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, ("aws:SourceIp", "ip", ["198.51.100.7"]), "implicitDeny"),
    ({"ForAnyValue:IpAddress": {"s3:ips": "2001:db8::/32"}}, ("s3:ips", "ipList", ["198.51.100.7", "2001:db8::1"]), "allowed"),
    ({"BinaryEquals": {"s3:blob": "QmluYXJ5"}}, ("s3:blob", "binary", ["QmluYXJ5"]), "allowed"),
    ({"BinaryEquals": {"s3:blob": "QmluYXJ5"}}, ("s3:blob", "binary", ["T3RoZXI="]), "implicitDeny"),
    ({"ForAnyValue:BinaryEquals": {"s3:blobs": "QmluYXJ5"}}, ("s3:blobs", "binaryList", ["T3RoZXI=", "QmluYXJ5"]), "allowed"),
    ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, ("aws:CurrentTime", "date", ["2029-12-31T23:59:59Z"]), "allowed"),
    ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, ("aws:CurrentTime", "date", ["1893456000"]), "implicitDeny"),
    ({"ForAllValues:DateGreaterThan": {"s3:dates": "2020-01-01T00:00:00Z"}}, ("s3:dates", "dateList", ["2021-01-01T00:00:00Z", "2022-06-01T00:00:00Z"]), "allowed"),
])
def test_context_entry_types(iam, condition, entry, want):
    name, kind, values = entry
    [x] = results(iam.simulate_custom_policy(
        PolicyInputList=[condition_policy(condition)], ActionNames=["s3:GetObject"],
        ContextEntries=[{"ContextKeyName": name, "ContextKeyValues": values, "ContextKeyType": kind}],
    ))
    assert x["EvalDecision"] == want
    assert x["MissingContextValues"] == []


def test_missing_context_values(iam):
    policy = condition_policy({
        "DateGreaterThan": {"aws:CurrentTime": "2018-08-16T12:00:00Z"},
        "StringEquals": {"s3:prefix": "${aws:username}/"},
    })
    [x] = results(iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"]))
    assert x["EvalDecision"] == "implicitDeny"
    assert x["MissingContextValues"] == ["aws:CurrentTime", "s3:prefix"]
    # With named resources the missing keys are reported per resource.
    [x] = results(iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k"],
        ContextEntries=[{"ContextKeyName": "s3:prefix", "ContextKeyValues": ["alice/"], "ContextKeyType": "string"}],
    ))
    assert x["MissingContextValues"] == []
    assert x["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:CurrentTime", "aws:username"]


def test_policy_variables_read_context_entries(iam):
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    entries = [{"ContextKeyName": "aws:username", "ContextKeyValues": ["alice"], "ContextKeyType": "string"}]
    alice, bob = results(iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::home/alice/notes", "arn:aws:s3:::home/bob/notes"],
        ContextEntries=entries,
    ))
    assert (alice["EvalDecision"], bob["EvalDecision"]) == ("allowed", "implicitDeny")


# --- Principals: users with groups, groups, roles -----------------------------------------------


def test_principal_policy_for_user_group_and_role(iam):
    user, group, role = unique("simu"), unique("simg"), unique("simr")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="group-reads", PolicyDocument=doc(allow("s3:GetObject")))
    iam.put_user_policy(UserName=user, PolicyName="user-denies",
                        PolicyDocument=doc({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}))
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust, Path="/svc/")
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")

    get, delete = results(iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{user}", ActionNames=["s3:GetObject", "s3:DeleteObject"]))
    assert get["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in get["MatchedStatements"]] == [("group-reads", "group")]
    assert delete["EvalDecision"] == "explicitDeny"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in delete["MatchedStatements"]] == [("user-denies", "user")]

    [x] = results(iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/{group}", ActionNames=["s3:GetObject"]))
    assert x["EvalDecision"] == "allowed"

    get_user, delete_user = results(iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/svc/{role}", ActionNames=["iam:GetUser", "iam:DeleteUser"]))
    assert get_user["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in get_user["MatchedStatements"]] == [
        ("IAMReadOnlyAccess", "aws-managed")]
    assert delete_user["EvalDecision"] == "implicitDeny"

    # CallerArn: simulate Bob calling with the source's policies.
    caller = f"arn:aws:iam::{ACCOUNT}:user/bob"
    resource_policy = doc({"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:PutObject",
                           "Resource": "arn:aws:s3:::shared/*"})
    [x] = results(iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{user}", CallerArn=caller,
        ActionNames=["s3:PutObject"], ResourceArns=["arn:aws:s3:::shared/k"], ResourcePolicy=resource_policy))
    assert x["EvalDecision"] == "allowed"


def test_get_context_keys_for_principal_policy(iam):
    user, group = unique("ckeys"), unique("ckgrp")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="own", PolicyDocument=doc(
        allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*",
              Condition={"Bool": {"aws:SecureTransport": "true"}})))
    iam.put_group_policy(GroupName=group, PolicyName="grp", PolicyDocument=doc(
        allow("s3:ListBucket", Condition={"StringLike": {"s3:prefix": "${aws:userid}/*"},
                                          "IpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}})))
    managed = iam.create_policy(PolicyName=unique("ckpol"), PolicyDocument=doc(
        allow("s3:PutObject", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1",
                                                          "aws:sourceip": "10.0.0.1"}})))["Policy"]
    iam.attach_user_policy(UserName=user, PolicyArn=managed["Arn"])
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"]
    assert keys == ["aws:username", "aws:SecureTransport", "aws:RequestedRegion", "aws:sourceip",
                    "s3:prefix", "aws:userid"]
    extra = doc(allow("s3:*", Condition={"NumericLessThan": {"s3:max-keys": "10"}}))
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn, PolicyInputList=[extra])["ContextKeyNames"]
    assert keys[-1] == "s3:max-keys"
    group_keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/{group}")["ContextKeyNames"]
    assert group_keys == ["s3:prefix", "aws:userid", "AWS:SOURCEIP"]
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[doc(allow("s3:*"))])["ContextKeyNames"] == []


# --- Pagination ---------------------------------------------------------------------------------


def test_pagination_with_max_items_and_marker(iam):
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    args = dict(PolicyInputList=[doc(allow("s3:Get*"))], ActionNames=actions,
                ResourceArns=["arn:aws:s3:::b/1", "arn:aws:s3:::b/2"])
    first = iam.simulate_custom_policy(MaxItems=4, **args)
    assert first["IsTruncated"] is True and first["Marker"]
    second = iam.simulate_custom_policy(MaxItems=4, Marker=first["Marker"], **args)
    assert second["IsTruncated"] is False and "Marker" not in second
    pairs = [(x["EvalActionName"], x["EvalResourceName"]) for x in results(first) + results(second)]
    assert pairs == [(a, r) for a in actions for r in args["ResourceArns"]]
    paginated = [x for page in iam.get_paginator("simulate_custom_policy").paginate(
        PaginationConfig={"PageSize": 1}, **args) for x in page["EvaluationResults"]]
    assert len(paginated) == 6
    with pytest.raises(ClientError):
        iam.simulate_custom_policy(Marker="not-a-marker", **args)


# --- Errors -------------------------------------------------------------------------------------


def test_errors(iam):
    ok_policy = doc(allow("s3:*"))

    def err(call, **kwargs):
        with pytest.raises(ClientError) as e:
            call(**kwargs)
        return error_of(e)

    custom = iam.simulate_custom_policy
    principal = iam.simulate_principal_policy

    assert err(custom, PolicyInputList=["{not json"], ActionNames=["s3:GetObject"]) == (
        400, "InvalidInput", "Syntax errors in policy.")
    # Identity policies may not name principals; resource policies must.
    status, code, _ = err(custom, PolicyInputList=[doc({**allow("s3:*"), "Principal": "*"})], ActionNames=["s3:GetObject"])
    assert (status, code) == (400, "InvalidInput")
    status, code, _ = err(custom, PolicyInputList=[ok_policy], ActionNames=["s3:GetObject"],
                          ResourcePolicy=ok_policy, CallerArn=f"arn:aws:iam::{ACCOUNT}:user/a")
    assert (status, code) == (400, "InvalidInput")
    assert err(custom, PolicyInputList=[ok_policy], ActionNames=["s3:GetObject"],
               ResourcePolicy=doc({**allow("s3:*"), "Principal": "*"})) == (
        400, "InvalidInput", "Invalid caller - Caller must be an IAM user in this context.")
    status, code, message = err(custom, PolicyInputList=[ok_policy], ActionNames=["s3:*"])
    assert (status, code) == (400, "InvalidInput") and "s3:*" in message
    status, code, message = err(custom, PolicyInputList=[ok_policy], ActionNames=["s3:GetObject"],
                                ResourceArns=["not-an-arn"])
    assert (status, code) == (400, "InvalidInput") and "not-an-arn" in message
    status, code, message = err(custom, PolicyInputList=[ok_policy], ActionNames=["s3:GetObject"],
                                ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["nope"],
                                                 "ContextKeyType": "ip"}])
    assert (status, code) == (400, "InvalidInput") and "nope" in message
    status, code, _ = err(custom, PolicyInputList=[ok_policy], ActionNames=["s3:GetObject"],
                          PermissionsBoundaryPolicyInputList=[ok_policy, ok_policy])
    assert (status, code) == (400, "InvalidInput")

    sts_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s"
    assert err(principal, PolicySourceArn=sts_arn, ActionNames=["s3:GetObject"]) == (
        400, "InvalidInput", f"Invalid Entity Arn: {sts_arn} does not clearly define entity type and name.")
    assert err(principal, PolicySourceArn=f"arn:aws:iam::{OTHER_ACCOUNT}:user/x", ActionNames=["s3:GetObject"]) == (
        400, "InvalidInput",
        f"Invalid Policy Source Arn: caller's account {ACCOUNT} does not have access to policies in account {OTHER_ACCOUNT}")
    for kind, word in [("user", "user"), ("group", "group"), ("role", "role")]:
        name = unique("ghost")
        assert err(principal, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:{kind}/{name}", ActionNames=["s3:GetObject"]) == (
            404, "NoSuchEntity", f"The {word} with name {name} cannot be found.")
    assert err(iam.get_context_keys_for_principal_policy,
               PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{unique('ghost')}")[:2] == (404, "NoSuchEntity")
    assert err(iam.get_context_keys_for_custom_policy, PolicyInputList=["[]"]) == (
        400, "InvalidInput", "Syntax errors in policy.")

    # Resource policies are simulated for IAM users only.
    role = unique("nores")
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    assert err(principal, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", ActionNames=["s3:GetObject"],
               ResourcePolicy=doc({**allow("s3:*"), "Principal": "*"})) == (
        400, "InvalidInput", "Invalid caller - Caller must be an IAM user in this context.")


# --- The simulator's own operations are authorized like any other -------------------------------


def test_simulator_calls_need_permission(server, iam):
    name = unique("simcaller")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow("iam:SimulateCustomPolicy")))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    caller = boto_client("iam", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    [x] = results(caller.simulate_custom_policy(PolicyInputList=[doc(allow("s3:*"))], ActionNames=["s3:GetObject"]))
    assert x["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as e:
        caller.get_context_keys_for_custom_policy(PolicyInputList=[doc(allow("s3:*"))])
    status, code, message = error_of(e)
    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: "
                              "iam:GetContextKeysForCustomPolicy")
