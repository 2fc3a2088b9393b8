"""STS end to end with boto3 (and the AWS CLI): temporary credentials from AssumeRole,
GetSessionToken and GetFederationToken, and how requests signed with them are authorized."""
import base64
import collections
import concurrent.futures
import datetime
import hashlib
import hmac
import json
import socket
import struct
import threading
import time
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client, cli_env, coffer_bin


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def trust(principal, action="sts:AssumeRole", **extra):
    return policy(dict({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action}, **extra))


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response


class Creds:
    def __init__(self, srv, key, secret, token=None):
        self.srv, self.key, self.secret, self.token = srv, key, secret, token

    @classmethod
    def of(cls, srv, credentials):
        return cls(srv, credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])

    def client(self, service, **config):
        return boto_client(service, self.srv, key=self.key, secret=self.secret, token=self.token, **config)

    def unchecked(self, service):
        """A client that sends what botocore's own validation would refuse, to see the server's answer."""
        return self.client(service, parameter_validation=False)


def new_user(srv, iam=None, *policies):
    iam = iam or boto_client("iam", srv)
    name = uid("user")
    iam.create_user(UserName=name)
    for i, doc in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=doc)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = Creds(srv, key["AccessKeyId"], key["SecretAccessKey"])
    creds.name = name
    creds.arn = f"arn:aws:iam::{iam.get_user(UserName=name)['User']['Arn'].split(':')[4]}:user/{name}"
    return creds


def new_role(srv, trust_policy, iam=None, **kwargs):
    iam = iam or boto_client("iam", srv)
    name = uid("role")
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy, **kwargs)["Role"]


@pytest.fixture
def alice(server):
    return new_user(server)


@pytest.fixture
def role(server, alice):
    """A role whose trust policy names alice directly (no identity policy needed, same account)."""
    return new_role(server, trust(alice.arn, ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]))


def assume(creds, role, session="s1", **kwargs):
    return creds.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName=session, **kwargs)


# --- AssumeRole ----------------------------------------------------------------------------------

def test_assume_role_answer_and_caller_identity(server, alice, role):
    before = datetime.datetime.now(datetime.timezone.utc)
    resp = assume(alice, role, "deploy@ci")
    user = resp["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/deploy@ci"
    assert user["AssumedRoleId"] == f"{role['RoleId']}:deploy@ci"
    assert "PackedPolicySize" not in resp
    c = resp["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20
    assert len(c["SecretAccessKey"]) == 40 and len(c["SessionToken"]) > 100
    lasting = c["Expiration"] - before
    assert datetime.timedelta(seconds=3590) < lasting < datetime.timedelta(seconds=3610)
    ident = Creds.of(server, c).client("sts").get_caller_identity()
    assert ident["Arn"] == user["Arn"]
    assert ident["UserId"] == user["AssumedRoleId"]
    assert ident["Account"] == ACCOUNT


def test_root_cannot_assume_roles(server, role):
    resp = error(lambda: boto_client("sts", server).assume_role(RoleArn=role["Arn"], RoleSessionName="s0"))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"] == "Roles may not be assumed by root accounts."
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_trust_policy_decides(server, alice):
    other = new_user(server)
    role = new_role(server, trust(other.arn))
    resp = error(lambda: assume(alice, role))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"].startswith(
        f"User: {alice.arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}")
    # A trust policy naming the account delegates to the caller's identity policies.
    account_role = new_role(server, trust(ACCOUNT))
    error(lambda: assume(alice, account_role))
    boto_client("iam", server).put_user_policy(
        UserName=alice.name, PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole", account_role["Arn"])))
    assert assume(alice, account_role)["AssumedRoleUser"]["Arn"].endswith(f"/{account_role['RoleName']}/s1")
    # Missing roles are not revealed.
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    resp = error(lambda: alice.client("sts").assume_role(RoleArn=missing, RoleSessionName="s0"))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert missing in resp["Error"]["Message"]


def test_role_session_is_authorized_by_the_role_policies(server, alice, role):
    session = Creds.of(server, assume(alice, role)["Credentials"])
    sm = session.client("secretsmanager")
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/s1"
    resp = error(sm.list_secrets)
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert resp["Error"]["Message"] == (
        f"User: {arn} is not authorized to perform: secretsmanager:ListSecrets "
        "because no identity-based policy allows the secretsmanager:ListSecrets action")
    iam = boto_client("iam", server)
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="list",
                        PolicyDocument=policy(allow("secretsmanager:ListSecrets")))
    assert "SecretList" in sm.list_secrets()
    # Role sessions may call IAM as the role's policies allow.
    resp = error(lambda: session.client("iam").list_users())
    assert resp["Error"]["Code"] == "AccessDenied"
    # A deleted role's sessions lose every permission.
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="list")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="all", PolicyDocument=policy(allow("*")))
    assert "SecretList" in sm.list_secrets()
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="all")
    iam.delete_role(RoleName=role["RoleName"])
    iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=trust(alice.arn))
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="all", PolicyDocument=policy(allow("*")))
    assert error(sm.list_secrets)["Error"]["Code"] == "AccessDeniedException"


