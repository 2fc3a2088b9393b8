"""Explainable denials (issue 15, beyond AWS): with `serve --explain-denials` a denial by policies
carries an encoded authorization failure message, as EC2's do on AWS, and STS
`DecodeAuthorizationMessage` turns it into AWS's decoded-message JSON naming the deciding policy
and statement, the failing conditions and the request's context. Without the flag every message is
exactly AWS's.
"""
import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_ENV, Server, boto_client, cli_env, coffer_bin

LEAD = " Encoded authorization failure message: "
SECRET_VALUE = "s3cr3t-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def explaining():
    s = Server(["--account-id", ACCOUNT, "--explain-denials"], env=ROOT_ENV)
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def secret_arn(explaining):
    sm = boto_client("secretsmanager", explaining)
    return sm.create_secret(Name=f"db-{uuid.uuid4().hex[:8]}", SecretString=SECRET_VALUE)["ARN"]


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class User:
    def __init__(self, srv, name, key):
        self.srv, self.name, self.key = srv, name, key
        self.arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"

    def client(self, service):
        return boto_client(service, self.srv, key=self.key["AccessKeyId"], secret=self.key["SecretAccessKey"])


def make_user(srv, inline=None, boundary=None, tags=None):
    iam = boto_client("iam", srv)
    name = f"u-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name, **({"Tags": tags} if tags else {}))
    if inline:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=inline)
    if boundary:
        arn = iam.create_policy(PolicyName=f"b-{name}", PolicyDocument=boundary)["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn)
    return User(srv, name, iam.create_access_key(UserName=name)["AccessKey"])


def error(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response


def split_message(message):
    assert LEAD in message, message
    plain, encoded = message.split(LEAD)
    assert encoded and " " not in encoded
    return plain, encoded


def decode(srv, encoded, **creds):
    sts = boto_client("sts", srv, **creds)
    return json.loads(sts.decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"])


def test_explicit_deny_with_a_condition_names_the_statement_and_context(explaining, secret_arn):
    user = make_user(explaining, policy(
        {"Sid": "Read", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Sid": "OnlyFromOffice", "Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}))
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    assert resp["Error"]["Code"] == "AccessDeniedException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    plain, encoded = split_message(resp["Error"]["Message"])
    # AWS's message, unchanged, comes first.
    assert plain == (f"User: {user.arn} is not authorized to perform: secretsmanager:GetSecretValue on "
                     f"resource: {secret_arn} with an explicit deny in an identity-based policy")
    assert SECRET_VALUE not in encoded and "OnlyFromOffice" not in encoded

    decoded = decode(explaining, encoded)
    assert decoded["allowed"] is False and decoded["explicitDeny"] is True
    assert decoded["deniedBy"] == {"policyType": "identity-based", "reason": "explicitDeny"}
    [statement] = decoded["matchedStatements"]["items"]
    assert statement["statementId"] == "OnlyFromOffice"
    assert statement["policyId"] == "inline"
    assert statement["effect"] == "DENY"
    assert statement["actions"] == {"items": [{"value": "secretsmanager:*"}]}
    assert statement["conditions"]["items"] == [
        {"operator": "NotIpAddress", "key": "aws:SourceIp", "values": {"items": [{"value": "10.0.0.0/8"}]}}]
    context = decoded["context"]
    assert context["principal"]["arn"] == user.arn and context["principal"]["name"] == user.name
    assert context["principal"]["id"].startswith("AIDA")
    assert context["action"] == "secretsmanager:GetSecretValue"
    assert context["resource"] == secret_arn
    conditions = {c["key"]: [v["value"] for v in c["values"]["items"]] for c in context["conditions"]["items"]}
    assert conditions["aws:SourceIp"] == ["127.0.0.1"]
    assert conditions["aws:username"] == [user.name]
    assert SECRET_VALUE not in json.dumps(decoded)


def test_missing_allow_lists_the_failing_condition_keys(explaining, secret_arn):
    user = make_user(explaining, policy(
        {"Sid": "TeamBlue", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}),
        tags=[{"Key": "team", "Value": "red"}])
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    plain, encoded = split_message(resp["Error"]["Message"])
    assert plain.endswith("because no identity-based policy allows the secretsmanager:GetSecretValue action")
    decoded = decode(explaining, encoded)
    assert decoded["explicitDeny"] is False
    assert decoded["deniedBy"] == {"policyType": "identity-based", "reason": "noAllow"}
    assert decoded["matchedStatements"] == {"items": []}
    [failure] = decoded["failures"]["items"]
    assert failure["statement"]["statementId"] == "TeamBlue"
    assert failure["resourceMatched"] is True
    assert failure["failingConditions"]["items"] == [
        {"operator": "StringEquals", "key": "aws:PrincipalTag/team", "values": {"items": [{"value": "blue"}]}}]
    conditions = {c["key"]: c["values"]["items"] for c in decoded["context"]["conditions"]["items"]}
    assert conditions["aws:PrincipalTag/team"] == [{"value": "red"}]


def test_missing_context_key_is_reported(explaining, secret_arn):
    user = make_user(explaining, policy(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/project": "x"}}}))
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    decoded = decode(explaining, split_message(resp["Error"]["Message"])[1])
    assert decoded["missingContextKeys"] == {"items": [{"value": "aws:PrincipalTag/project"}]}
    assert decoded["failures"]["items"][0]["statement"]["statementId"] == "Statement1"


def test_permissions_boundary_denial_names_the_boundary(explaining, secret_arn):
    user = make_user(
        explaining,
        policy({"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}),
        boundary=policy({"Sid": "ListOnly", "Effect": "Allow", "Action": "secretsmanager:ListSecrets",
                         "Resource": "*"}))
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    plain, encoded = split_message(resp["Error"]["Message"])
    assert plain.endswith("because no permissions boundary allows the secretsmanager:GetSecretValue action")
    decoded = decode(explaining, encoded)
    assert decoded["deniedBy"] == {"policyType": "permissions-boundary", "reason": "noAllow"}
    assert decoded["explicitDeny"] is False


def test_iam_query_protocol_denials_carry_the_message_too(explaining):
    user = make_user(explaining)
    resp = error(lambda: user.client("iam").list_users())
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    plain, encoded = split_message(resp["Error"]["Message"])
    assert plain == (f"User: {user.arn} is not authorized to perform: iam:ListUsers on resource: "
                     f"arn:aws:iam::{ACCOUNT}:user/ because no identity-based policy allows the iam:ListUsers action")
    decoded = decode(explaining, encoded)
    assert decoded["context"]["action"] == "iam:ListUsers"


def test_a_principal_allowed_to_decode_may_decode(explaining, secret_arn):
    denied_user = make_user(explaining)
    resp = error(lambda: denied_user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    encoded = split_message(resp["Error"]["Message"])[1]
    auditor = make_user(explaining, policy(
        {"Effect": "Allow", "Action": "sts:DecodeAuthorizationMessage", "Resource": "*"}))
    decoded = decode(explaining, encoded, key=auditor.key["AccessKeyId"], secret=auditor.key["SecretAccessKey"])
    assert decoded["context"]["principal"]["arn"] == denied_user.arn

    # The denied user may not decode it: that needs sts:DecodeAuthorizationMessage.
    resp = error(lambda: decode(explaining, encoded, key=denied_user.key["AccessKeyId"],
                                secret=denied_user.key["SecretAccessKey"]))
    assert resp["Error"]["Code"] == "AccessDenied"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert resp["Error"]["Message"].startswith(
        f"User: {denied_user.arn} is not authorized to perform: sts:DecodeAuthorizationMessage because no "
        "identity-based policy allows the sts:DecodeAuthorizationMessage action" + LEAD)


def invalid(resp):
    assert resp["Error"]["Code"] == "InvalidAuthorizationMessageException"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert resp["Error"]["Message"] == (
        "The encoded authorization message is invalid or was not issued by this service.")


def test_a_tampered_message_does_not_decode(explaining, secret_arn):
    user = make_user(explaining)
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    encoded = split_message(resp["Error"]["Message"])[1]
    middle = len(encoded) // 2
    flipped = "A" if encoded[middle] != "A" else "B"
    for tampered in (encoded[:middle] + flipped + encoded[middle + 1:], encoded[:-2], encoded + "AA", "garbage"):
        invalid(error(lambda: decode(explaining, tampered)))


@pytest.fixture(scope="module")
def other_account(explaining):
    out = subprocess.run([coffer_bin(), "admin", "account", "create", "--data-dir", explaining.data_dir],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    other = json.loads(out.stdout.strip().splitlines()[-1])
    assert other["AccountId"] != ACCOUNT
    return other


def test_another_account_cannot_decode(explaining, secret_arn, other_account):
    user = make_user(explaining)
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    encoded = split_message(resp["Error"]["Message"])[1]
    # The other account's root may call DecodeAuthorizationMessage, but not open this account's message.
    invalid(error(lambda: decode(explaining, encoded, key=other_account["AccessKeyId"],
                                 secret=other_account["SecretAccessKey"])))
    assert decode(explaining, encoded)["context"]["principal"]["arn"] == user.arn


def test_a_cross_account_denial_hides_the_owners_resource_policy(explaining, other_account):
    sm = boto_client("secretsmanager", explaining)
    arn = sm.create_secret(Name=f"shared-{uuid.uuid4().hex[:8]}", SecretString=SECRET_VALUE,
                           KmsKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab")["ARN"]
    b = other_account["AccountId"]
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=policy(
        {"Sid": "OwnersPrivateSid", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{b}:root"},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}))
    b_root = {"key": other_account["AccessKeyId"], "secret": other_account["SecretAccessKey"]}
    iam_b = boto_client("iam", explaining, **b_root)
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam_b.create_user(UserName=name)
    iam_b.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=policy(
        {"Sid": "ReadShared", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}))
    key = iam_b.create_access_key(UserName=name)["AccessKey"]
    reader = boto_client("secretsmanager", explaining, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    resp = error(lambda: reader.get_secret_value(SecretId=arn))
    plain, encoded = split_message(resp["Error"]["Message"])
    assert plain.endswith("with an explicit deny in a resource-based policy")
    # Bound to the caller's account (B): A cannot open it, B can, and sees none of A's policy.
    invalid(error(lambda: decode(explaining, encoded)))
    decoded = decode(explaining, encoded, **b_root)
    assert decoded["deniedBy"] == {"policyType": "resource-based", "reason": "explicitDeny"}
    assert decoded["matchedStatements"] == {"items": []}
    assert "OwnersPrivateSid" not in json.dumps(decoded)
    assert decoded["context"]["resource"] == arn


def test_aws_cli_decodes(explaining, secret_arn):
    user = make_user(explaining)
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=secret_arn))
    encoded = split_message(resp["Error"]["Message"])[1]
    out = subprocess.run(
        ["aws", "sts", "decode-authorization-message", "--encoded-message", encoded,
         "--endpoint-url", explaining.url, "--output", "json"],
        env=cli_env(explaining), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    decoded = json.loads(json.loads(out.stdout)["DecodedMessage"])
    assert decoded["context"]["action"] == "secretsmanager:GetSecretValue"
    assert decoded["context"]["principal"]["arn"] == user.arn

    out = subprocess.run(
        ["aws", "sts", "decode-authorization-message", "--encoded-message", encoded[:-4],
         "--endpoint-url", explaining.url, "--output", "json"],
        env=cli_env(explaining), capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "InvalidAuthorizationMessageException" in out.stderr


def test_without_the_flag_messages_are_exactly_aws(server):
    sm = boto_client("secretsmanager", server)
    arn = sm.create_secret(Name=f"plain-{uuid.uuid4().hex[:8]}", SecretString=SECRET_VALUE)["ARN"]
    user = make_user(server, policy(
        {"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}))
    resp = error(lambda: user.client("secretsmanager").get_secret_value(SecretId=arn))
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} "
        "with an explicit deny in an identity-based policy")
    resp = error(lambda: user.client("iam").list_users())
    assert resp["Error"]["Message"] == (
        f"User: {user.arn} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{ACCOUNT}:user/ "
        "because no identity-based policy allows the iam:ListUsers action")
    # Nothing was encoded, so nothing decodes.
    invalid(error(lambda: decode(server, "AQ" + "A" * 60)))


def test_a_federated_trust_denial_is_explained_to_the_role_account(explaining, other_account):
    # AssumeRoleWithSAML is decided by the same authorizer as every other request, so a trust
    # policy refusing an identity provider's user is explained too; the role's account decodes it.
    from botocore import UNSIGNED

    from test_saml import Idp, assertion_of, encode

    iam = boto_client("iam", explaining)
    idp = Idp()
    provider = iam.create_saml_provider(Name=f"idp-{uuid.uuid4().hex[:8]}",
                                        SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    role = iam.create_role(RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=policy(
        {"Sid": "OnlyAlice", "Effect": "Allow", "Principal": {"Federated": provider},
         "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"saml:sub": "alice"}}}))["Role"]
    response = idp.response([f"{role['Arn']},{provider}"], subject="bob", session_name="bob")
    idp.sign(assertion_of(response))
    sts = boto_client("sts", explaining, signature_version=UNSIGNED)
    resp = error(lambda: sts.assume_role_with_saml(RoleArn=role["Arn"], PrincipalArn=provider,
                                                   SAMLAssertion=encode(response)))
    assert (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    plain, encoded = split_message(resp["Error"]["Message"])
    assert plain == "Not authorized to perform sts:AssumeRoleWithSAML"

    decoded = decode(explaining, encoded)
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["deniedBy"] == {"policyType": "trust", "reason": "noAllow"}
    context = decoded["context"]
    assert context["principal"]["arn"] == provider
    assert context["action"] == "sts:AssumeRoleWithSAML" and context["resource"] == role["Arn"]
    conditions = {c["key"]: [v["value"] for v in c["values"]["items"]] for c in context["conditions"]["items"]}
    assert conditions["saml:sub"] == ["bob"] and conditions["sts:RoleSessionName"] == ["bob"]
    [failure] = decoded["failures"]["items"]
    assert failure["statement"]["statementId"] == "OnlyAlice"
    assert failure["failingConditions"]["items"] == [
        {"operator": "StringEquals", "key": "saml:sub", "values": {"items": [{"value": "alice"}]}}]
    # Another account's principal cannot open it.
    invalid(error(lambda: decode(explaining, encoded, key=other_account["AccessKeyId"],
                                 secret=other_account["SecretAccessKey"])))
