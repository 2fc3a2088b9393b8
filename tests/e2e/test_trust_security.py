"""Issue 11, points 1 and 2, through boto3 against the production configuration: a role's trust
policy must always allow assuming it (same account too), and principals are bound to unique ids,
not names — a user or role deleted and re-created under the same name inherits nothing.

IAM User Guide: "How IAM roles differ from resource-based policies", the role trust policy pages,
the policy evaluation logic, and the `Principal` element ("the ARN transforms to the principal's
unique ID when you save the policy")."""
import json
import subprocess

from botocore.exceptions import ClientError
import pytest

from conftest import ACCOUNT, boto_client, coffer_bin
from test_sts import Creds, alice, allow, assume, error, new_role, new_user, policy, trust, uid  # noqa: F401 (alice is a fixture)


def denied_message(caller_arn, role):
    return f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}"


# --- 1. the trust policy must always allow -------------------------------------------------------

def test_identity_policy_alone_cannot_assume_a_role_trusting_someone_else(server):
    iam = boto_client("iam", server)
    bob = new_user(server)
    mallory = new_user(server, None, policy(allow("sts:AssumeRole"), allow("iam:CreateUser")))
    admin = new_role(server, trust(bob.arn, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    iam.attach_role_policy(RoleName=admin["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    resp = error(lambda: assume(mallory, admin))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"] == denied_message(mallory.arn, admin)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    # The same with AWS's PowerUserAccess (which allows sts:AssumeRole on everything).
    power = new_user(server)
    iam.attach_user_policy(UserName=power.name, PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess")
    assert error(lambda: assume(power, admin))["Error"]["Code"] == "AccessDenied"
    # Nothing was created on the way.
    assert not any(u["UserName"].startswith("evil") for u in iam.list_users()["Users"])


def test_role_sessions_cannot_hop_to_roles_that_do_not_trust_them(server, alice):
    iam = boto_client("iam", server)
    hop = new_role(server, trust(alice.arn))
    iam.put_role_policy(RoleName=hop["RoleName"], PolicyName="assume-all", PolicyDocument=policy(allow("sts:AssumeRole")))
    target = new_role(server, trust(new_user(server).arn))
    session = Creds.of(server, assume(alice, hop, "hopper")["Credentials"])
    resp = error(lambda: assume(session, target))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"] == denied_message(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{hop['RoleName']}/hopper", target)
    # A trust policy naming the session's role lets its sessions in (role chaining).
    chained = new_role(server, trust(hop["Arn"]))
    assert assume(session, chained)["AssumedRoleUser"]["Arn"].endswith(f"/{chained['RoleName']}/s1")


def test_external_id_is_checked_whatever_the_identity_policy_says(server):
    caller = new_user(server, None, policy(allow("sts:AssumeRole")))
    role = new_role(server, trust(ACCOUNT, Condition={"StringEquals": {"sts:ExternalId": "tenant-42"}}))
    assert error(lambda: assume(caller, role))["Error"]["Code"] == "AccessDenied"
    assert error(lambda: assume(caller, role, ExternalId="tenant-41"))["Error"]["Code"] == "AccessDenied"
    assert assume(caller, role, ExternalId="tenant-42")["AssumedRoleUser"]["Arn"].endswith("/s1")


def test_account_trust_needs_the_identity_policy_and_the_boundary(server):
    iam = boto_client("iam", server)
    role = new_role(server, trust(f"arn:aws:iam::{ACCOUNT}:root"))
    caller = new_user(server)
    resp = error(lambda: assume(caller, role))
    assert resp["Error"]["Message"] == (
        denied_message(caller.arn, role) + " because no identity-based policy allows the sts:AssumeRole action")
    iam.put_user_policy(UserName=caller.name, PolicyName="assume",
                        PolicyDocument=policy(allow("sts:AssumeRole", role["Arn"])))
    assume(caller, role)
    # A permissions boundary without sts:AssumeRole stops it, even when the trust names the user.
    direct = new_role(server, trust(caller.arn))
    boundary = iam.create_policy(PolicyName=uid("no-sts"),
                                 PolicyDocument=policy(allow("secretsmanager:*")))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=caller.name, PermissionsBoundary=boundary)
    for r in (role, direct):
        resp = error(lambda: assume(caller, r))
        assert resp["Error"]["Message"].endswith("because no permissions boundary allows the sts:AssumeRole action")


def test_a_direct_trust_needs_no_identity_policy(server, alice):
    role = new_role(server, trust(alice.arn))
    assert assume(alice, role)["AssumedRoleUser"]["Arn"].endswith("/s1")


def test_explicit_deny_in_the_trust_policy_wins(server, alice):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": alice.arn}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"StringLike": {"sts:RoleSessionName": "blocked-*"}}}]})
    role = boto_client("iam", server).create_role(RoleName=uid("deny"), AssumeRolePolicyDocument=doc)["Role"]
    assume(alice, role, "ok")
    resp = error(lambda: assume(alice, role, "blocked-1"))
    assert resp["Error"]["Message"] == denied_message(alice.arn, role) + \
        " with an explicit deny in a resource-based policy"


def test_session_tags_need_the_trust_policy_to_allow_tag_session(server, alice):
    role = new_role(server, trust(alice.arn))
    boto_client("iam", server).put_user_policy(UserName=alice.name, PolicyName="tag",
                                               PolicyDocument=policy(allow("sts:TagSession")))
    resp = error(lambda: assume(alice, role, Tags=[{"Key": "team", "Value": "a"}]))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert "sts:TagSession" in resp["Error"]["Message"]


def test_missing_roles_are_denied_before_anything_else(server):
    caller = new_user(server, None, policy(allow("sts:AssumeRole")))
    missing = {"Arn": f"arn:aws:iam::{ACCOUNT}:role/no-such-role-{uid('x')}"}
    resp = error(lambda: assume(caller, missing))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"] == denied_message(caller.arn, missing)


def simulate_assume(iam, caller_arn, trust_doc, identity_doc, role_arn):
    [result] = iam.simulate_custom_policy(
        PolicyInputList=[identity_doc], ActionNames=["sts:AssumeRole"], ResourceArns=[role_arn],
        ResourcePolicy=trust_doc, CallerArn=caller_arn)["EvaluationResults"]
    return result["EvalDecision"]


def test_the_simulator_applies_the_same_trust_rule(server):
    iam = boto_client("iam", server)
    caller = new_user(server)
    other = new_user(server)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    anything = policy(allow("sts:AssumeRole"))
    assert simulate_assume(iam, caller.arn, trust(other.arn), anything, role_arn) == "implicitDeny"
    assert simulate_assume(iam, caller.arn, trust(caller.arn), policy(allow("s3:GetObject")), role_arn) == "allowed"
    assert simulate_assume(iam, caller.arn, trust(ACCOUNT), policy(allow("s3:GetObject")), role_arn) == "implicitDeny"
    assert simulate_assume(iam, caller.arn, trust(ACCOUNT), anything, role_arn) == "allowed"
    # SimulatePrincipalPolicy with the user's stored policies agrees.
    iam.put_user_policy(UserName=caller.name, PolicyName="assume", PolicyDocument=anything)
    [r] = iam.simulate_principal_policy(PolicySourceArn=caller.arn, ActionNames=["sts:AssumeRole"],
                                        ResourceArns=[role_arn], ResourcePolicy=trust(other.arn))["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    [r] = iam.simulate_principal_policy(PolicySourceArn=caller.arn, ActionNames=["sts:AssumeRole"],
                                        ResourceArns=[role_arn], ResourcePolicy=trust(caller.arn))["EvaluationResults"]
    assert r["EvalDecision"] == "allowed"


# --- 2. unique ids, not names --------------------------------------------------------------------

def recreate_user(iam, name, *policies):
    iam.create_user(UserName=name)
    for i, doc in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=doc)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key


def delete_user(iam, name):
    for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    for p in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=p)
    iam.delete_user(UserName=name)