def test_session_policy_narrows_and_boundary_limits(server, alice, role):
    iam = boto_client("iam", server)
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="all",
                        PolicyDocument=policy(allow("secretsmanager:*")))
    resp = assume(alice, role, Policy=policy(allow("secretsmanager:ListSecrets")))
    assert 0 < resp["PackedPolicySize"] <= 100
    sm = Creds.of(server, resp["Credentials"]).client("secretsmanager")
    sm.list_secrets()
    resp = error(lambda: sm.create_secret(Name=uid("narrowed"), SecretString="x"))
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert "session policy" in resp["Error"]["Message"]
    # Managed session policies narrow the same way.
    managed = iam.create_policy(PolicyName=uid("describe-only"),
                                PolicyDocument=policy(allow("secretsmanager:DescribeSecret")))["Policy"]["Arn"]
    sm = Creds.of(server, assume(alice, role, PolicyArns=[{"arn": managed}])["Credentials"]).client("secretsmanager")
    assert error(sm.list_secrets)["Error"]["Code"] == "AccessDeniedException"
    # A permissions boundary limits the role's sessions.
    boundary = iam.create_policy(PolicyName=uid("boundary"),
                                 PolicyDocument=policy(allow("secretsmanager:ListSecrets")))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName=role["RoleName"], PermissionsBoundary=boundary)
    sm = Creds.of(server, assume(alice, role)["Credentials"]).client("secretsmanager")
    sm.list_secrets()
    resp = error(lambda: sm.create_secret(Name=uid("bounded"), SecretString="x"))
    assert "permissions boundary" in resp["Error"]["Message"]


def test_session_policy_limits_a_public_secret_policy(server, alice, role):
    """A secret policy granting to everyone does not lift a session policy: only a grant to the
    session's own ARN does (scoped-down credentials must not escape through a public policy)."""
    sm_root = boto_client("secretsmanager", server)
    name = uid("public")
    arn = sm_root.create_secret(Name=name, SecretString="s3cr3t-public")["ARN"]
    try:
        for principal in ("*", {"AWS": "*"}):
            sm_root.put_resource_policy(SecretId=arn, BlockPublicPolicy=False, ResourcePolicy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": principal,
                               "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
            narrowed = Creds.of(server, assume(alice, role, Policy=policy(allow("s3:GetObject")))["Credentials"])
            resp = error(lambda: narrowed.client("secretsmanager").get_secret_value(SecretId=arn))
            assert resp["Error"]["Code"] == "AccessDeniedException"
            assert "session policy" in resp["Error"]["Message"]
            assert "s3cr3t-public" not in json.dumps(resp, default=str)
            # The same session without a session policy is let in by the public grant alone.
            plain = Creds.of(server, assume(alice, role)["Credentials"])
            assert plain.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"] == "s3cr3t-public"
    finally:
        sm_root.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_malformed_session_policy(alice, role):
    resp = error(lambda: assume(alice, role, Policy="{not json"))
    assert resp["Error"]["Code"] == "MalformedPolicyDocument"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_external_id_and_session_name_conditions(server, alice):
    role = new_role(server, trust(alice.arn, Condition={"StringEquals": {"sts:ExternalId": "xyz-123"},
                                                        "StringLike": {"sts:RoleSessionName": "ci-*"}}))
    assert error(lambda: assume(alice, role, "ci-1"))["Error"]["Code"] == "AccessDenied"
    assert error(lambda: assume(alice, role, "ci-1", ExternalId="wrong-id"))["Error"]["Code"] == "AccessDenied"
    assert error(lambda: assume(alice, role, "other", ExternalId="xyz-123"))["Error"]["Code"] == "AccessDenied"
    assert assume(alice, role, "ci-1", ExternalId="xyz-123")["AssumedRoleUser"]["Arn"].endswith("/ci-1")


def test_durations(server, alice):
    role = new_role(server, trust(alice.arn))
    resp = error(lambda: alice.unchecked("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1",
                                                            DurationSeconds=899))
    assert resp["Error"]["Code"] == "ValidationError"
    assert "Member must have value greater than or equal to 900" in resp["Error"]["Message"]
    resp = error(lambda: assume(alice, role, DurationSeconds=3601))
    assert resp["Error"]["Code"] == "ValidationError"
    assert resp["Error"]["Message"] == \
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    long_role = new_role(server, trust([alice.arn, ACCOUNT]), MaxSessionDuration=7200)
    before = datetime.datetime.now(datetime.timezone.utc)
    c = assume(alice, long_role, DurationSeconds=7200)["Credentials"]
    assert datetime.timedelta(seconds=7190) < c["Expiration"] - before < datetime.timedelta(seconds=7210)
    c = assume(alice, role, DurationSeconds=900)["Credentials"]
    assert c["Expiration"] - before < datetime.timedelta(seconds=910)
    # Role chaining: at most one hour.
    boto_client("iam", server).put_role_policy(RoleName=role["RoleName"], PolicyName="chain",
                                               PolicyDocument=policy(allow("sts:AssumeRole")))
    session = Creds.of(server, assume(alice, role)["Credentials"])
    resp = error(lambda: assume(session, long_role, DurationSeconds=3700))
    assert resp["Error"]["Message"] == \
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    chained = assume(session, long_role, "chained")
    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{long_role['RoleName']}/chained"


def test_invalid_parameters(alice, role):
    resp = error(lambda: alice.client("sts").assume_role(RoleArn="nothing-valid-in-here", RoleSessionName="s0"))
    assert resp["Error"] == {"Type": "Sender", "Code": "ValidationError",
                             "Message": "nothing-valid-in-here is invalid"}
    resp = error(lambda: alice.client("sts").assume_role(RoleArn="arn:a:a::aaaaaaaaaa:", RoleSessionName="s0"))
    assert resp["Error"]["Message"] == "arn:a:a::aaaaaaaaaa: is invalid"
    resp = error(lambda: assume(alice, role, "Session1:2"))
    assert resp["Error"]["Code"] == "ValidationError"
    assert resp["Error"]["Message"] == ("1 validation error detected: Value 'Session1:2' at 'roleSessionName' "
                                        "failed to satisfy constraint: Member must satisfy regular expression "
                                        "pattern: [\\w+=,.@-]*")


def test_session_tags(server, alice, role):
    iam = boto_client("iam", server)
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="by-tag", PolicyDocument=policy(
        allow("secretsmanager:ListSecrets", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})))
    blue = Creds.of(server, assume(alice, role, Tags=[{"Key": "team", "Value": "blue"}])["Credentials"])
    blue.client("secretsmanager").list_secrets()
    red = Creds.of(server, assume(alice, role, Tags=[{"Key": "team", "Value": "red"}])["Credentials"])
    assert error(red.client("secretsmanager").list_secrets)["Error"]["Code"] == "AccessDeniedException"
    # Role tags count as principal tags too; session tags override them.
    iam.tag_role(RoleName=role["RoleName"], Tags=[{"Key": "team", "Value": "blue"}])
    Creds.of(server, assume(alice, role)["Credentials"]).client("secretsmanager").list_secrets()
    red = Creds.of(server, assume(alice, role, Tags=[{"Key": "team", "Value": "red"}])["Credentials"])
    assert error(red.client("secretsmanager").list_secrets)["Error"]["Code"] == "AccessDeniedException"

    resp = error(lambda: assume(alice, role, Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]))
    assert resp["Error"] == {"Type": "Sender", "Code": "InvalidParameterValue",
                             "Message": "Duplicate tag keys found. Please note that Tag keys are case insensitive."}
    resp = error(lambda: assume(alice, role, Tags=[{"Key": "team", "Value": "a"}], TransitiveTagKeys=["project"]))
    assert resp["Error"]["Message"] == "The specified transitive tag key must be included in the requested tags."
    # Passing tags needs sts:TagSession in the trust policy.
    untagged = new_role(server, trust(alice.arn))
    resp = error(lambda: assume(alice, untagged, Tags=[{"Key": "team", "Value": "blue"}]))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert "sts:TagSession" in resp["Error"]["Message"]
    # Conditions on the requested tags.
    strict = new_role(server, trust(alice.arn, ["sts:AssumeRole", "sts:TagSession"],
                                    Condition={"StringEquals": {"aws:RequestTag/team": "blue"}}))
    assert error(lambda: assume(alice, strict, Tags=[{"Key": "team", "Value": "red"}]))["Error"]["Code"] == "AccessDenied"
    assume(alice, strict, Tags=[{"Key": "team", "Value": "blue"}])


