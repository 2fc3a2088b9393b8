"""Issue 12: condition keys the Service Authorization Reference lists, supplied with AWS's values
(crates/authz/src/authorization_table.rs checks every operation; these prove a few through boto3):
a role's tags on sts:AssumeRole, a secret's primary region, the KMS key ARN of CreateSecret, and
RotateSecret's RotateImmediately / ModifyRotationRules, the service of a service-specific credential."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client
from test_authorization import allow, policy, user  # noqa: F401  (fixture)


def trust_account():
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]})


def code(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def test_assume_role_granted_by_the_roles_tag(server, user):
    iam = boto_client("iam", server)
    suffix = uuid.uuid4().hex[:8]
    prod = iam.create_role(RoleName=f"prod-{suffix}", AssumeRolePolicyDocument=trust_account(),
                           Tags=[{"Key": "tier", "Value": "prod"}])["Role"]["Arn"]
    dev = iam.create_role(RoleName=f"dev-{suffix}", AssumeRolePolicyDocument=trust_account(),
                          Tags=[{"Key": "tier", "Value": "dev"}])["Role"]["Arn"]
    iam.put_user_policy(UserName=user.name, PolicyName="by-tag", PolicyDocument=policy(
        allow("sts:AssumeRole", Condition={"StringEquals": {"aws:ResourceTag/tier": "prod"}})))
    sts = user.client("sts")
    assert sts.assume_role(RoleArn=prod, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].endswith("/s1")
    assert code(lambda: sts.assume_role(RoleArn=dev, RoleSessionName="s1")) == "AccessDenied"
    # iam:ResourceTag carries the same tags for roles.
    iam.put_user_policy(UserName=user.name, PolicyName="by-tag", PolicyDocument=policy(
        allow("sts:AssumeRole", Condition={"StringEquals": {"iam:ResourceTag/tier": "dev"}})))
    assert sts.assume_role(RoleArn=dev, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].endswith("/s1")
    assert code(lambda: sts.assume_role(RoleArn=prod, RoleSessionName="s1")) == "AccessDenied"


def test_secret_primary_region_and_kms_key_arn(server, user):
    name = f"keys-{uuid.uuid4().hex[:8]}"
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    boto_client("iam", server).put_user_policy(UserName=user.name, PolicyName="p", PolicyDocument=policy(
        allow("secretsmanager:CreateSecret",
              Condition={"StringEquals": {"secretsmanager:KmsKeyArn": key_arn}}),
        allow("secretsmanager:DescribeSecret",
              Condition={"StringEquals": {"secretsmanager:SecretPrimaryRegion": "us-east-1"}}),
        allow("secretsmanager:GetSecretValue",
              Condition={"StringEquals": {"secretsmanager:SecretPrimaryRegion": "eu-west-1"}})))
    sm = user.client("secretsmanager")
    # A bare key id is the key of the request's account and region; an alias cannot be resolved
    # without KMS, so the key is absent and the condition does not match.
    assert code(lambda: sm.create_secret(Name=name, SecretString="v", KmsKeyId="alias/other")) \
        == "AccessDeniedException"
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key_id)
    assert sm.describe_secret(SecretId=name)["Name"] == name
    assert code(lambda: sm.get_secret_value(SecretId=name)) == "AccessDeniedException"


def test_rotate_secret_immediately_and_rules(server, user):
    name = f"rot-{uuid.uuid4().hex[:8]}"
    boto_client("secretsmanager", server).create_secret(Name=name, SecretString="v")
    # Only changing the schedule without rotating now is allowed.
    boto_client("iam", server).put_user_policy(UserName=user.name, PolicyName="p", PolicyDocument=policy(
        allow("secretsmanager:RotateSecret", Condition={"Bool": {
            "secretsmanager:RotateImmediately": "false", "secretsmanager:ModifyRotationRules": "true"}})))
    sm = user.client("secretsmanager")
    lambda_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotate"
    # RotateImmediately defaults to true: denied, as is a request without rules.
    assert code(lambda: sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn,
                                         RotationRules={"AutomaticallyAfterDays": 30})) == "AccessDeniedException"
    assert code(lambda: sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn,
                                         RotateImmediately=False)) == "AccessDeniedException"
    # Allowed by the policy: what answers next is the operation (no rotation function is
    # reachable: "Secrets Manager cannot invoke the specified Lambda function"), not authorization.
    try:
        sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn,
                         RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    except ClientError as e:
        assert not e.response["Error"]["Message"].startswith("User: "), e.response


def test_service_specific_credentials_by_service(server, user):
    # iam:ServiceSpecificCredentialServiceName: the service asked for on create, the stored
    # credential's on reset/update/delete.
    iam = boto_client("iam", server)
    codecommit, cassandra = "codecommit.amazonaws.com", "cassandra.amazonaws.com"
    key = "iam:ServiceSpecificCredentialServiceName"
    iam.put_user_policy(UserName=user.name, PolicyName="p", PolicyDocument=policy(
        allow(["iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential",
               "iam:UpdateServiceSpecificCredential", "iam:DeleteServiceSpecificCredential"],
              Condition={"StringEquals": {key: codecommit}})))
    mine = user.client("iam")
    created = mine.create_service_specific_credential(UserName=user.name, ServiceName=codecommit)
    own_id = created["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    assert code(lambda: mine.create_service_specific_credential(
        UserName=user.name, ServiceName=cassandra)) == "AccessDenied"
    # A Cassandra credential made by the account root: the user may not touch it.
    other_id = iam.create_service_specific_credential(
        UserName=user.name, ServiceName=cassandra)["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    reset = lambda i: mine.reset_service_specific_credential(  # noqa: E731
        UserName=user.name, ServiceSpecificCredentialId=i)
    update = lambda i: mine.update_service_specific_credential(  # noqa: E731
        UserName=user.name, ServiceSpecificCredentialId=i, Status="Inactive")
    delete = lambda i: mine.delete_service_specific_credential(  # noqa: E731
        UserName=user.name, ServiceSpecificCredentialId=i)
    for call in (reset, update, delete):  # delete last: it removes the user's own credential
        assert code(lambda: call(other_id)) == "AccessDenied"
        call(own_id)
    left = iam.list_service_specific_credentials(UserName=user.name)["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in left] == [other_id]
    # A credential id that does not exist supplies no service: the condition fails, so AWS's
    # AccessDenied, not NoSuchEntity, answers a caller who may only touch CodeCommit credentials.
    assert code(lambda: mine.delete_service_specific_credential(
        UserName=user.name, ServiceSpecificCredentialId="ACCA" + "A" * 17)) == "AccessDenied"
