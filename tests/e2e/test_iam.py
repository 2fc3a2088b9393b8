"""Issue 6: the IAM API (users, keys, groups, policies, roles, MFA, login profiles, identity
providers, certificates, reports), driven by boto3 and the AWS CLI against the real binary. Denials
of IAM users' requests are covered in test_authorization.py and test_iam_cli_scenario.py."""
import base64
import json
import subprocess
import urllib.parse
import uuid

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_KEY, ROOT_SECRET, boto_client, cli_env

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Message")


@pytest.fixture
def iam(server):
    return boto_client("iam", server)


def raw_iam(srv, params):
    """A Query request signed by botocore, returning the raw XML response."""
    body = urllib.parse.urlencode({**params, "Version": "2010-05-08"})
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=srv.url + "/", data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ROOT_KEY, ROOT_SECRET), "iam", "us-east-1").add_auth(req)
    prepared = req.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers),
                         verify=srv.verify, timeout=30)


def test_a_new_key_authenticates_until_deactivated_or_deleted(server, iam):
    name = unique("alice")
    user = iam.create_user(UserName=name)["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21

    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["UserName"] == name and key["Status"] == "Active"
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40

    sts = boto_client("sts", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    ident = sts.get_caller_identity()
    assert ident["Arn"] == user["Arn"]
    assert ident["UserId"] == user["UserId"]
    assert ident["Account"] == ACCOUNT

    # A wrong secret for the new key is refused as for any key.
    wrong = boto_client("sts", server, key=key["AccessKeyId"], secret="x" * 40)
    with pytest.raises(ClientError) as e:
        wrong.get_caller_identity()
    assert error_of(e)[1] == "SignatureDoesNotMatch"

    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(key["AccessKeyId"], "Inactive")]
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error_of(e)[:2] == (403, "InvalidClientTokenId")

    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Arn"] == user["Arn"]

    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error_of(e)[:2] == (403, "InvalidClientTokenId")
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    iam.delete_user(UserName=name)


def test_access_key_errors(iam):
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName=unique("ghost"))
    status, code, message = error_of(e)
    assert (status, code) == (404, "NoSuchEntity")
    assert message.startswith("The user with name ghost-") and message.endswith(" cannot be found.")

    name = unique("bob")
    iam.create_user(UserName=name)
    keys = [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(2)]
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName=name)
    assert error_of(e) == (409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")

    last = iam.get_access_key_last_used(AccessKeyId=keys[0])
    assert last["UserName"] == name
    assert last["AccessKeyLastUsed"]["ServiceName"] == "N/A"

    for k in keys:
        iam.delete_access_key(UserName=name, AccessKeyId=k)
    with pytest.raises(ClientError) as e:
        iam.delete_access_key(UserName=name, AccessKeyId=keys[0])
    assert error_of(e) == (404, "NoSuchEntity", f"The Access Key with id {keys[0]} cannot be found.")
    iam.delete_user(UserName=name)


def test_users_paths_tags_and_pagination(iam):
    base = unique("/e2e")
    names = [unique("u") for _ in range(5)]
    for i, n in enumerate(names):
        iam.create_user(UserName=n, Path=f"{base}/{'a' if i % 2 else 'b'}/", Tags=[{"Key": "i", "Value": str(i)}])

    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=names[0].upper())
    assert error_of(e) == (409, "EntityAlreadyExists", f"User with name {names[0].upper()} already exists.")

    got = iam.get_user(UserName=names[1])["User"]
    assert got["Path"] == f"{base}/a/"
    assert got["Arn"] == f"arn:aws:iam::{ACCOUNT}:user{base}/a/{names[1]}"
    assert got["Tags"] == [{"Key": "i", "Value": "1"}]

    first = iam.list_users(PathPrefix=f"{base}/", MaxItems=2)
    assert len(first["Users"]) == 2 and first["IsTruncated"] is True
    pages = iam.get_paginator("list_users").paginate(PathPrefix=f"{base}/", PaginationConfig={"PageSize": 2})
    listed = [u["UserName"] for page in pages for u in page["Users"]]
    assert sorted(listed) == sorted(names)
    only_a = [u["UserName"] for u in iam.list_users(PathPrefix=f"{base}/a/")["Users"]]
    assert sorted(only_a) == sorted([names[1], names[3]])

    iam.tag_user(UserName=names[0], Tags=[{"Key": "team", "Value": "core"}])
    iam.untag_user(UserName=names[0], TagKeys=["i"])
    assert iam.list_user_tags(UserName=names[0])["Tags"] == [{"Key": "team", "Value": "core"}]

    renamed = unique("renamed")
    iam.update_user(UserName=names[0], NewUserName=renamed, NewPath="/moved/")
    assert iam.get_user(UserName=renamed)["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/moved/{renamed}"
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=names[0])
    assert error_of(e) == (404, "NoSuchEntity", f"The user with name {names[0]} cannot be found.")

    for n in [renamed, *names[1:]]:
        iam.delete_user(UserName=n)


def test_get_user_without_a_name_is_the_caller(server, iam):
    me = iam.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert me["UserId"] == ACCOUNT

    name = unique("self")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    # Without a policy the user may not call IAM (see test_authorization.py); its identity is checked here.
    sts = boto_client("sts", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_groups_and_membership(iam):
    group, user = unique("g"), unique("member")
    created = iam.create_group(GroupName=group, Path="/teams/")["Group"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/teams/{group}"
    assert created["GroupId"].startswith("AGPA")
    with pytest.raises(ClientError) as e:
        iam.create_group(GroupName=group)
    assert error_of(e) == (409, "EntityAlreadyExists", f"Group with name {group} already exists.")

    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups(PathPrefix="/teams/")["Groups"]]

    with pytest.raises(ClientError) as e:
        iam.delete_group(GroupName=group)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert error_of(e)[:2] == (409, "DeleteConflict")

    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.get_group(GroupName=group)
    assert error_of(e) == (404, "NoSuchEntity", f"The group with name {group} cannot be found.")


def test_managed_policies_versions_and_attachments(server, iam):
    name, user, group = unique("pol"), unique("pu"), unique("pg")
    doc = json.dumps(POLICY, indent=2)
    policy = iam.create_policy(PolicyName=name, PolicyDocument=doc, Description="read secrets")["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 0
    assert policy["PolicyId"].startswith("ANPA")

    # boto3 decodes the URL-encoded document IAM sends.
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == POLICY and version["IsDefaultVersion"] is True
    raw = raw_iam(server, {"Action": "GetPolicyVersion", "PolicyArn": arn, "VersionId": "v1"})
    assert raw.status_code == 200
    assert "<Document>%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22" in raw.text

    v2 = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "secretsmanager:*"}]}
    created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v2), SetAsDefault=True)
    assert created["PolicyVersion"]["VersionId"] == "v2"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v2", True), ("v1", False)]
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete the default version of a policy.")

    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == [{"PolicyName": name, "PolicyArn": arn}]
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == [{"PolicyName": name, "PolicyArn": arn}]
    assert arn in [p["Arn"] for p in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]]

    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete a policy attached to entities.")
    missing = f"arn:aws:iam::{ACCOUNT}:policy/{name}-missing"
    with pytest.raises(ClientError) as e:
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    assert error_of(e) == (404, "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=missing)
    assert error_of(e) == (404, "NoSuchEntity", f"Policy {missing} was not found.")

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    with pytest.raises(ClientError) as e:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert error_of(e) == (404, "NoSuchEntity", f"Policy {arn} was not found.")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)


def test_malformed_policy_documents(iam):
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=unique("bad"), PolicyDocument="{not json")
    assert error_of(e)[:2] == (400, "MalformedPolicyDocument")
    user = unique("mal")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument='{"Version": "2012-10-17"}')
    assert error_of(e)[:2] == (400, "MalformedPolicyDocument")
    iam.delete_user(UserName=user)


def test_inline_policies(server, iam):
    user, group = unique("inl"), unique("ing")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.put_user_policy(UserName=user, PolicyName="secrets", PolicyDocument=json.dumps(POLICY))
    iam.put_group_policy(GroupName=group, PolicyName="secrets", PolicyDocument=json.dumps(POLICY))

    got = iam.get_user_policy(UserName=user, PolicyName="secrets")
    assert (got["UserName"], got["PolicyName"], got["PolicyDocument"]) == (user, "secrets", POLICY)
    assert iam.get_group_policy(GroupName=group, PolicyName="secrets")["PolicyDocument"] == POLICY
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["secrets"]
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["secrets"]
    raw = raw_iam(server, {"Action": "GetUserPolicy", "UserName": user, "PolicyName": "secrets"})
    assert "<PolicyDocument>%7B%22Version%22%3A%20%222012-10-17%22" in raw.text

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
    with pytest.raises(ClientError) as e:
        iam.get_user_policy(UserName=user, PolicyName="other")
    assert error_of(e) == (404, "NoSuchEntity", "The user policy with name other cannot be found.")

    iam.delete_user_policy(UserName=user, PolicyName="secrets")
    iam.delete_group_policy(GroupName=group, PolicyName="secrets")
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)