def test_user_tags_are_principal_tags(server):
    iam = boto_client("iam", server)
    user = new_user(server, None, policy(
        allow("secretsmanager:ListSecrets", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})))
    assert error(user.client("secretsmanager").list_secrets)["Error"]["Code"] == "AccessDeniedException"
    iam.tag_user(UserName=user.name, Tags=[{"Key": "team", "Value": "blue"}])
    user.client("secretsmanager").list_secrets()
    # A session token acts as the user, tags included.
    Creds.of(server, user.client("sts").get_session_token()["Credentials"]).client("secretsmanager").list_secrets()


def test_transitive_tags_pass_through_role_chaining(server, alice, role):
    second = new_role(server, trust(ACCOUNT, ["sts:AssumeRole", "sts:TagSession"]))
    iam = boto_client("iam", server)
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="chain", PolicyDocument=policy(allow("sts:*")))
    iam.put_role_policy(RoleName=second["RoleName"], PolicyName="by-tag", PolicyDocument=policy(
        allow("secretsmanager:ListSecrets", Condition={"StringEquals": {"aws:PrincipalTag/project": "x"}})))
    first = Creds.of(server, assume(alice, role, Tags=[{"Key": "project", "Value": "x"}],
                                    TransitiveTagKeys=["project"])["Credentials"])
    chained = Creds.of(server, assume(first, second)["Credentials"])
    chained.client("secretsmanager").list_secrets()
    resp = error(lambda: assume(first, second, Tags=[{"Key": "Project", "Value": "y"}]))
    assert resp["Error"]["Code"] == "InvalidParameterValue"
    assert resp["Error"]["Message"] == ("One of the specified transitive tag keys can't be set because it "
                                        "conflicts with a transitive tag key from the calling session.")


def test_source_identity(server, alice, role):
    strict = new_role(server, trust(alice.arn, ["sts:AssumeRole", "sts:SetSourceIdentity"],
                                    Condition={"StringEquals": {"sts:SourceIdentity": "alice@example.com"}}))
    assert error(lambda: assume(alice, strict))["Error"]["Code"] == "AccessDenied"
    resp = assume(alice, strict, SourceIdentity="alice@example.com")
    assert resp["SourceIdentity"] == "alice@example.com"
    no_set = new_role(server, trust(alice.arn))
    resp = error(lambda: assume(alice, no_set, SourceIdentity="alice@example.com"))
    assert "sts:SetSourceIdentity" in resp["Error"]["Message"]
    boto_client("iam", server).put_role_policy(RoleName=role["RoleName"], PolicyName="src", PolicyDocument=policy(
        allow("secretsmanager:ListSecrets", Condition={"StringEquals": {"aws:SourceIdentity": "alice@example.com"}})))
    with_source = Creds.of(server, assume(alice, role, SourceIdentity="alice@example.com")["Credentials"])
    with_source.client("secretsmanager").list_secrets()
    without = Creds.of(server, assume(alice, role)["Credentials"])
    assert error(without.client("secretsmanager").list_secrets)["Error"]["Code"] == "AccessDeniedException"


def test_wrong_or_missing_session_token(server, alice, role):
    c = assume(alice, role)["Credentials"]
    for token in ("wrong" + c["SessionToken"][5:], None):
        resp = error(boto_client("sts", server, key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                                 token=token).get_caller_identity)
        assert resp["Error"]["Code"] == "InvalidClientTokenId"
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    resp = error(boto_client("sts", server, key=c["AccessKeyId"], secret="x" * 40,
                             token=c["SessionToken"]).get_caller_identity)
    assert resp["Error"]["Code"] == "SignatureDoesNotMatch"