def test_session_and_federation_tokens_end_with_their_user(server):
    iam = boto_client("iam", server)
    everything = policy(allow("secretsmanager:ListSecrets"), allow("sts:GetFederationToken"))
    user = new_user(server, None, everything)
    session = Creds.of(server, user.client("sts").get_session_token()["Credentials"])
    federated = Creds.of(server, user.client("sts").get_federation_token(
        Name="fed", Policy=policy(allow("secretsmanager:ListSecrets")))["Credentials"])
    session.client("secretsmanager").list_secrets()
    federated.client("secretsmanager").list_secrets()
    delete_user(iam, user.name)
    recreate_user(iam, user.name, everything)
    for creds in (session, federated):
        resp = error(creds.client("secretsmanager").list_secrets)
        assert resp["Error"]["Code"] == "AccessDeniedException"


def test_trust_in_a_deleted_user_is_not_inherited_by_its_namesake(server):
    iam = boto_client("iam", server)
    bob = new_user(server)
    old_id = iam.get_user(UserName=bob.name)["User"]["UserId"]
    role = new_role(server, trust(bob.arn))
    assume(bob, role)
    delete_user(iam, bob.name)
    key = recreate_user(iam, bob.name)
    new_bob = Creds(server, key["AccessKeyId"], key["SecretAccessKey"])
    resp = error(lambda: assume(new_bob, role))
    assert resp["Error"]["Code"] == "AccessDenied"
    # GetRole shows the old unique id where the ARN was, as AWS does.
    doc = iam.get_role(RoleName=role["RoleName"])["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"]["AWS"] == old_id
    listed = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role["RoleName"]]
    assert listed[0]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] == old_id
    # Saving the policy again binds the new bob.
    iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=trust(bob.arn))
    assert assume(new_bob, role)["AssumedRoleUser"]["Arn"].endswith("/s1")
    doc = iam.get_role(RoleName=role["RoleName"])["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"]["AWS"] == bob.arn