def run_cli(server, *args, env=None):
    out = subprocess.run(
        ["aws", *args, "--endpoint-url", server.url, "--output", "json"],
        env=env or cli_env(server), capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


def test_cli_scenario_user_group_policy_and_key(server, tmp_path):
    user, group, policy = unique("cli"), unique("cligrp"), unique("clipol")
    doc = tmp_path / "policy.json"
    doc.write_text(json.dumps(POLICY))

    created = run_cli(server, "iam", "create-user", "--user-name", user)["User"]
    run_cli(server, "iam", "create-group", "--group-name", group)
    run_cli(server, "iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    arn = run_cli(server, "iam", "create-policy", "--policy-name", policy,
                  "--policy-document", f"file://{doc}")["Policy"]["Arn"]
    run_cli(server, "iam", "attach-group-policy", "--group-name", group, "--policy-arn", arn)
    key = run_cli(server, "iam", "create-access-key", "--user-name", user)["AccessKey"]

    version = run_cli(server, "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")
    assert version["PolicyVersion"]["Document"] == POLICY
    attached = run_cli(server, "iam", "list-attached-group-policies", "--group-name", group)
    assert attached["AttachedPolicies"] == [{"PolicyName": policy, "PolicyArn": arn}]

    ident = run_cli(server, "sts", "get-caller-identity",
                    env=cli_env(server, key=key["AccessKeyId"], secret=key["SecretAccessKey"]))
    assert ident == {"UserId": created["UserId"], "Account": ACCOUNT, "Arn": created["Arn"]}

    run_cli(server, "iam", "delete-access-key", "--user-name", user, "--access-key-id", key["AccessKeyId"])
    run_cli(server, "iam", "detach-group-policy", "--group-name", group, "--policy-arn", arn)
    run_cli(server, "iam", "remove-user-from-group", "--group-name", group, "--user-name", user)
    run_cli(server, "iam", "delete-policy", "--policy-arn", arn)
    run_cli(server, "iam", "delete-group", "--group-name", group)
    run_cli(server, "iam", "delete-user", "--user-name", user)


TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def test_roles(iam):
    name = unique("role")
    created = iam.create_role(RoleName=name, Path="/svc/", AssumeRolePolicyDocument=json.dumps(TRUST),
                              Tags=[{"Key": "test", "Value": "value"}])["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/svc/{name}"
    assert created["RoleId"].startswith("AROA")
    assert created["AssumeRolePolicyDocument"] == TRUST
    assert created["Tags"] == [{"Key": "test", "Value": "value"}]
    assert "MaxSessionDuration" not in created

    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 3600 and got["RoleLastUsed"] == {}
    assert got["AssumeRolePolicyDocument"] == TRUST
    listed = [r for r in iam.list_roles(PathPrefix="/svc/")["Roles"] if r["RoleName"] == name]
    assert len(listed) == 1 and "Tags" not in listed[0]

    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{oops")
    assert error_of(e) == (409, "EntityAlreadyExists", f"Role with name {name} already exists.")
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=unique("bad"), AssumeRolePolicyDocument="{oops")
    assert error_of(e) == (400, "MalformedPolicyDocument", "This policy contains invalid Json")

    iam.update_role(RoleName=name, MaxSessionDuration=7200)
    assert iam.update_role_description(RoleName=name, Description="d")["Role"]["MaxSessionDuration"] == 7200
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    assert iam.get_role_policy(RoleName=name, PolicyName="inline")["PolicyDocument"] == POLICY
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_of(e) == (404, "NoSuchEntity", f"The role with name {name} cannot be found.")


def test_aws_managed_policies(server, iam):
    admin = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    policy = iam.get_policy(PolicyArn=admin)["Policy"]
    assert policy["PolicyName"] == "IAMReadOnlyAccess" and policy["DefaultVersionId"] == "v4"
    document = iam.get_policy_version(PolicyArn=admin, VersionId="v4")["PolicyVersion"]["Document"]
    assert "iam:List*" in document["Statement"][0]["Action"]
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS")
    names = [p["PolicyName"] for page in pages for p in page["Policies"]]
    assert {"AdministratorAccess", "IAMFullAccess", "SecretsManagerReadWrite"} <= set(names)
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=admin)
    assert error_of(e)[:2] == (403, "AccessDenied")

    # A user given the AWS managed read-only policy reads IAM, starting with itself.
    name = unique("reader")
    user = iam.create_user(UserName=name)["User"]
    iam.attach_user_policy(UserName=name, PolicyArn=admin)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = boto_client("iam", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert as_user.get_user()["User"] == user
    assert as_user.list_attached_user_policies(UserName=name)["AttachedPolicies"] == [
        {"PolicyName": "IAMReadOnlyAccess", "PolicyArn": admin}
    ]

    iam.detach_user_policy(UserName=name, PolicyArn=admin)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_account_alias_summary_and_policy_entities(iam):
    alias = unique("acme")
    iam.create_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == [alias]
    with pytest.raises(ClientError) as e:
        iam.delete_account_alias(AccountAlias=alias + "x")
    assert error_of(e) == (404, "NoSuchEntity", f"The account alias {alias}x cannot be found.")
    iam.delete_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == []

    before = iam.get_account_summary()["SummaryMap"]
    user = unique("sum")
    iam.create_user(UserName=user)
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["AccessKeysPerUserQuota"] == 2 and after["UsersQuota"] == 5000

    arn = iam.create_policy(PolicyName=unique("ent"), PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "team", "Value": "core"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "team", "Value": "core"}]
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert entities["PolicyGroups"] == [] and entities["PolicyRoles"] == []

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=user)


def test_password_policy(iam):
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True, MaxPasswordAge=90)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 12 and policy["RequireSymbols"] is True
    assert policy["ExpirePasswords"] is True and policy["MaxPasswordAge"] == 90
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as e:
        iam.get_account_password_policy()
    assert error_of(e) == (404, "NoSuchEntity", f"The Password Policy with domain name {ACCOUNT} cannot be found.")


def test_instance_profiles(iam):
    role, profile = unique("iprole"), unique("ip")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    created = iam.create_instance_profile(InstanceProfileName=profile, Path="/ec2/")["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/ec2/{profile}"
    assert created["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Roles"][0]["AssumeRolePolicyDocument"] == TRUST
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [profile]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=role)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as e:
        iam.get_instance_profile(InstanceProfileName=profile)
    assert error_of(e) == (404, "NoSuchEntity", f"Instance Profile {profile} cannot be found.")