def test_cross_account_assume_role(server):
    out = subprocess.run([coffer_bin(), "admin", "account", "create", "--data-dir", server.data_dir],
                         capture_output=True, text=True, timeout=60, check=True)
    other = json.loads(out.stdout)
    other_root = Creds(server, other["AccessKeyId"], other["SecretAccessKey"])
    other_iam = other_root.client("iam")
    bob = new_user(server, other_iam)
    assert bob.arn.startswith(f"arn:aws:iam::{other['AccountId']}:user/")
    trusting = new_role(server, trust(other["AccountId"]))
    not_trusting = new_role(server, trust(ACCOUNT))
    # Cross-account, both sides must allow: the trust policy and bob's own policies.
    resp = error(lambda: assume(bob, trusting))
    assert resp["Error"]["Code"] == "AccessDenied"
    other_iam.put_user_policy(UserName=bob.name, PolicyName="assume",
                              PolicyDocument=policy(allow("sts:AssumeRole")))
    resp = assume(bob, trusting, "from-b")
    assert resp["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{trusting['RoleName']}/from-b"
    ident = Creds.of(server, resp["Credentials"]).client("sts").get_caller_identity()
    assert ident["Account"] == ACCOUNT
    assert error(lambda: assume(bob, not_trusting))["Error"]["Code"] == "AccessDenied"
    # The other account's root cannot assume roles either.
    assert error(lambda: assume(other_root, trusting))["Error"]["Message"] == \
        "Roles may not be assumed by root accounts."


# --- GetSessionToken -----------------------------------------------------------------------------

def test_get_session_token(server):
    user = new_user(server, None, policy(allow("secretsmanager:ListSecrets")))
    assert user.client("sts").get_caller_identity()["Arn"] == user.arn
    before = datetime.datetime.now(datetime.timezone.utc)
    c = user.client("sts").get_session_token()["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert datetime.timedelta(hours=12) - datetime.timedelta(seconds=10) < c["Expiration"] - before \
        < datetime.timedelta(hours=12, seconds=10)
    session = Creds.of(server, c)
    ident = session.client("sts").get_caller_identity()
    assert ident["Arn"] == user.arn
    assert ident["UserId"] == boto_client("iam", server).get_user(UserName=user.name)["User"]["UserId"]
    session.client("secretsmanager").list_secrets()
    assert error(lambda: session.client("secretsmanager").create_secret(Name=uid("x"), SecretString="x"))[
        "Error"]["Code"] == "AccessDeniedException"
    # No IAM without MFA, and no STS but AssumeRole and GetCallerIdentity.
    resp = error(session.client("iam").list_users)
    assert resp["Error"] == {"Type": "Sender", "Code": "InvalidClientTokenId",
                             "Message": "The security token included in the request is invalid"}
    resp = error(session.client("sts").get_session_token)
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"] == "Cannot call GetSessionToken with session credentials"
    resp = error(lambda: session.client("sts").get_federation_token(Name="bob"))
    assert resp["Error"]["Message"] == "Cannot call GetFederationToken with session credentials"
    # Durations.
    assert error(lambda: user.unchecked("sts").get_session_token(DurationSeconds=899))["Error"]["Code"] == \
        "ValidationError"
    assert error(lambda: user.unchecked("sts").get_session_token(DurationSeconds=129601))["Error"]["Code"] == \
        "ValidationError"
    c = user.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert c["Expiration"] - before < datetime.timedelta(seconds=910)


def test_root_session_token_lasts_an_hour_at_most(server):
    before = datetime.datetime.now(datetime.timezone.utc)
    c = boto_client("sts", server).get_session_token(DurationSeconds=7200)["Credentials"]
    assert c["Expiration"] - before < datetime.timedelta(seconds=3610)
    ident = Creds.of(server, c).client("sts").get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    Creds.of(server, c).client("secretsmanager").list_secrets()


def totp(seed, step):
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    digest = hmac.new(key, struct.pack(">q", step), hashlib.sha1).digest()
    offset = digest[19] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7fffffff) % 1000000:06d}"


