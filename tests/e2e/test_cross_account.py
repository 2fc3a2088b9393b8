"""Cross-account Secrets Manager access: a secret addressed by its full ARN in another account of the
same region is resolved in that account, and the request needs both sides to allow it: the caller's
identity policy and the secret's resource policy, as on AWS.

Account B is created with `coffer admin account create` on the running server's store.
"""
import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client, coffer_bin

KMS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DEFAULT_KEY = ("You can't access a secret from a different AWS account if you encrypt the secret with the "
               "default KMS service key.")


@pytest.fixture(scope="module")
def account_b(server):
    out = subprocess.run([coffer_bin(), "admin", "account", "create", "--data-dir", server.data_dir],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    b = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(b) == {"AccountId", "AccessKeyId", "SecretAccessKey"} and b["AccountId"] != ACCOUNT
    return b


def user_in(server, account, name, policy=None):
    """An IAM user of `account` with an optional inline policy; returns (arn, client)."""
    iam = boto_client("iam", server, key=account["AccessKeyId"], secret=account["SecretAccessKey"])
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, boto_client("secretsmanager", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def allow(action, resource):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def resource_policy(principal):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "secretsmanager:GetSecretValue",
         "Resource": "*"}]})


def denied(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_cross_account_needs_both_policies(server, account_b):
    sm_a = boto_client("secretsmanager", server)
    name = f"shared/{uuid.uuid4().hex[:10]}"
    arn = sm_a.create_secret(Name=name, SecretString="s3cr3t", KmsKeyId=KMS_KEY)["ARN"]
    b = account_b["AccountId"]
    tag = uuid.uuid4().hex[:6]
    reader_arn, reader = user_in(server, account_b, f"reader-{tag}",
                                 allow("secretsmanager:GetSecretValue", arn))
    plain_arn, plain = user_in(server, account_b, f"plain-{tag}")

    # B's identity policy alone: A's secret has no resource policy.
    with pytest.raises(ClientError) as e:
        reader.get_secret_value(SecretId=arn)
    assert denied(e) == ("AccessDeniedException",
                         f"User: {reader_arn} is not authorized to perform: secretsmanager:GetSecretValue on "
                         f"resource: {arn} because no resource-based policy allows the "
                         f"secretsmanager:GetSecretValue action")

    # Not even B's root may read it without A's resource policy.
    sm_b = boto_client("secretsmanager", server, key=account_b["AccessKeyId"], secret=account_b["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId=arn)
    assert denied(e)[0] == "AccessDeniedException"

    sm_a.put_resource_policy(SecretId=arn, ResourcePolicy=resource_policy(f"arn:aws:iam::{b}:root"))
    got = reader.get_secret_value(SecretId=arn)
    assert (got["ARN"], got["SecretString"]) == (arn, "s3cr3t")

    # The resource policy alone: B's user without an identity policy is denied.
    with pytest.raises(ClientError) as e:
        plain.get_secret_value(SecretId=arn)
    assert denied(e) == ("AccessDeniedException",
                         f"User: {plain_arn} is not authorized to perform: secretsmanager:GetSecretValue on "
                         f"resource: {arn} because no identity-based policy allows the "
                         f"secretsmanager:GetSecretValue action")

    # A name is always the caller's own account: B has no such secret.
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId=name)
    assert denied(e) == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    # B's root is bound by A's resource policy like any principal of B: the policy grants B's account.
    assert sm_b.get_secret_value(SecretId=arn)["SecretString"] == "s3cr3t"
    assert "VersionIdsToStages" in sm_a.describe_secret(SecretId=arn)


def test_default_key_secrets_are_not_shared(server, account_b):
    sm_a = boto_client("secretsmanager", server)
    arn = sm_a.create_secret(Name=f"default-key/{uuid.uuid4().hex[:10]}", SecretString="x")["ARN"]
    b = account_b["AccountId"]
    sm_a.put_resource_policy(SecretId=arn, ResourcePolicy=resource_policy(f"arn:aws:iam::{b}:root"))
    _, reader = user_in(server, account_b, f"reader-{uuid.uuid4().hex[:6]}",
                        allow("secretsmanager:GetSecretValue", arn))
    with pytest.raises(ClientError) as e:
        reader.get_secret_value(SecretId=arn)
    assert denied(e) == ("InvalidRequestException", DEFAULT_KEY)


def test_batch_get_secret_value_across_accounts(server, account_b):
    """BatchGetSecretValue takes full ARNs of another account's secrets, as GetSecretValue does: each
    one needs B's identity policy and A's resource policy, a default-key secret is refused, and
    a secret B may not read tells B nothing, not even whether it exists."""
    sm_a = boto_client("secretsmanager", server)
    b = account_b["AccountId"]
    tag = uuid.uuid4().hex[:8]
    shared = sm_a.create_secret(Name=f"batch/{tag}/shared", SecretString="shared-value", KmsKeyId=KMS_KEY)["ARN"]
    private = sm_a.create_secret(Name=f"batch/{tag}/private", SecretString="private-value", KmsKeyId=KMS_KEY)["ARN"]
    default_key = sm_a.create_secret(Name=f"batch/{tag}/default-key", SecretString="x")["ARN"]
    missing = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:batch/{tag}/missing-AbCdEf"
    for arn in (shared, default_key):
        sm_a.put_resource_policy(SecretId=arn, ResourcePolicy=resource_policy(f"arn:aws:iam::{b}:root"))
    reader_arn, reader = user_in(server, account_b, f"batch-reader-{tag}", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"},
                      {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:CreateSecret",
                                  "secretsmanager:ListSecrets"],
                       "Resource": "*"}]})
    own = reader.create_secret(Name=f"own-{tag}", SecretString="own-value")["ARN"]

    out = reader.batch_get_secret_value(SecretIdList=[shared, private, default_key, missing, f"own-{tag}"])
    assert sorted((v["ARN"], v["SecretString"]) for v in out["SecretValues"]) == sorted(
        [(shared, "shared-value"), (own, "own-value")])
    errors = {e["SecretId"]: (e["ErrorCode"], e["Message"]) for e in out["Errors"]}

    def no_resource_policy(arn):
        return ("AccessDeniedException",
                f"User: {reader_arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: "
                f"{arn} because no resource-based policy allows the secretsmanager:GetSecretValue action")

    assert errors == {
        private: no_resource_policy(private),
        default_key: ("InvalidRequestException", DEFAULT_KEY),
        missing: no_resource_policy(missing),
    }
    # The value B read is recorded as accessed in A; the refused one is not.
    assert "LastAccessedDate" in sm_a.describe_secret(SecretId=shared)
    assert "LastAccessedDate" not in sm_a.describe_secret(SecretId=private)

    # Without BatchGetSecretValue in its own policies, B's user is refused the whole call.
    _, plain = user_in(server, account_b, f"batch-plain-{tag}", allow("secretsmanager:GetSecretValue", "*"))
    with pytest.raises(ClientError) as e:
        plain.batch_get_secret_value(SecretIdList=[shared])
    assert denied(e)[0] == "AccessDeniedException"
    # Filters list the caller's own account only.
    listed = reader.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"batch/{tag}"]}])
    assert listed["SecretValues"] == [] and listed["Errors"] == []