def test_oidc_providers(iam):
    host = f"{unique('oidc')}.example.com"
    arn = iam.create_open_id_connect_provider(
        Url=f"https://{host}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ThumbprintList=["a" * 40])
    assert error_of(e) == (409, "EntityAlreadyExists", f"Provider with url https://{host} already exists.")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == host and got["ClientIDList"] == ["sts.amazonaws.com", "app"]
    assert arn in [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(e) == (404, "NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}")


def totp(seed_b32, step):
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), computed independently of Coffer."""
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    digest = hmac.new(key, struct.pack(">q", step), hashlib.sha1).digest()
    offset = digest[19] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def png_size(data):
    import struct
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_virtual_mfa_devices(server, iam):
    import time
    user, name = unique("mfauser"), unique("mfa")
    iam.create_user(UserName=user)
    created = iam.create_virtual_mfa_device(
        VirtualMFADeviceName=name, Path="/team/", Tags=[{"Key": "k", "Value": "v"}])["VirtualMFADevice"]
    serial = created["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/team/{name}"
    seed = created["Base32StringSeed"].decode()
    assert len(seed) == 64 and set(seed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    width, height = png_size(created["QRCodePNG"])
    assert width == height and width > 100

    with pytest.raises(ClientError) as e:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Path="/team/")
    assert error_of(e) == (409, "EntityAlreadyExists", "MFADevice entity at the same path and name already exists.")

    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in unassigned]
    assert all("Base32StringSeed" not in d for d in unassigned)

    step = int(time.time()) // 30
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1=totp(seed, step + 1), AuthenticationCode2=totp(seed, step))
    assert error_of(e)[:2] == (403, "InvalidAuthenticationCode")
    # botocore checks the length itself; the server must too.
    raw = raw_iam(server, {"Action": "EnableMFADevice", "UserName": user, "SerialNumber": serial,
                           "AuthenticationCode1": "12345", "AuthenticationCode2": "123456"})
    assert raw.status_code == 400 and "<Code>ValidationError</Code>" in raw.text
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName=unique("ghost"), SerialNumber=serial,
                              AuthenticationCode1=totp(seed, step), AuthenticationCode2=totp(seed, step + 1))
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp(seed, step), AuthenticationCode2=totp(seed, step + 1))

    devices = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in devices] == [(user, serial)]
    got = iam.get_mfa_device(SerialNumber=serial, UserName=user)
    assert got["UserName"] == user and got["SerialNumber"] == serial and "EnableDate" in got
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = [d for d in assigned if d["SerialNumber"] == serial]
    assert mine and mine[0]["User"]["UserName"] == user
    assert serial not in [d["SerialNumber"] for d in
                          iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["MFADevicesInUse"] >= 1 and summary["MFADevices"] >= summary["MFADevicesInUse"]

    with pytest.raises(ClientError) as e:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error_of(e)[:2] == (409, "DeleteConflict")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must delete MFA device first.")

    later = step + 2
    iam.resync_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=totp(seed, later), AuthenticationCode2=totp(seed, later + 1))
    with pytest.raises(ClientError) as e:
        iam.resync_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1="000000", AuthenticationCode2="000000")
    assert error_of(e)[:2] == (403, "InvalidAuthenticationCode")

    # A renamed user keeps its device.
    renamed = unique("mfarenamed")
    iam.update_user(UserName=user, NewUserName=renamed)
    user = renamed
    assert [d["UserName"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]] == [user]

    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "K", "Value": "w"}, {"Key": "x", "Value": "y"}])
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["x"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "K", "Value": "w"}]

    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    with pytest.raises(ClientError) as e:
        iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    missing = f"arn:aws:iam::{ACCOUNT}:mfa/{unique('none')}"
    for call in (lambda: iam.delete_virtual_mfa_device(SerialNumber=serial),
                 lambda: iam.list_mfa_device_tags(SerialNumber=missing),
                 lambda: iam.get_mfa_device(SerialNumber=missing)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[:2] == (404, "NoSuchEntity")
    iam.delete_user(UserName=user)


def test_login_profiles_and_change_password(server, iam):
    user = unique("login")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.get_login_profile(UserName=user)
    assert error_of(e) == (404, "NoSuchEntity", f"Login Profile for User {user} cannot be found.")

    ghost = unique("ghost")
    with pytest.raises(ClientError) as e:
        iam.create_login_profile(UserName=ghost, Password="Whatever-Pass1")
    assert error_of(e) == (404, "NoSuchEntity", f"The user with name {ghost} cannot be found.")

    iam.update_account_password_policy(MinimumPasswordLength=10, RequireUppercaseCharacters=True,
                                       RequireNumbers=True, AllowUsersToChangePassword=True,
                                       PasswordReusePrevention=2)
    try:
        with pytest.raises(ClientError) as e:
            iam.create_login_profile(UserName=user, Password="Short1")
        assert error_of(e) == (400, "PasswordPolicyViolation", "Password should have a minimum length of 10")
        with pytest.raises(ClientError) as e:
            iam.create_login_profile(UserName=user, Password="nouppercase1")
        assert error_of(e) == (400, "PasswordPolicyViolation", "Password should have at least one uppercase letter")

        profile = iam.create_login_profile(UserName=user, Password="Initial-Pass1",
                                           PasswordResetRequired=True)["LoginProfile"]
        assert profile["UserName"] == user and profile["PasswordResetRequired"] is True
        with pytest.raises(ClientError) as e:
            iam.create_login_profile(UserName=user, Password="Initial-Pass1")
        assert error_of(e) == (409, "EntityAlreadyExists", f"Login Profile for user {user} already exists.")
        assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True
        iam.update_login_profile(UserName=user, PasswordResetRequired=False)
        assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is False

        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
        key = iam.create_access_key(UserName=user)["AccessKey"]
        me = boto_client("iam", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        with pytest.raises(ClientError) as e:
            me.change_password(OldPassword="Wrong-Pass1", NewPassword="Second-Pass2")
        assert error_of(e)[1] == "InvalidUserType"
        with pytest.raises(ClientError) as e:
            me.change_password(OldPassword="Initial-Pass1", NewPassword="weak")
        assert error_of(e)[1] == "PasswordPolicyViolation"
        me.change_password(OldPassword="Initial-Pass1", NewPassword="Second-Pass2")
        # Reuse prevention remembers the last two passwords.
        with pytest.raises(ClientError) as e:
            me.change_password(OldPassword="Second-Pass2", NewPassword="Initial-Pass1")
        assert error_of(e)[1] == "PasswordPolicyViolation"
        with pytest.raises(ClientError) as e:
            iam.change_password(OldPassword="Initial-Pass1", NewPassword="Second-Pass2")
        assert error_of(e)[1] == "InvalidUserType"

        with pytest.raises(ClientError) as e:
            iam.delete_user(UserName=user)
        assert error_of(e)[1] == "DeleteConflict"
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
        with pytest.raises(ClientError) as e:
            iam.delete_user(UserName=user)
        assert error_of(e) == (409, "DeleteConflict", "Cannot delete entity, must delete login profile first.")
        iam.delete_login_profile(UserName=user)
        with pytest.raises(ClientError) as e:
            iam.delete_login_profile(UserName=user)
        assert error_of(e)[:2] == (404, "NoSuchEntity")
        iam.delete_user(UserName=user)
    finally:
        iam.delete_account_password_policy()


def test_account_authorization_details(server, iam):
    user, group, role, pol = unique("aaduser"), unique("aadgrp"), unique("aadrole"), unique("aadpol")
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "a"}])
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    arn = iam.create_policy(PolicyName=pol, PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    try:
        full = iam.get_account_authorization_details()
        assert full["IsTruncated"] is False
        u = next(x for x in full["UserDetailList"] if x["UserName"] == user)
        assert u["GroupList"] == [group]
        assert u["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": POLICY}]
        assert u["Tags"] == [{"Key": "team", "Value": "a"}]
        g = next(x for x in full["GroupDetailList"] if x["GroupName"] == group)
        assert g["AttachedManagedPolicies"] == [{"PolicyName": pol, "PolicyArn": arn}]
        r = next(x for x in full["RoleDetailList"] if x["RoleName"] == role)
        assert r["AssumeRolePolicyDocument"] == TRUST
        assert r["AttachedManagedPolicies"][0]["PolicyName"] == "IAMReadOnlyAccess"
        arns = {p["Arn"]: p for p in full["Policies"]}
        assert arns[arn]["PolicyVersionList"][0]["Document"] == POLICY
        assert arns[arn]["PolicyVersionList"][0]["IsDefaultVersion"] is True
        assert "arn:aws:iam::aws:policy/IAMReadOnlyAccess" in arns
        # AWS managed policies nobody uses are left out.
        assert "arn:aws:iam::aws:policy/PowerUserAccess" not in arns

        # On the wire, documents are URL-encoded as IAM sends them.
        raw = raw_iam(server, {"Action": "GetAccountAuthorizationDetails", "Filter.member.1": "User",
                               "Filter.member.2": "LocalManagedPolicy"})
        assert raw.status_code == 200
        encoded = urllib.parse.quote(json.dumps(POLICY), safe="-_.~")
        assert f"<PolicyDocument>{encoded}</PolicyDocument>" in raw.text
        assert f"<Document>{encoded}</Document>" in raw.text
        assert "<RoleDetailList/>" in raw.text or "<RoleDetailList></RoleDetailList>" in raw.text

        only_roles = iam.get_account_authorization_details(Filter=["Role"])
        assert only_roles["UserDetailList"] == [] and only_roles["Policies"] == []
        assert role in [x["RoleName"] for x in only_roles["RoleDetailList"]]

        seen, marker, pages = [], None, 0
        while True:
            kw = {"MaxItems": 2, "Filter": ["User", "Group", "LocalManagedPolicy"]}
            if marker:
                kw["Marker"] = marker
            page = iam.get_account_authorization_details(**kw)
            pages += 1
            chunk = ([("u", x["UserName"]) for x in page["UserDetailList"]]
                     + [("g", x["GroupName"]) for x in page["GroupDetailList"]]
                     + [("p", x["PolicyName"]) for x in page["Policies"]])
            assert len(chunk) <= 2
            seen += chunk
            if not page["IsTruncated"]:
                break
            marker = page["Marker"]
        assert pages > 1 and len(seen) == len(set(seen))
        assert {("u", user), ("g", group), ("p", pol)} <= set(seen)
        with pytest.raises(ClientError) as e:
            iam.get_account_authorization_details(Marker="!!not-a-marker")
        assert error_of(e)[:2] == (400, "ValidationError")
    finally:
        iam.detach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        iam.delete_role(RoleName=role)
        iam.detach_group_policy(GroupName=group, PolicyArn=arn)
        iam.delete_policy(PolicyArn=arn)
        iam.remove_user_from_group(GroupName=group, UserName=user)
        iam.delete_group(GroupName=group)
        iam.delete_user_policy(UserName=user, PolicyName="inline")
        iam.delete_user(UserName=user)


SAML_METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml"
    validUntil="2035-01-01T00:00:00Z">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://idp.example.com/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""" % ("MIIC" + "A" * 1000)


def test_account_authorization_details_every_filter_pages_and_versions(start_server):
    """A fresh account (dev server), so every list is known exactly: each Filter value alone and all
    together, MaxItems/Marker paging across the kinds, every version of a managed policy, and a
    role's last use."""
    import time
    srv = start_server(["--dev"])
    account = "555566667777"
    iam = boto_client("iam", srv, key=account, secret="x")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}
    v1 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}
    v2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}
    iam.create_user(UserName="ann", Path="/people/", Tags=[{"Key": "team", "Value": "a"}])
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="ann")
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_instance_profile(InstanceProfileName="deployer-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="deployer-profile", RoleName="deployer")
    local = iam.create_policy(PolicyName="reader", PolicyDocument=json.dumps(v1))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=local, PolicyDocument=json.dumps(v2), SetAsDefault=True)
    unused = iam.create_policy(PolicyName="unused", PolicyDocument=json.dumps(v1))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="admins", PolicyArn=local)
    iam.attach_role_policy(RoleName="deployer", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.put_user_policy(UserName="bob", PolicyName="inline", PolicyDocument=json.dumps(v1))
    iam.put_user_permissions_boundary(UserName="bob", PermissionsBoundary=local)

    def names(out):
        return {"users": [u["UserName"] for u in out["UserDetailList"]],
                "groups": [g["GroupName"] for g in out["GroupDetailList"]],
                "roles": [r["RoleName"] for r in out["RoleDetailList"]],
                "policies": [p["PolicyName"] for p in out["Policies"]]}

    empty = {"users": [], "groups": [], "roles": [], "policies": []}
    assert names(iam.get_account_authorization_details(Filter=["User"])) == {**empty, "users": ["ann", "bob"]}
    assert names(iam.get_account_authorization_details(Filter=["Group"])) == {**empty, "groups": ["admins"]}
    assert names(iam.get_account_authorization_details(Filter=["Role"])) == {**empty, "roles": ["deployer"]}
    assert names(iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])) == {
        **empty, "policies": ["reader", "unused"]}
    # AWS managed policies in use only.
    assert names(iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])) == {
        **empty, "policies": ["IAMReadOnlyAccess"]}
    everything = iam.get_account_authorization_details()
    assert names(everything) == names(iam.get_account_authorization_details(
        Filter=["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]))
    assert names(everything) == {"users": ["ann", "bob"], "groups": ["admins"], "roles": ["deployer"],
                                 "policies": ["IAMReadOnlyAccess", "reader", "unused"]}

    users = {u["UserName"]: u for u in everything["UserDetailList"]}
    assert users["ann"]["Path"] == "/people/" and users["ann"]["GroupList"] == ["admins"]
    assert users["ann"]["Tags"] == [{"Key": "team", "Value": "a"}]
    assert users["bob"]["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": v1}]
    assert users["bob"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": local}
    group = everything["GroupDetailList"][0]
    assert group["AttachedManagedPolicies"] == [{"PolicyName": "reader", "PolicyArn": local}]
    role = everything["RoleDetailList"][0]
    assert role["AssumeRolePolicyDocument"] == trust
    assert [p["InstanceProfileName"] for p in role["InstanceProfileList"]] == ["deployer-profile"]
    assert role["RoleLastUsed"] == {}
    policies = {p["PolicyName"]: p for p in everything["Policies"]}
    reader = policies["reader"]
    assert (reader["DefaultVersionId"], reader["AttachmentCount"], reader["PermissionsBoundaryUsageCount"],
            reader["IsAttachable"]) == ("v2", 1, 1, True)
    versions = {v["VersionId"]: v for v in reader["PolicyVersionList"]}
    assert set(versions) == {"v1", "v2"}
    assert (versions["v1"]["Document"], versions["v1"]["IsDefaultVersion"]) == (v1, False)
    assert (versions["v2"]["Document"], versions["v2"]["IsDefaultVersion"]) == (v2, True)
    assert policies["unused"]["AttachmentCount"] == 0
    aws = policies["IAMReadOnlyAccess"]
    assert aws["Arn"] == "arn:aws:iam::aws:policy/IAMReadOnlyAccess" and aws["AttachmentCount"] == 1
    assert [v["IsDefaultVersion"] for v in aws["PolicyVersionList"]] == [True]

    # One item a page, through users, groups, roles and policies in turn: 7 pages.
    seen, marker = [], None
    while True:
        kw = {"MaxItems": 1, **({"Marker": marker} if marker else {})}
        page = iam.get_account_authorization_details(**kw)
        got = names(page)
        assert sum(len(v) for v in got.values()) == 1
        seen.append(next((kind, v[0]) for kind, v in got.items() if v))
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert seen == [("users", "ann"), ("users", "bob"), ("groups", "admins"), ("roles", "deployer"),
                    ("policies", "IAMReadOnlyAccess"), ("policies", "reader"), ("policies", "unused")]
    # Filters and paging together.
    first = iam.get_account_authorization_details(Filter=["Role", "LocalManagedPolicy"], MaxItems=2)
    assert names(first) == {**empty, "roles": ["deployer"], "policies": ["reader"]} and first["IsTruncated"]
    rest = iam.get_account_authorization_details(Filter=["Role", "LocalManagedPolicy"], Marker=first["Marker"])
    assert names(rest) == {**empty, "policies": ["unused"]} and rest["IsTruncated"] is False
    unchecked = boto_client("iam", srv, key=account, secret="x", parameter_validation=False)
    with pytest.raises(ClientError) as e:
        unchecked.get_account_authorization_details(Filter=["Users"])
    assert error_of(e)[:2] == (400, "ValidationError")

    # A role session's request is the role's last use, here and in GetRole.
    creds = boto_client("sts", srv, key=account, secret="x").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="deploy")["Credentials"]
    boto_client("iam", srv, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                token=creds["SessionToken"], region="eu-west-1").list_users()
    deadline = time.time() + 10
    while not iam.get_role(RoleName="deployer")["Role"]["RoleLastUsed"]:
        assert time.time() < deadline, "the role's use was never recorded"
        time.sleep(0.05)
    last = iam.get_role(RoleName="deployer")["Role"]["RoleLastUsed"]
    assert last["Region"] == "eu-west-1" and "LastUsedDate" in last
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"][0]
    assert details["RoleLastUsed"] == last


def test_saml_providers(iam):
    name = unique("idp")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA,
                                   Tags=[{"Key": "env", "Value": "test"}])["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/{name}"
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA)
    assert error_of(e)[:2] == (409, "EntityAlreadyExists")
    not_metadata = "<html>" + "x" * 1000 + "</html>"
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=unique("bad"), SAMLMetadataDocument=not_metadata)
    assert error_of(e) == (400, "InvalidInput", "Could not parse metadata")
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=unique("bad"), SAMLMetadataDocument="<md:EntityDescriptor " + "x" * 1000)
    assert error_of(e)[:2] == (400, "InvalidInput")

    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == SAML_METADATA
    assert got["ValidUntil"].year == 2035
    assert got["Tags"] == [{"Key": "env", "Value": "test"}]
    listed = [p for p in iam.list_saml_providers()["SAMLProviderList"] if p["Arn"] == arn]
    assert len(listed) == 1 and listed[0]["ValidUntil"].year == 2035

    updated = SAML_METADATA.replace("2035-01-01", "2036-06-01")
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=updated)["SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["ValidUntil"].year == 2036

    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "team", "Value": "x"}])
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["env"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "team", "Value": "x"}]

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_of(e) == (404, "NoSuchEntity", f"Manifest not found for arn {arn}")
    with pytest.raises(ClientError) as e:
        iam.delete_saml_provider(SAMLProviderArn=arn)
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    with pytest.raises(ClientError) as e:
        iam.get_saml_provider(SAMLProviderArn="not-an-arn-at-all-but-long-enough")
    assert error_of(e)[:2] == (400, "ValidationError")