def test_mfa(server):
    iam = boto_client("iam", server)
    user = new_user(server, None, policy(
        allow("iam:GetUser"),
        allow("secretsmanager:ListSecrets", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=uid("mfa"))["VirtualMFADevice"]
    seed, serial = device["Base32StringSeed"].decode(), device["SerialNumber"]
    step = int(time.time()) // 30
    # Enabled with older codes, so that the two next codes are still ahead of the last one used.
    iam.enable_mfa_device(UserName=user.name, SerialNumber=serial,
                          AuthenticationCode1=totp(seed, step - 4), AuthenticationCode2=totp(seed, step - 3))
    sts = user.client("sts")
    resp = error(lambda: sts.get_session_token(SerialNumber=serial, TokenCode="000000" if totp(
        seed, step - 2) != "000000" else "111111"))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["Error"]["Message"].startswith("MultiFactorAuthentication failed with invalid MFA one time pass code.")
    resp = error(lambda: sts.get_session_token(SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/nobody", TokenCode="123456"))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert error(user.client("secretsmanager").list_secrets)["Error"]["Code"] == "AccessDeniedException"

    session = Creds.of(server, sts.get_session_token(SerialNumber=serial, TokenCode=totp(seed, step - 2))[
        "Credentials"])
    session.client("secretsmanager").list_secrets()
    # With MFA, session tokens may call IAM.
    assert session.client("iam").get_user(UserName=user.name)["User"]["UserName"] == user.name
    # A code is good once.
    resp = error(lambda: sts.get_session_token(SerialNumber=serial, TokenCode=totp(seed, step - 2)))
    assert resp["Error"]["Code"] == "AccessDenied"

    # One sign-in per device and 30-second step: AssumeRole gets a second user and device.
    other = new_user(server)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=uid("mfa"))["VirtualMFADevice"]
    seed, serial = device["Base32StringSeed"].decode(), device["SerialNumber"]
    step = int(time.time()) // 30
    iam.enable_mfa_device(UserName=other.name, SerialNumber=serial,
                          AuthenticationCode1=totp(seed, step - 4), AuthenticationCode2=totp(seed, step - 3))
    role = new_role(server, trust(other.arn, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    assert error(lambda: assume(other, role))["Error"]["Code"] == "AccessDenied"
    # Another user's device does not authenticate this one.
    resp = error(lambda: assume(user, role, SerialNumber=serial, TokenCode=totp(seed, step - 2)))
    assert resp["Error"]["Code"] == "AccessDenied"
    resp = assume(other, role, SerialNumber=serial, TokenCode=totp(seed, step - 2))
    assert resp["AssumedRoleUser"]["Arn"].endswith(f"/{role['RoleName']}/s1")


def test_session_token_user_can_assume_role(server, alice, role):
    session = Creds.of(server, alice.client("sts").get_session_token()["Credentials"])
    assert assume(session, role)["AssumedRoleUser"]["Arn"].endswith("/s1")


# --- GetFederationToken --------------------------------------------------------------------------

def test_get_federation_token(server):
    user = new_user(server, None, policy(allow(["sts:GetFederationToken", "secretsmanager:ListSecrets",
                                                "secretsmanager:DescribeSecret"])))
    resp = user.client("sts").get_federation_token(
        Name="bob", Policy=policy(allow(["secretsmanager:ListSecrets", "secretsmanager:CreateSecret"])))
    assert resp["FederatedUser"] == {"Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
                                     "FederatedUserId": f"{ACCOUNT}:bob"}
    assert 0 < resp["PackedPolicySize"] <= 100
    fed = Creds.of(server, resp["Credentials"])
    ident = fed.client("sts").get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    assert ident["UserId"] == f"{ACCOUNT}:bob"
    # Allowed by both the user's policies and the session policy.
    fed.client("secretsmanager").list_secrets()
    # The session policy alone grants nothing; the user's alone neither.
    resp = error(lambda: fed.client("secretsmanager").create_secret(Name=uid("fed"), SecretString="x"))
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert f"federated-user/bob is not authorized" in resp["Error"]["Message"]
    assert error(lambda: fed.client("secretsmanager").describe_secret(SecretId="x"))["Error"]["Code"] == \
        "AccessDeniedException"
    assert error(fed.client("iam").list_users)["Error"]["Code"] == "InvalidClientTokenId"
    # Without a session policy the federated user may do nothing.
    bare = Creds.of(server, user.client("sts").get_federation_token(Name="carol")["Credentials"])
    assert error(bare.client("secretsmanager").list_secrets)["Error"]["Code"] == "AccessDeniedException"
    # The user needs sts:GetFederationToken.
    other = new_user(server)
    resp = error(lambda: other.client("sts").get_federation_token(Name="dave"))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert "sts:GetFederationToken" in resp["Error"]["Message"]
    resp = error(lambda: user.unchecked("sts").get_federation_token(Name="b"))
    assert resp["Error"]["Code"] == "ValidationError"


def test_root_federation_token_is_limited_to_its_session_policy(server):
    before = datetime.datetime.now(datetime.timezone.utc)
    resp = boto_client("sts", server).get_federation_token(
        Name="rootfed", DurationSeconds=43200, Policy=policy(allow("secretsmanager:ListSecrets")))
    assert resp["Credentials"]["Expiration"] - before < datetime.timedelta(seconds=3610)
    fed = Creds.of(server, resp["Credentials"])
    fed.client("secretsmanager").list_secrets()
    resp = error(lambda: fed.client("secretsmanager").create_secret(Name=uid("rootfed"), SecretString="x"))
    assert resp["Error"]["Code"] == "AccessDeniedException"


# --- GetAccessKeyInfo, DecodeAuthorizationMessage, unimplemented ---------------------------------

def test_get_access_key_info(server, alice, role):
    sts = boto_client("sts", server)
    assert sts.get_access_key_info(AccessKeyId=alice.key)["Account"] == ACCOUNT
    temp = assume(alice, role)["Credentials"]["AccessKeyId"]
    assert sts.get_access_key_info(AccessKeyId=temp)["Account"] == ACCOUNT
    resp = error(lambda: sts.get_access_key_info(AccessKeyId="AKIAUNKNOWNUNKNOWN00"))
    assert resp["Error"]["Code"] == "InvalidParameterValue"
    resp = error(lambda: alice.client("sts").get_access_key_info(AccessKeyId=alice.key))
    assert resp["Error"]["Code"] == "AccessDenied"


def test_decode_authorization_message(server):
    resp = error(lambda: boto_client("sts", server).decode_authorization_message(EncodedMessage="abc"))
    assert resp["Error"]["Code"] == "InvalidAuthorizationMessageException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_cli_assume_role(server, alice, role):
    env = cli_env(server, key=alice.key, secret=alice.secret)
    out = subprocess.run(["aws", "--endpoint-url", server.url, "sts", "assume-role", "--role-arn", role["Arn"],
                          "--role-session-name", "cli", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    resp = json.loads(out.stdout)
    assert resp["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/cli"
    c = resp["Credentials"]
    env.update({"AWS_ACCESS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
                "AWS_SESSION_TOKEN": c["SessionToken"]})
    out = subprocess.run(["aws", "--endpoint-url", server.url, "sts", "get-caller-identity", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"] == resp["AssumedRoleUser"]["Arn"]


# --- AssumeRoleWithWebIdentity -------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Idp:
    """An OpenID Connect issuer over HTTPS with a private CA: discovery document, JWKS, and tokens.
    It counts the requests it serves per path (`hits`), and `jwks_body` replaces its JWKS."""

    def __init__(self, tmp):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        import http.server
        import ipaddress
        import ssl
        import threading

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test idp ca")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(1)
              .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_path = str(tmp / "idp-ca.pem")
        with open(self.ca_path, "wb") as f:
            f.write(ca.public_bytes(serialization.Encoding.PEM))
        cert_path, key_path = str(tmp / "idp.pem"), str(tmp / "idp.key")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        from cryptography.hazmat.primitives.asymmetric import ec
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.rotate("k1")
        self.hits = collections.Counter()
        self.hits_lock = threading.Lock()
        self.jwks_body = None
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with idp.hits_lock:
                    idp.hits[self.path] += 1
                docs = {"/.well-known/openid-configuration": {"issuer": idp.issuer, "jwks_uri": idp.issuer + "/jwks"},
                        "/jwks": idp.jwks}
                body = json.dumps(docs[self.path]).encode() if self.path in docs else None
                if self.path == "/jwks" and idp.jwks_body is not None:
                    body = idp.jwks_body
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                try:
                    self.wfile.write(body or b"")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # Coffer stops reading a response over its limit

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = f"localhost:{self.httpd.server_address[1]}"
        self.issuer = f"https://{self.host}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def rotate(self, kid):
        """A new RSA signing key, the only RSA key the JWKS then lists (beside the EC key `ec1`)."""
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.kid = kid
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.signing_key.public_key().public_numbers()
        point = self.ec_key.public_key().public_numbers()
        self.jwks = {"keys": [{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                               "n": b64url(numbers.n.to_bytes(256, "big")),
                               "e": b64url(numbers.e.to_bytes(3, "big"))},
                              {"kty": "EC", "kid": "ec1", "crv": "P-256", "use": "sig",
                               "x": b64url(point.x.to_bytes(32, "big")), "y": b64url(point.y.to_bytes(32, "big"))}]}

    def claims(self, sub="repo:acme/app", aud="my-app", exp_in=600, iss=None, **extra):
        now = int(time.time())
        return dict({"iss": iss or self.issuer, "sub": sub, "aud": aud, "iat": now, "exp": now + exp_in}, **extra)

    def sign(self, header, claims, key=None):
        """A JWT of `header` and `claims`, signed as `header["alg"]` says (RS*, ES256 or HS256
        with `key` as the secret; `none`: no signature)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        signed = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        alg = header["alg"]
        if alg == "none":
            signature = b""
        elif alg.startswith("HS"):
            signature = hmac.new(key, signed.encode(), hashlib.sha256).digest()
        elif alg == "ES256":
            r, s = decode_dss_signature((key or self.ec_key).sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[alg]
            signature = (key or self.signing_key).sign(signed.encode(), padding.PKCS1v15(), digest)
        return f"{signed}.{b64url(signature)}"

    def token(self, sub="repo:acme/app", aud="my-app", exp_in=600, key=None, kid=None, iss=None):
        return self.sign({"alg": "RS256", "typ": "JWT", "kid": kid or self.kid},
                         self.claims(sub=sub, aud=aud, exp_in=exp_in, iss=iss), key=key)


def test_assume_role_with_web_identity(start_server, tmp_path):
    from botocore import UNSIGNED
    from cryptography.hazmat.primitives.asymmetric import rsa
    from conftest import ROOT_ENV

    idp = Idp(tmp_path)
    try:
        srv = start_server(["--account-id", ACCOUNT, "--oidc-ca", idp.ca_path], env=ROOT_ENV)
        iam = boto_client("iam", srv)
        provider = iam.create_open_id_connect_provider(Url=idp.issuer, ClientIDList=["my-app"],
                                                       ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        role = iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{idp.host}:aud": "my-app"},
                              "StringLike": {f"{idp.host}:sub": "repo:acme/*"}}}]}))["Role"]
        iam.put_role_policy(RoleName="ci", PolicyName="list", PolicyDocument=policy(allow("secretsmanager:ListSecrets")))
        sts = boto_client("sts", srv, signature_version=UNSIGNED)

        def assume_wi(token, **kwargs):
            return sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="gh",
                                                     WebIdentityToken=token, **kwargs)

        resp = assume_wi(idp.token())
        assert resp["SubjectFromWebIdentityToken"] == "repo:acme/app"
        assert resp["Audience"] == "my-app"
        assert resp["Provider"] == idp.issuer
        assert resp["AssumedRoleUser"] == {"Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/gh",
                                           "AssumedRoleId": f"{role['RoleId']}:gh"}
        session = Creds.of(srv, resp["Credentials"])
        assert session.client("sts").get_caller_identity()["Arn"] == resp["AssumedRoleUser"]["Arn"]
        session.client("secretsmanager").list_secrets()

        resp = error(lambda: assume_wi(idp.token(sub="repo:evil/app")))
        assert resp["Error"] == {"Type": "Sender", "Code": "AccessDenied",
                                 "Message": "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
        resp = error(lambda: assume_wi(idp.token(aud="other-app")))
        assert resp["Error"]["Code"] == "InvalidIdentityToken"
        assert resp["Error"]["Message"] == "Incorrect token audience"
        resp = error(lambda: assume_wi(idp.token(exp_in=-10)))
        assert resp["Error"]["Code"] == "ExpiredTokenException"
        forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        resp = error(lambda: assume_wi(idp.token(key=forged)))
        assert resp["Error"]["Code"] == "InvalidIdentityToken"
        resp = error(lambda: assume_wi(idp.token(iss="https://unknown.example.com")))
        assert resp["Error"]["Code"] == "InvalidIdentityToken"
        assert resp["Error"]["Message"] == \
            "No OpenIDConnect provider found in your account for https://unknown.example.com"
        # Keys are cached; a token signed with a new key makes Coffer fetch them again.
        idp.rotate("k2")
        assert assume_wi(idp.token())["AssumedRoleUser"]["Arn"].endswith("/ci/gh")
        resp = error(lambda: assume_wi("not.a-jwt"))
        assert resp["Error"]["Code"] == "InvalidIdentityToken"
        # A registered provider whose issuer cannot be reached.
        gone = "https://127.0.0.1:9"
        iam.create_open_id_connect_provider(Url=gone, ClientIDList=["my-app"], ThumbprintList=["b" * 40])
        resp = error(lambda: assume_wi(idp.token(iss=gone)))
        assert resp["Error"]["Code"] == "IDPCommunicationError"
    finally:
        idp.httpd.shutdown()


def test_web_identity_trust_policy_sees_the_session_name(start_server, tmp_path):
    """`sts:RoleSessionName` is in the context of AssumeRoleWithWebIdentity's trust evaluation."""
    idp = Idp(tmp_path)
    try:
        fed = Federation(start_server, idp)
        named = fed.iam.create_role(RoleName="ci-named", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": fed.provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{idp.host}:aud": "my-app", "sts:RoleSessionName": "gh"}}}]}),
        )["Role"]["Arn"]
        assert fed.assume(idp.token(), named)["AssumedRoleUser"]["Arn"].endswith("/ci-named/gh")
        resp = error(lambda: fed.sts.assume_role_with_web_identity(
            RoleArn=named, RoleSessionName="other", WebIdentityToken=idp.token()))
        assert resp["Error"]["Code"] == "AccessDenied"
    finally:
        idp.httpd.shutdown()


NO_VERIFICATION_KEY = ("Couldn't retrieve verification key from your identity provider,  please reference "
                       "AssumeRoleWithWebIdentity documentation for requirements")


class Federation:
    """A server trusting `idp` for the role `ci` (audience `my-app`, subjects `repo:acme/*`)."""

    def __init__(self, start_server, idp):
        from botocore import UNSIGNED
        from conftest import ROOT_ENV
        self.srv = start_server(["--account-id", ACCOUNT, "--oidc-ca", idp.ca_path], env=ROOT_ENV)
        self.iam = boto_client("iam", self.srv)
        self.provider = self.iam.create_open_id_connect_provider(
            Url=idp.issuer, ClientIDList=["my-app"], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        self.role = self.iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": self.provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{idp.host}:aud": "my-app"},
                              "StringLike": {f"{idp.host}:sub": "repo:acme/*"}}}]}))["Role"]
        self.sts = boto_client("sts", self.srv, signature_version=UNSIGNED)

    def assume(self, token, role_arn=None):
        return self.sts.assume_role_with_web_identity(RoleArn=role_arn or self.role["Arn"], RoleSessionName="gh",
                                                      WebIdentityToken=token)

    def refused(self, token, role_arn=None):
        return error(lambda: self.assume(token, role_arn))["Error"]