def test_trust_in_a_deleted_role_is_not_inherited_by_its_namesake(server, alice):
    iam = boto_client("iam", server)
    first = new_role(server, trust(alice.arn))
    target = new_role(server, trust(first["Arn"]))
    session = Creds.of(server, assume(alice, first)["Credentials"])
    assume(session, target)
    iam.delete_role(RoleName=first["RoleName"])
    iam.create_role(RoleName=first["RoleName"], AssumeRolePolicyDocument=trust(alice.arn))
    new_session = Creds.of(server, assume(alice, first)["Credentials"])
    assert error(lambda: assume(new_session, target))["Error"]["Code"] == "AccessDenied"
    doc = iam.get_role(RoleName=target["RoleName"])["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"]["AWS"] == first["RoleId"]


def test_secret_policies_bind_principals_too(server):
    iam = boto_client("iam", server)
    sm = boto_client("secretsmanager", server)
    name = uid("bound")
    arn = sm.create_secret(Name=name, SecretString="s3cr3t-value")["ARN"]
    reader = new_user(server)
    old_id = iam.get_user(UserName=reader.name)["User"]["UserId"]
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": reader.arn}, "Action": "secretsmanager:GetSecretValue",
        "Resource": "*"}]})
    sm.put_resource_policy(SecretId=name, ResourcePolicy=doc)
    assert reader.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"] == "s3cr3t-value"
    delete_user(iam, reader.name)
    key = recreate_user(iam, reader.name)
    namesake = Creds(server, key["AccessKeyId"], key["SecretAccessKey"])
    resp = error(lambda: namesake.client("secretsmanager").get_secret_value(SecretId=arn))
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert "s3cr3t-value" not in json.dumps(resp, default=str)
    shown = json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"])
    assert shown["Statement"][0]["Principal"]["AWS"] == old_id
    # A principal that does not exist is refused, as AWS refuses one it cannot resolve.
    missing = doc.replace(reader.name, uid("nobody"))
    resp = error(lambda: sm.put_resource_policy(SecretId=name, ResourcePolicy=missing))
    assert resp["Error"]["Code"] == "MalformedPolicyDocumentException"
    assert resp["Error"]["Message"] == "This resource policy contains an unsupported principal."


def test_trust_naming_a_missing_user_is_refused(server):
    iam = boto_client("iam", server)
    resp = error(lambda: iam.create_role(RoleName=uid("r"), AssumeRolePolicyDocument=trust(
        f"arn:aws:iam::{ACCOUNT}:user/{uid('ghost')}")))
    assert resp["Error"]["Code"] == "MalformedPolicyDocument"
    assert resp["Error"]["Message"].startswith('Invalid principal in policy: "AWS":"arn:aws:iam::')