def test_service_linked_roles(iam):
    suffix = uuid.uuid4().hex[:8]
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix,
                                          Description="for tests")["Role"]
    name = f"AWSServiceRoleForAutoScaling_{suffix}"
    assert role["RoleName"] == name
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/{name}"
    assert role["RoleId"].startswith("AROA")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    # As AWS writes it: the principal and the action are strings, not one-element lists.
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "autoscaling.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == [{
        "PolicyName": "AutoScalingServiceRolePolicy",
        "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy"}]

    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix)
    assert error_of(e) == (400, "InvalidInput",
                           f"Service role name {name} has been taken in this account, please try a different suffix.")
    with pytest.raises(ClientError) as e:
        iam.create_service_linked_role(AWSServiceName="not-a-service.example.com")
    assert error_of(e) == (403, "AccessDenied",
                           "Cannot find Service Linked Role template for not-a-service.example.com")

    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert error_of(e) == (400, "UnmodifiableEntity",
                           f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS")
    with pytest.raises(ClientError) as e:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(TRUST))
    assert error_of(e)[:2] == (400, "UnmodifiableEntity")
    with pytest.raises(ClientError) as e:
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert error_of(e)[:2] == (400, "UnmodifiableEntity")
    with pytest.raises(ClientError) as e:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    assert error_of(e)[:2] == (400, "UnmodifiableEntity")

    plain = unique("plainrole")
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(ClientError) as e:
        iam.delete_service_linked_role(RoleName=plain)
    assert error_of(e)[:2] == (400, "InvalidInput")
    iam.delete_role(RoleName=plain)

    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/autoscaling.amazonaws.com/{name}/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    with pytest.raises(ClientError) as e:
        iam.delete_service_linked_role(RoleName=name)
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    with pytest.raises(ClientError) as e:
        iam.get_service_linked_role_deletion_status(DeletionTaskId="task/aws-service-role/x/y/z")
    assert error_of(e)[:2] == (404, "NoSuchEntity")