def test_web_identity_calls_to_the_issuer_are_bounded(start_server, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    idp = Idp(tmp_path)
    try:
        fed = Federation(start_server, idp)
        # Requests that fail before any key is needed never reach the issuer: an issuer with no
        # provider, a wrong audience, an expired token.
        unregistered = idp.issuer + "/not-registered"
        assert fed.refused(idp.token(iss=unregistered)) == {
            "Type": "Sender", "Code": "InvalidIdentityToken",
            "Message": f"No OpenIDConnect provider found in your account for {unregistered}"}
        assert fed.refused(idp.token(aud="other-app"))["Message"] == "Incorrect token audience"
        assert fed.refused(idp.token(exp_in=-10))["Code"] == "ExpiredTokenException"
        assert sum(idp.hits.values()) == 0

        # One fetch serves many requests.
        for _ in range(5):
            fed.assume(idp.token())
        assert idp.hits == {"/.well-known/openid-configuration": 1, "/jwks": 1}
        # A role that does not exist is refused once the token is verified, from the cached keys.
        missing_role = fed.role["Arn"].replace(":role/ci", ":role/no-such-role")
        assert fed.refused(idp.token(), missing_role)["Code"] == "AccessDenied"
        assert idp.hits == {"/.well-known/openid-configuration": 1, "/jwks": 1}

        # Fifty tokens at once, each naming a key the issuer never published (the attack that made
        # 102 calls): one refresh of the keys, then every token is refused.
        forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda i: fed.refused(idp.token(key=forged, kid=f"forged-{i}")), range(50)))
        assert {a["Code"] for a in answers} == {"InvalidIdentityToken"}
        assert idp.hits == {"/.well-known/openid-configuration": 2, "/jwks": 2}
        # The issuer's real key still works, from the cache.
        fed.assume(idp.token())
        # Within the minute after that refresh even a real new key is not fetched: the next
        # refresh waits for the interval (unit-tested with a moved clock in crates/sts).
        idp.rotate("k2")
        assert fed.refused(idp.token()) == {"Type": "Sender", "Code": "InvalidIdentityToken",
                                            "Message": NO_VERIFICATION_KEY}
        assert idp.hits == {"/.well-known/openid-configuration": 2, "/jwks": 2}
    finally:
        idp.httpd.shutdown()