def test_read_only_access_reads_but_never_writes_or_reveals(server, iam):
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "ReadOnlyAccess"
    sm_root = boto_client("secretsmanager", server)
    secret = unique("ro-secret")
    sm_root.create_secret(Name=secret, SecretString="s3cr3t")
    name = unique("ro")
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    try:
        as_iam = boto_client("iam", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        as_sm = boto_client("secretsmanager", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        assert name in [u["UserName"] for u in as_iam.list_users(MaxItems=1000)["Users"]]
        assert as_sm.describe_secret(SecretId=secret)["Name"] == secret
        with pytest.raises(ClientError) as e:
            as_sm.get_secret_value(SecretId=secret)
        assert error_of(e)[1] == "AccessDeniedException"
        with pytest.raises(ClientError) as e:
            as_iam.create_user(UserName=unique("nope"))
        assert error_of(e)[:2] == (403, "AccessDenied")
    finally:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.detach_user_policy(UserName=name, PolicyArn=arn)
        iam.delete_user(UserName=name)
        sm_root.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)


def test_root_get_user_has_no_name_or_path(server, iam):
    me = iam.get_user()["User"]
    assert me["UserId"] == ACCOUNT and me["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert "UserName" not in me and "Path" not in me and "CreateDate" in me
    raw = raw_iam(server, {"Action": "GetUser"})
    assert raw.status_code == 200
    assert "<UserName" not in raw.text and "<Path" not in raw.text
    # A named user still has both, even at the root path.
    name = unique("named")
    iam.create_user(UserName=name)
    raw = raw_iam(server, {"Action": "GetUser", "UserName": name})
    assert f"<UserName>{name}</UserName>" in raw.text and "<Path>/</Path>" in raw.text
    iam.delete_user(UserName=name)


def test_credential_report(start_server):
    import csv
    import io
    srv = start_server(["--dev"])
    iam = boto_client("iam", srv, key="123456789012", secret="x")
    # AWS answers ReportNotPresent (HTTP 410) with no message: botocore prints "Unknown"
    # (prowler-cloud/prowler#272), the Go SDK an empty message (turbot/steampipe-plugin-aws#509).
    with pytest.raises(ClientError) as e:
        iam.get_credential_report()
    assert error_of(e)[:2] == (410, "ReportNotPresent")
    assert "Message" not in e.value.response["Error"] or not e.value.response["Error"]["Message"]
    assert str(e.value).endswith("when calling the GetCredentialReport operation: Unknown")
    iam.create_user(UserName="with-keys")
    iam.create_access_key(UserName="with-keys")
    iam.upload_signing_certificate(UserName="with-keys", CertificateBody=SIGNING_CERTS[0])
    iam.create_user(UserName="with-password")
    iam.create_login_profile(UserName="with-password", Password="Abcdefgh1!")

    # The first call starts a report (the API reference's example answer); later ones find it.
    started = iam.generate_credential_report()
    assert (started["State"], started["Description"]) == (
        "STARTED", "No report exists. Starting a new report generation task")
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv" and "GeneratedTime" in report
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(report["Content"].decode()))}
    assert set(rows) == {"<root_account>", "with-keys", "with-password"}
    assert rows["<root_account>"]["arn"] == "arn:aws:iam::123456789012:root"
    keys = rows["with-keys"]
    assert keys["password_enabled"] == "false" and keys["mfa_active"] == "false"
    assert keys["access_key_1_active"] == "true" and keys["access_key_2_active"] == "false"
    assert keys["access_key_1_last_rotated"].endswith("+00:00")
    assert keys["cert_1_active"] == "true" and keys["cert_2_active"] == "false"
    pw = rows["with-password"]
    assert pw["password_enabled"] == "true" and pw["password_last_changed"].endswith("+00:00")
    assert pw["access_key_1_active"] == "false" and pw["cert_1_active"] == "false"
    # Within four hours the same report is served again.
    iam.create_user(UserName="later")
    complete = iam.generate_credential_report()
    assert complete["State"] == "COMPLETE" and "Description" not in complete
    again = iam.get_credential_report()
    assert "later" not in again["Content"].decode()


def test_cli_writes_the_mfa_qr_code_and_seed_files(server, tmp_path):
    name = unique("climfa")
    png = tmp_path / "qr.png"
    created = run_cli(server, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name,
                      "--outfile", str(png), "--bootstrap-method", "QRCodePNG")["VirtualMFADevice"]
    width, height = png_size(png.read_bytes())
    assert width == height and width > 100
    seed_file = tmp_path / "seed.txt"
    other = unique("climfa")
    run_cli(server, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", other,
            "--outfile", str(seed_file), "--bootstrap-method", "Base32StringSeed")
    seed = seed_file.read_text().strip()
    assert len(seed) == 64 and set(seed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    for serial in (created["SerialNumber"], f"arn:aws:iam::{ACCOUNT}:mfa/{other}"):
        run_cli(server, "iam", "delete-virtual-mfa-device", "--serial-number", serial)


def ssh_rsa_key(bits=2048):
    """An OpenSSH `ssh-rsa` public key line and its blob (the modulus need not be a real one:
    IAM reads the key's structure and size)."""
    import base64
    import os
    import struct
    n = b"\x00" + bytes([0xC0 | os.urandom(1)[0]]) + os.urandom(bits // 8 - 1)
    blob = b"".join(struct.pack(">I", len(f)) + f for f in (b"ssh-rsa", b"\x01\x00\x01", n))
    return f"ssh-rsa {base64.b64encode(blob).decode()} someone@example", blob, n[1:]


def test_ssh_public_keys(iam):
    import base64
    import hashlib
    user = unique("sshuser")
    iam.create_user(UserName=user)
    body, blob, modulus = ssh_rsa_key()
    key = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]
    key_id = key["SSHPublicKeyId"]
    assert key_id.startswith("APKA") and len(key_id) == 20
    md5 = hashlib.md5(blob).hexdigest()
    assert key["Fingerprint"] == ":".join(md5[i:i + 2] for i in range(0, 32, 2))
    assert key["Status"] == "Active" and key["UserName"] == user

    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)
    assert error_of(e)[:2] == (400, "DuplicateSSHPublicKey")
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody="ssh-dss AAAAB3NzaC1kc3MAAACBAP")
    assert error_of(e)[:2] == (400, "UnrecognizedPublicKeyEncoding")
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_rsa_key(1024)[0])
    assert error_of(e)[:2] == (400, "InvalidPublicKey")

    got = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"] == body
    pem = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]
    text = pem["SSHPublicKeyBody"]
    assert text.startswith("-----BEGIN PUBLIC KEY-----\n") and text.rstrip().endswith("-----END PUBLIC KEY-----")
    der = base64.b64decode("".join(text.strip().splitlines()[1:-1]))
    assert modulus in der and der.endswith(b"\x02\x03\x01\x00\x01")

    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status="Inactive")
    listed = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert [(k["SSHPublicKeyId"], k["Status"]) for k in listed] == [(key_id, "Inactive")]
    for _ in range(4):
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_rsa_key()[0])
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_rsa_key()[0])
    assert error_of(e) == (409, "LimitExceeded", "Cannot exceed quota for PublicKeysPerUser: 5")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert error_of(e)[:2] == (409, "DeleteConflict")
    for k in iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"])
    with pytest.raises(ClientError) as e:
        iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    iam.delete_user(UserName=user)


def test_service_specific_credentials(iam):
    user = unique("gituser")
    iam.create_user(UserName=user)
    cred = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")[
        "ServiceSpecificCredential"]
    cred_id = cred["ServiceSpecificCredentialId"]
    assert cred_id.startswith("ACCA") and cred["Status"] == "Active"
    assert cred["ServiceUserName"] == f"{user}-at-{ACCOUNT}" and cred["UserName"] == user
    assert len(cred["ServicePassword"]) == 44
    iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    assert error_of(e) == (409, "LimitExceeded",
                           "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")
    keyspaces = iam.create_service_specific_credential(UserName=user, ServiceName="cassandra.amazonaws.com")[
        "ServiceSpecificCredential"]
    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="s3.amazonaws.com")
    assert error_of(e)[1] == "NotSupportedService"

    listed = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    assert len(listed) == 3 and all("ServicePassword" not in c for c in listed)
    only = iam.list_service_specific_credentials(UserName=user, ServiceName="cassandra.amazonaws.com")
    assert [c["ServiceSpecificCredentialId"] for c in only["ServiceSpecificCredentials"]] == [
        keyspaces["ServiceSpecificCredentialId"]]

    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)[
        "ServiceSpecificCredential"]
    assert reset["ServicePassword"] != cred["ServicePassword"] and len(reset["ServicePassword"]) == 44
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id, Status="Inactive")
    statuses = {c["ServiceSpecificCredentialId"]: c["Status"]
                for c in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]}
    assert statuses[cred_id] == "Inactive"

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert error_of(e)[:2] == (409, "DeleteConflict")
    for c in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(UserName=user,
                                               ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    with pytest.raises(ClientError) as e:
        iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    iam.delete_user(UserName=user)


def test_bedrock_api_keys(iam):
    """Long-term Amazon Bedrock API keys are service-specific credentials for bedrock.amazonaws.com:
    the key (`ServiceCredentialSecret`) is shown by Create and Reset only, `CredentialAgeDays` sets
    an `ExpirationDate`, and the alias (the key's public part) names the user."""
    user = unique("bedrock")
    iam.create_user(UserName=user)
    created = iam.create_service_specific_credential(UserName=user, ServiceName="bedrock.amazonaws.com",
                                                     CredentialAgeDays=30)["ServiceSpecificCredential"]
    key_id = created["ServiceSpecificCredentialId"]
    assert created["ServiceName"] == "bedrock.amazonaws.com" and created["Status"] == "Active"
    assert created["ServiceUserName"] == f"{user}-at-{ACCOUNT}"
    assert created["ServiceCredentialAlias"].startswith(f"{user}+")
    assert "ServicePassword" not in created
    secret = created["ServiceCredentialSecret"]
    assert secret.startswith("ABSK")
    service_user, _, token = base64.b64decode(secret[4:]).decode().partition(":")
    assert service_user == created["ServiceUserName"] and len(token) >= 40
    age = created["ExpirationDate"] - created["CreateDate"]
    assert age.days == 30 and age.seconds == 0
    # Without CredentialAgeDays the key does not expire.
    forever = iam.create_service_specific_credential(UserName=user, ServiceName="bedrock.amazonaws.com")[
        "ServiceSpecificCredential"]
    assert "ExpirationDate" not in forever and forever["ServiceCredentialSecret"] != secret
    # Two per user, as for every service.
    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="bedrock.amazonaws.com")
    assert error_of(e) == (409, "LimitExceeded",
                           "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")

    # Listed without the secret, with the alias and the expiration.
    listed = {c["ServiceSpecificCredentialId"]: c for c in iam.list_service_specific_credentials(
        UserName=user, ServiceName="bedrock.amazonaws.com")["ServiceSpecificCredentials"]}
    assert set(listed) == {key_id, forever["ServiceSpecificCredentialId"]}
    assert listed[key_id]["ServiceCredentialAlias"] == created["ServiceCredentialAlias"]
    assert listed[key_id]["ExpirationDate"] == created["ExpirationDate"]
    assert "ExpirationDate" not in listed[forever["ServiceSpecificCredentialId"]]
    assert all("ServiceCredentialSecret" not in c and "ServicePassword" not in c for c in listed.values())
    # Other services' credentials have no alias or expiration.
    git = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")[
        "ServiceSpecificCredential"]
    assert "ServiceCredentialAlias" not in git and "ServiceCredentialSecret" not in git and "ServicePassword" in git
    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com",
                                               CredentialAgeDays=1)
    assert error_of(e)[:2] == (400, "InvalidInput")

    # Reset gives a new key (shown once more), keeping the expiration; Update and Delete as for others.
    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=key_id)[
        "ServiceSpecificCredential"]
    assert reset["ServiceCredentialSecret"].startswith("ABSK") and reset["ServiceCredentialSecret"] != secret
    assert reset["ExpirationDate"] == created["ExpirationDate"] and "ServicePassword" not in reset
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=key_id, Status="Inactive")
    statuses = {c["ServiceSpecificCredentialId"]: c["Status"]
                for c in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]}
    assert statuses[key_id] == "Inactive"
    for c in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(UserName=user,
                                               ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"] == []
    iam.delete_user(UserName=user)


def test_bedrock_api_keys_expire(start_server, tmp_path):
    """An expiring key lists as Expired once its day has come: the same data directory served again
    with a clock two days later (no waiting)."""
    data = str(tmp_path / "data")
    srv = start_server(["--dev", "--dev-clock-start", "2030-06-14T12:00:00Z"], data_dir=data)
    iam = boto_client("iam", srv)
    iam.create_user(UserName="bedrock-user")
    made = iam.create_service_specific_credential(UserName="bedrock-user", ServiceName="bedrock.amazonaws.com",
                                                  CredentialAgeDays=1)["ServiceSpecificCredential"]
    assert made["Status"] == "Active"
    assert made["ExpirationDate"].isoformat().startswith("2030-06-15T12:00")
    # Over the range AWS's model allows (1 to 36,600 days).
    raw = boto_client("iam", srv, parameter_validation=False)
    for days in [0, 36601]:
        with pytest.raises(ClientError) as e:
            raw.create_service_specific_credential(UserName="bedrock-user", ServiceName="bedrock.amazonaws.com",
                                                   CredentialAgeDays=days)
        assert error_of(e)[:2] == (400, "ValidationError")
    srv.stop()
    later = start_server(["--dev", "--dev-clock-start", "2030-06-16T12:00:00Z"], data_dir=data)
    [listed] = boto_client("iam", later).list_service_specific_credentials(
        UserName="bedrock-user")["ServiceSpecificCredentials"]
    assert listed["Status"] == "Expired"


# Self-signed test certificates (openssl req -x509 -newkey rsa:2048 -days 36500), no private keys kept.
SIGNING_CERTS = [
    """-----BEGIN CERTIFICATE-----
MIIDHzCCAgegAwIBAgIUQqUipw5HHy73vwK3TA044vbVZRMwDQYJKoZIhvcNAQEL
BQAwHjEcMBoGA1UEAwwTY29mZmVyLXNpZ25pbmctdGVzdDAgFw0yNjExMjMxNDU1
NTVaGA8yMTI2MTAzMDE0NTU1NVowHjEcMBoGA1UEAwwTY29mZmVyLXNpZ25pbmct
dGVzdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAI1pI+lOyspDQa0G
IjxhJ1J2J2JooIrUdzhIcNezo1z30yA7adSjk5AnVTH+54grY1dm5x93ZZ/jB20o
pfxVTNAv9bFbF6j804MgnYUC+sDOGdGomfHUI/gaIqluclUGX8qdTbCZTAVExrPI
nRclMhVAkY8kN2jbgjnYrScYd9zBPzO/JoOZQZ42NBU7xriUG4GjQh0Q0FoLQkkf
vucNdIm/qs3lZ4iMGkcx0XcANeWVwkFu6BQa072dQ+qbHuu2ypb5D2siS554+vBe
0B/EnWnKgD0SkbWvQZJGttY8d2q0A9rIdAeaa2e4HS3Bvjyw8nOgWjCGBOQhtnND
BK+DGZsCAwEAAaNTMFEwHQYDVR0OBBYEFE0iS/y2JvgTlOIPB4rV9mVubDqIMB8G
A1UdIwQYMBaAFE0iS/y2JvgTlOIPB4rV9mVubDqIMA8GA1UdEwEB/wQFMAMBAf8w
DQYJKoZIhvcNAQELBQADggEBAF65zq8/h/eUVr8P24szUGf34ubQVphw+kUQBNz0
otQ0h/lhgCTXjb2UGNCwHYHeiEC+HdBrzmws4GpRyP0o9Ha3yB+RvV32uUI2CnYo
PCw3hlclUHAfEcdttz7r/mthwDbOQJ28hGvA+QCXyBurLvAvuxNTtp93PqxpzCIP
MWGzQ/5OllTShOFHisxAxILMsCNDT0JOJoX/DEB7oUPLVX1AGa2E4yxlxwYz85PP
psEbro93/iTt1TbBiLR50zcOvk0PYq7iGrAupWLJQLcZX6DhA+gwcOkZumqHv1OU
Hfg14cD6oiWnfKnXYpAUQ0Bj9oDhx89mlB5ABPIgXpKkryc=
-----END CERTIFICATE-----
""",
    """-----BEGIN CERTIFICATE-----
MIIDIzCCAgugAwIBAgIUZT9TQbb+dFVAaSH3lZpGFbZsmlAwDQYJKoZIhvcNAQEL
BQAwIDEeMBwGA1UEAwwVY29mZmVyLXNpZ25pbmctdGVzdC0yMCAXDTI2MTEyMzE0
NTU1NloYDzIxMjYxMDMwMTQ1NTU2WjAgMR4wHAYDVQQDDBVjb2ZmZXItc2lnbmlu
Zy10ZXN0LTIwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC02TzcqmaK
gCLUfQYPCmCedw8tPgdRjHl1RKmga29i6DKEJPRmN1Gun+qf8yyvetomppVMbcow
hmT/cA7O6ZEKHQT8npHF8FCMA5QdEZVDmLnd3Lnr3j0Tw8fppQXaFRomyWOc2LHy
gaFovNV7DekSWafUSEHLQEVHYQD6MThr3tp31IUClezw9bZd5WoLZJyHrEkCqnJh
bOjYJ/2An2juhIBzZOJ2TP6KPi7duZ3UVTE2fyJaoqZQjP0rYnRFXhQJwKgXXuDw
8M186gzH1Hw63TJEYspGuuCZxMoRz6awhxuGwVdkE/cZVxsoynrP/OhWoetnuaiH
ofzd7kmTUuaJAgMBAAGjUzBRMB0GA1UdDgQWBBRGDebP8obi4+6Zx4FpeqsVlTq2
sTAfBgNVHSMEGDAWgBRGDebP8obi4+6Zx4FpeqsVlTq2sTAPBgNVHRMBAf8EBTAD
AQH/MA0GCSqGSIb3DQEBCwUAA4IBAQAW01aS8Q2kIHDHe+4ySH5x/cIKQjBby3lq
2BfiYMk8smEVw1WX4mQ3Me3BH5GR3IPYVn/9Rosd4CkiwcWDBmuYOZb0Vu9pee3W
PwnYKcomrNTDGunK1Ch7JXY8PBqraRCZ2sPtdh7tKSeUMKOeGMLxM6pU4Mz+EsG/
IYyLxV5CVsZSsJgwvqLrOz3Dk1zP8xDKiRclfRtjqsYKcX5Rzn39WGWbxU4NKUrW
JgRqrj1UKgYy2aHflbHUJBNiKRDdHyo2WeyNGLk5s4TVDlNypa2HApwDRM1kkFqt
ql3I0oqlpGCJMUA/+hOQP5a8IwL39W2zFrTYDnTxjP/wRiQK3ksZ
-----END CERTIFICATE-----
""",
    """-----BEGIN CERTIFICATE-----
MIIDIzCCAgugAwIBAgIUQz2jfwOJjA3oY2FUP7Brt8f8QNIwDQYJKoZIhvcNAQEL
BQAwIDEeMBwGA1UEAwwVY29mZmVyLXNpZ25pbmctdGVzdC0zMCAXDTI2MTEyMzE0
NTU1NloYDzIxMjYxMDMwMTQ1NTU2WjAgMR4wHAYDVQQDDBVjb2ZmZXItc2lnbmlu
Zy10ZXN0LTMwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCaJ5wJEJyE
B8cy8k3NCTO8UoE485k2Urt3VoCiPAe6AbxTSbIHM3izxz2apeiXzFGbTy4MkBRH
x3E57xlXEtbIPnIJhij3JjrANibEMu08TiR1tjRmniPiqrjScAvoNCsqeHdSmSSc
i8bK7GjdDPQCKFg5MoRBH3kbK9peQ1y0IIdzj6d23bph6s05XeN6EgZMAtNRKWb9
IAtoev2dz9zpEbWlY9f4+dnUzHygyNSOYhP+AnqqGAPD5CGBBoHo+DBgYYb4H04J
W+pDzT0DiWBU0DhbPmFAF9Mjx72um0IqtlXxRyIIa6WaY9NDDcPUHFa0pz/+8pKM
Jx50tC58V/DZAgMBAAGjUzBRMB0GA1UdDgQWBBR17VQpxWE85LwhlRtIt2YOBfqW
HDAfBgNVHSMEGDAWgBR17VQpxWE85LwhlRtIt2YOBfqWHDAPBgNVHRMBAf8EBTAD
AQH/MA0GCSqGSIb3DQEBCwUAA4IBAQAHDyZRv3TQ3UMlGcMq/jqwK4P6O3KHV4Ri
t1TH3jNj4msv/z1d9V5ZKu8Fj3Sr6GuH7CiX9/0OX+bZ6BcX6w+0ulLbMGaxZp0g
XY94oO8NB82pRQhHsxmRAddQKryIkND3wkbTZLFtE5KrRjs3cqAV+n0DtzxPB/Y8
lw87dmJMhQ99mLeqYH9RbtclhdaFXGqbv1C0ZrJaBIkuy0YG0NRxz/ZJ7A4s7ZXc
pGrK2J0FrYFQLImVNxHXIcs8RMLwGvKN7nmGorG2In/BS+neTnQdCedv7CWrOI0q
xV02ID+qnodqMgZPT0v8oak4AKRZAl+C1Ni+TDuOQ4QN47SVBFIc
-----END CERTIFICATE-----
"""
]


def test_signing_certificates(iam):
    import csv
    import io
    user = unique("certuser")
    iam.create_user(UserName=user)
    cert = iam.upload_signing_certificate(UserName=user, CertificateBody=SIGNING_CERTS[0])["Certificate"]
    cert_id = cert["CertificateId"]
    assert len(cert_id) >= 24 and cert["Status"] == "Active" and cert["UserName"] == user
    assert cert["CertificateBody"] == SIGNING_CERTS[0]
    with pytest.raises(ClientError) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody=SIGNING_CERTS[0])
    assert error_of(e)[:2] == (409, "DuplicateCertificate")
    with pytest.raises(ClientError) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody="-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
    assert error_of(e)[:2] == (400, "MalformedCertificate")
    iam.upload_signing_certificate(UserName=user, CertificateBody=SIGNING_CERTS[1])
    with pytest.raises(ClientError) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody=SIGNING_CERTS[2])
    assert error_of(e) == (409, "LimitExceeded", "Cannot exceed quota for SigningCertificatesPerUser: 2")

    iam.update_signing_certificate(UserName=user, CertificateId=cert_id, Status="Inactive")
    listed = {c["CertificateId"]: c["Status"] for c in iam.list_signing_certificates(UserName=user)["Certificates"]}
    assert listed[cert_id] == "Inactive" and len(listed) == 2

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert error_of(e)[:2] == (409, "DeleteConflict")
    for c in list(listed):
        iam.delete_signing_certificate(UserName=user, CertificateId=c)
    with pytest.raises(ClientError) as e:
        iam.update_signing_certificate(UserName=user, CertificateId=cert_id, Status="Active")
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    assert iam.list_signing_certificates(UserName=user)["Certificates"] == []
    iam.delete_user(UserName=user)