def test_a_forged_token_cannot_tell_which_roles_exist(start_server, tmp_path):
    """Without a token the issuer signed, a role that exists and one that does not get the same
    answer: no role names enumerated with forged tokens."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    idp = Idp(tmp_path)
    try:
        fed = Federation(start_server, idp)
        forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        missing_role = fed.role["Arn"].replace(":role/ci", ":role/no-such-role")
        existing = fed.refused(idp.token(key=forged))
        missing = fed.refused(idp.token(key=forged), missing_role)
        assert existing["Code"] == "InvalidIdentityToken"
        assert missing == existing
        # With a token the issuer signed, a missing role is AccessDenied, like a trust refusal.
        assert fed.refused(idp.token(), missing_role)["Code"] == "AccessDenied"
    finally:
        idp.httpd.shutdown()


def test_web_identity_tokens_that_must_be_refused(start_server, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    idp = Idp(tmp_path)
    try:
        fed = Federation(start_server, idp)
        kid = {"typ": "JWT", "kid": "k1"}
        # Supported: RS256 and ES256 by the keys the issuer publishes.
        assert fed.assume(idp.token())["SubjectFromWebIdentityToken"] == "repo:acme/app"
        es = idp.sign({"alg": "ES256", "kid": "ec1"}, idp.claims())
        assert fed.assume(es)["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/gh"

        def refused(token):
            answer = fed.refused(token)
            assert answer["Type"] == "Sender"
            return answer["Code"], answer["Message"]

        # alg none: no signature at all.
        code, _ = refused(idp.sign(dict(kid, alg="none"), idp.claims()))
        assert code == "InvalidIdentityToken"
        # HS256 with the issuer's public key as the HMAC secret (algorithm confusion).
        public_pem = idp.signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        code, message = refused(idp.sign(dict(kid, alg="HS256"), idp.claims(), key=public_pem))
        assert (code, "HS256" in message) == ("InvalidIdentityToken", True)
        # RS512 with a key the JWKS binds to RS256.
        code, _ = refused(idp.sign(dict(kid, alg="RS512"), idp.claims()))
        assert code == "InvalidIdentityToken"
        # Signed by a key of the attacker's under the issuer's key id, or claims changed after signing.
        forged_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert refused(idp.token(key=forged_rsa))[0] == "InvalidIdentityToken"
        forged_ec = ec.generate_private_key(ec.SECP256R1())
        assert refused(idp.sign({"alg": "ES256", "kid": "ec1"}, idp.claims(), key=forged_ec))[0] == \
            "InvalidIdentityToken"
        header, _, signature = idp.token().split(".")
        tampered = b64url(json.dumps(idp.claims(sub="repo:acme/admin")).encode())
        assert refused(f"{header}.{tampered}.{signature}")[0] == "InvalidIdentityToken"
        # A key id the issuer does not publish.
        assert refused(idp.token(kid="unknown")) == ("InvalidIdentityToken", NO_VERIFICATION_KEY)
        # Times: expired, not yet valid, issued in the future, no expiry, not integers.
        code, message = refused(idp.token(exp_in=-1))
        assert code == "ExpiredTokenException"
        assert message.startswith("Token expired: current date/time ")
        now = int(time.time())
        for claims in (idp.claims(nbf=now + 3600), idp.claims(iat=now + 3600),
                       {k: v for k, v in idp.claims().items() if k != "exp"},
                       idp.claims(exp=now + 600.5), idp.claims(exp=str(now + 600))):
            assert refused(idp.sign(dict(kid, alg="RS256"), claims))[0] == "InvalidIdentityToken", claims
        # Not JWTs at all.
        for token in ("not-a-jwt", "a.b.c.d", "e30.e30.e30", "x" * 2000):
            assert refused(token)[0] == "InvalidIdentityToken", token
    finally:
        idp.httpd.shutdown()


def test_web_identity_issuer_too_large_or_silent(start_server, tmp_path):
    idp = Idp(tmp_path)
    silent = socket.socket()
    try:
        fed = Federation(start_server, idp)
        # A JWKS over the 1 MiB limit is cut off: the keys cannot be had.
        idp.jwks_body = json.dumps({"keys": [], "padding": "x" * (2 * 1024 * 1024)}).encode()
        assert fed.refused(idp.token()) == {"Type": "Sender", "Code": "IDPCommunicationError",
                                            "Message": NO_VERIFICATION_KEY}
        assert idp.hits["/jwks"] == 1
        # After a failure the issuer rests: the next requests do not call it again at once.
        idp.jwks_body = None
        assert fed.refused(idp.token())["Code"] == "IDPCommunicationError"
        assert idp.hits["/jwks"] == 1

        # An issuer that accepts connections and never answers: Coffer gives up (5 s) rather than
        # holding the request. The socket listens but never accepts: the kernel completes the
        # TCP handshake, nobody answers TLS.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        issuer = f"https://127.0.0.1:{silent.getsockname()[1]}"
        fed.iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["my-app"], ThumbprintList=["b" * 40])
        assert fed.refused(idp.token(iss=issuer)) == {"Type": "Sender", "Code": "IDPCommunicationError",
                                                      "Message": NO_VERIFICATION_KEY}
    finally:
        silent.close()
        idp.httpd.shutdown()


@pytest.mark.parametrize("content", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_an_unusable_oidc_ca_file_stops_the_start(tmp_path, content):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(content)
    out = subprocess.run([coffer_bin(), "serve", "--dev", "--listen", "127.0.0.1:0", "--oidc-ca", str(ca)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "coffer listening" not in out.stdout
    assert str(ca) in out.stderr