# The private key of SIGNING_CERTS[0], made for this test only and protecting nothing.
TEST_ONLY_KEY = """-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCNaSPpTsrKQ0Gt
BiI8YSdSdidiaKCK1Hc4SHDXs6Nc99MgO2nUo5OQJ1Ux/ueIK2NXZucfd2Wf4wdt
KKX8VUzQL/WxWxeo/NODIJ2FAvrAzhnRqJnx1CP4GiKpbnJVBl/KnU2wmUwFRMaz
yJ0XJTIVQJGPJDdo24I52K0nGHfcwT8zvyaDmUGeNjQVO8a4lBuBo0IdENBaC0JJ
H77nDXSJv6rN5WeIjBpHMdF3ADXllcJBbugUGtO9nUPqmx7rtsqW+Q9rIkueePrw
XtAfxJ1pyoA9EpG1r0GSRrbWPHdqtAPayHQHmmtnuB0twb48sPJzoFowhgTkIbZz
QwSvgxmbAgMBAAECggEAPcQSWPo+7mjBG4Ol2YywAb81BbFgijMyXcWacET5Eob2
00nQOH44WosrlbpaxCn7arY6No7Oty8RU9cg5R4W/oosPUrmAzxnYIuS8gGyqBt9
wIttrmi0S06THEFvM/8kQRpDUGMtBtIbHnT+VJk9DnZU/dpaT3UtpPmk7AIufJ/P
sQVVYji2BiKCswQGiuH40uLQvlcgVdMXaQ+hvnZjrJZ8gkUfvNIAmD6HBf06TzjB
OAXYKv3wJOxACHiOat7XberUYcdUvPxdrNh6MYptuODBEFi2WSaLq7w2b4h8O7Df
Nf9VVSvGdQ6kmmJIEiLsiyXeezrO+y+3P5S3anF5TQKBgQDBUAqi1ICMy6rky+1a
1cXPiZ5EdXxsoqZGD8LU+SpJUcP94tsVqhUtpjrp1rSA58KxtRIsBqB+tVT7zgFK
A19ZSEBqwMZZKulHWlVjAFwDXx2tAQ/EycIxpr0fTiK/NcmFH+sN79LDZx9ZxuY7
SeATipa8/1YXvrACNZn8SkdMrQKBgQC7RG3B9EChaIzwV4qsxM+GStgz6AiW/Msb
zPs/ilvT28Pg9cZ5HJlQ0NqCFPS153Y0ap6UqzcB6YTkzktm4tSP/3FsIFoprAyh
XyJIfwSWxlUTgeTlxo7u9lrrw6cyVhNzYwaK/fJmBrsUtkS+vh1Jp3oF2iDVQUA6
IkktLUhAZwKBgD19JkTw7wrZ5bvtGcyg3tDK52rDLBaqDdWPQdvYfZjgx0TEmgdk
GGRy0Z57yuKN1aINBIC4guiK6UNHHaXbOML/dm3+b5kBSz6E/1AEV0BDSv8yrT9d
JcYBUXrZsbe8diNAKdY/CH1bGd/GookNUJcmqBfp6AqZfwbU4ewb/F3pAoGBAKo1
XQlv5xqN+6Qr/VhhHjpyZqZvHPeXV0iyfB7Zs/MRCa271iSYkOV6n1CimXWIptCn
o/F+2WV8iZSpyLEANLGZPM9JbIn53hUCchewk0wzgnpTkugiHCIoeqVV1O8Ue2Ni
Oz0z6hE/xuThcgRoqhgbB/avty39u9Ha/eX5BXW7AoGAR7ENuSQqLfyn4feXM3dJ
LK5xPQZfoEAINtnqjIPoduknxUbwxGWIFgYXjXZWpJH0UFHY8dNMNNniGl7yuJ1E
aA5FRIRej9Bp0vi62g1CLKOiAT22hA7J7FLnRqrSrdADcu1SHPQ2UwRgIxTMl7Lt
tSM9SNqbBo7v+/Mzb/VGTf4=
-----END PRIVATE KEY-----
"""


def malformed_pems():
    """Certificate bodies an attacker might send: damaged DER inside valid PEM, lying lengths,
    other labels, broken PEM framing, several certificates where one is expected."""
    body = "".join(SIGNING_CERTS[0].strip().splitlines()[1:-1])
    der = base64.b64decode(body)

    def pem(data, label="CERTIFICATE"):
        text = base64.b64encode(data).decode()
        lines = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
        return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"

    flipped = bytearray(der)
    flipped[1] ^= 0x7f
    return {
        "truncated": pem(der[:len(der) // 2]),
        "one byte short": pem(der[:-1]),
        "trailing byte": pem(der + b"\0"),
        "length field of 4 GiB": pem(b"\x30\x84\xff\xff\xff\xff" + der[4:]),
        "length byte changed": pem(bytes(flipped)),
        "not DER": pem(b"\x00" * 300),
        "empty block": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        "bad base64": "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "no end line": SIGNING_CERTS[0].strip().rsplit("\n", 1)[0],
        "another label": SIGNING_CERTS[0].replace("CERTIFICATE", "PUBLIC KEY"),
        "two certificates": SIGNING_CERTS[0] + SIGNING_CERTS[1],
        "whitespace": " \n ",
    }


@pytest.mark.parametrize("case", list(malformed_pems()))
def test_malformed_certificates_are_refused(iam, case):
    bad = malformed_pems()[case]
    user = unique("certs")
    iam.create_user(UserName=user)
    try:
        with pytest.raises(ClientError) as e:
            iam.upload_signing_certificate(UserName=user, CertificateBody=bad)
        assert error_of(e) == (400, "MalformedCertificate",
                               "Unable to parse certificate. Please ensure the certificate is in PEM format.")
        with pytest.raises(ClientError) as e:
            iam.upload_server_certificate(ServerCertificateName=unique("tls"), CertificateBody=bad,
                                          PrivateKey=TEST_ONLY_KEY)
        assert error_of(e) == (400, "MalformedCertificate",
                               "Unable to parse certificate. Please ensure the certificate is in PEM format.")
        if case != "two certificates":  # a chain may hold several
            with pytest.raises(ClientError) as e:
                iam.upload_server_certificate(ServerCertificateName=unique("tls"), CertificateBody=SIGNING_CERTS[0],
                                              PrivateKey=TEST_ONLY_KEY, CertificateChain=bad)
            assert error_of(e) == (400, "MalformedCertificate", "Unable to parse certificate chain. "
                                   "Please ensure the certificate chain is in PEM format.")
        # The same damage done to the private key.
        damaged_key = bad.replace("CERTIFICATE", "PRIVATE KEY") if "CERTIFICATE" in bad else bad
        with pytest.raises(ClientError) as e:
            iam.upload_server_certificate(ServerCertificateName=unique("tls"), CertificateBody=SIGNING_CERTS[0],
                                          PrivateKey=damaged_key)
        assert error_of(e)[:2] == (400, "MalformedCertificate")
        assert iam.list_signing_certificates(UserName=user)["Certificates"] == []
    finally:
        iam.delete_user(UserName=user)


def test_server_certificates(iam):
    name = unique("tls")
    meta = iam.upload_server_certificate(
        ServerCertificateName=name, Path="/cloudfront/", CertificateBody=SIGNING_CERTS[0],
        PrivateKey=TEST_ONLY_KEY, CertificateChain=SIGNING_CERTS[1],
        Tags=[{"Key": "env", "Value": "test"}])["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::{ACCOUNT}:server-certificate/cloudfront/{name}"
    assert meta["ServerCertificateId"].startswith("ASCA") and meta["Expiration"].year >= 2100
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=SIGNING_CERTS[0],
                                      PrivateKey=TEST_ONLY_KEY)
    assert error_of(e) == (409, "EntityAlreadyExists", f"The Server Certificate with name {name} already exists.")
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName=unique("tls"), CertificateBody=SIGNING_CERTS[1],
                                      PrivateKey=TEST_ONLY_KEY)
    assert error_of(e)[:2] == (400, "KeyPairMismatch")
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName=unique("tls"), CertificateBody="garbage",
                                      PrivateKey=TEST_ONLY_KEY)
    assert error_of(e)[:2] == (400, "MalformedCertificate")
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName=unique("tls"), CertificateBody=SIGNING_CERTS[0],
                                      PrivateKey="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
    assert error_of(e)[:2] == (400, "MalformedCertificate")

    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == SIGNING_CERTS[0] and got["CertificateChain"] == SIGNING_CERTS[1]
    assert "PrivateKey" not in got and got["Tags"] == [{"Key": "env", "Value": "test"}]
    listed = iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]
    assert name in [m["ServerCertificateName"] for m in listed]

    renamed = unique("tls2")
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=renamed, NewPath="/elb/")
    got = iam.get_server_certificate(ServerCertificateName=renamed)["ServerCertificate"]["ServerCertificateMetadata"]
    assert got["Path"] == "/elb/" and got["ServerCertificateId"] == meta["ServerCertificateId"]
    with pytest.raises(ClientError) as e:
        iam.get_server_certificate(ServerCertificateName=name)
    assert error_of(e) == (404, "NoSuchEntity", f"The Server Certificate with name {name} cannot be found.")

    iam.tag_server_certificate(ServerCertificateName=renamed, Tags=[{"Key": "team", "Value": "x"}])
    iam.untag_server_certificate(ServerCertificateName=renamed, TagKeys=["env"])
    assert iam.list_server_certificate_tags(ServerCertificateName=renamed)["Tags"] == [{"Key": "team", "Value": "x"}]
    iam.delete_server_certificate(ServerCertificateName=renamed)
    with pytest.raises(ClientError) as e:
        iam.delete_server_certificate(ServerCertificateName=renamed)
    assert error_of(e)[:2] == (404, "NoSuchEntity")


def test_security_token_service_preferences(start_server):
    srv = start_server(["--dev"])
    iam = boto_client("iam", srv, key="123456789012", secret="x")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
