"""Issue 11, point 5: `BlockPublicPolicy` and `ValidateResourcePolicy`'s public-access finding use one
rule, IAM Access Analyzer's: a grant to everyone (`*`, `{"AWS": "*"}`, `NotPrincipal`) is public
unless a condition pins the caller to fixed values of a key the caller cannot choose (account,
organization, principal ARN, user id, source account/ARN, VPC, VPC endpoint) with a positive
operator. Any other condition (even `{}`, `aws:SecureTransport`, `aws:SourceIp`) leaves it public.
"""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client
from test_cross_account import KMS_KEY, account_b, allow, denied, user_in  # noqa: F401  (fixture)

PUBLIC_POLICY_REFUSED = (
    "PublicPolicyException",
    "This resource policy grants broad access to the secret, and BlockPublicPolicy is set to true.",
)
OTHER_ACCOUNT = "444455556666"


def policy(principal, condition=None, effect="Allow", element="Principal"):
    statement = {"Effect": effect, element: principal, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    if condition is not None:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# (id, document, public?)
DOCUMENTS = [
    # Everyone, with no condition or one that does not say who the caller is.
    ("star", policy("*"), True),
    ("aws-star", policy({"AWS": "*"}), True),
    ("star-in-list", policy({"AWS": [f"arn:aws:iam::{OTHER_ACCOUNT}:root", "*"]}), True),
    ("empty-condition", policy("*", {}), True),
    ("secure-transport", policy("*", {"Bool": {"aws:SecureTransport": "true"}}), True),
    ("source-ip-everywhere", policy("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    ("source-ip-range", policy({"AWS": "*"}, {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), True),
    ("account-like-star", policy("*", {"StringLike": {"aws:PrincipalAccount": "*"}}), True),
    ("account-like-pattern", policy("*", {"StringLike": {"aws:PrincipalAccount": "4444*"}}), True),
    ("account-one-of-star", policy("*", {"StringEquals": {"aws:PrincipalAccount": [OTHER_ACCOUNT, "*"]}}), True),
    ("account-not-equals", policy("*", {"StringNotEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}), True),
    ("account-if-exists", policy("*", {"StringEqualsIfExists": {"aws:PrincipalAccount": OTHER_ACCOUNT}}), True),
    ("account-variable", policy("*", {"StringEquals": {"aws:PrincipalAccount": "${aws:PrincipalAccount}"}}), True),
    ("arn-any-account", policy("*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/reader"}}), True),
    ("arn-not-like", policy("*", {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}}), True),
    ("org-paths-all-values", policy("*", {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}}),
     True),
    ("principal-tag", policy("*", {"StringEquals": {"aws:PrincipalTag/team": "blue"}}), True),
    ("not-principal", policy({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, element="NotPrincipal"), True),
    ("not-principal-secure-transport",
     policy({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, {"Bool": {"aws:SecureTransport": "true"}},
            element="NotPrincipal"), True),
    # Everyone, pinned to fixed values of a key the caller cannot choose.
    ("account-equals", policy("*", {"StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}), False),
    ("org-id", policy("*", {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), False),
    ("org-paths-any-value",
     policy("*", {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}),
     False),
    ("principal-arn", policy("*", {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/reader"}}),
     False),
    ("principal-arn-in-one-account",
     policy("*", {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/app-*"}}), False),
    ("source-account", policy("*", {"StringEquals": {"aws:SourceAccount": OTHER_ACCOUNT}}), False),
    ("source-vpce", policy("*", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), False),
    ("userid", policy("*", {"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*"}}), False),
    ("pinned-and-secure-transport",
     policy("*", {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}),
     False),
    # Named principals: cross-account is not public.
    ("other-account", policy({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}), False),
    ("other-account-id", policy({"AWS": OTHER_ACCOUNT}), False),
    ("own-account", policy({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), False),
    ("deny-everyone", policy("*", effect="Deny"), False),
]


@pytest.fixture(scope="module")
def sm(server):
    return boto_client("secretsmanager", server)


@pytest.fixture(scope="module")
def secret(sm):
    return sm.create_secret(Name=f"bpp/{uuid.uuid4().hex[:10]}", SecretString="x")["ARN"]


@pytest.mark.parametrize("doc_id,document,public", DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_block_public_policy_table(sm, secret, doc_id, document, public):
    sm.delete_resource_policy(SecretId=secret)
    if public:
        with pytest.raises(ClientError) as e:
            sm.put_resource_policy(SecretId=secret, ResourcePolicy=document, BlockPublicPolicy=True)
        assert denied(e) == PUBLIC_POLICY_REFUSED
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=secret)
        # Without BlockPublicPolicy the same document is stored, as on AWS (public policies are not
        # blocked by default).
        sm.put_resource_policy(SecretId=secret, ResourcePolicy=document)
    else:
        sm.put_resource_policy(SecretId=secret, ResourcePolicy=document, BlockPublicPolicy=True)
    assert sm.get_resource_policy(SecretId=secret)["ResourcePolicy"] == document


@pytest.mark.parametrize("doc_id,document,public", DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_validate_resource_policy_finds_the_same(sm, secret, doc_id, document, public):
    result = sm.validate_resource_policy(SecretId=secret, ResourcePolicy=document)
    assert result["PolicyValidationPassed"] is (not public)
    checks = [(e["CheckName"], e["ErrorMessage"]) for e in result["ValidationErrors"]]
    if public:
        assert checks == [("PUBLIC_ACCESS_CHECK",
                           "Statement 1 grants public access: it allows any principal, and no condition limits "
                           "the caller to specific accounts, organizations, principals, VPCs or source resources.")]
    else:
        assert checks == []


def test_each_public_statement_is_a_finding(sm):
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Named", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
         "Action": "secretsmanager:*", "Resource": "*"},
        {"Sid": "TlsOnly", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
         "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:DescribeSecret", "Resource": "*"}]})
    result = sm.validate_resource_policy(ResourcePolicy=document)
    assert result["PolicyValidationPassed"] is False
    assert [e["ErrorMessage"].split(" grants ")[0] for e in result["ValidationErrors"]] == [
        'Statement 2 (Sid "TlsOnly")', "Statement 3"]


def test_conditioned_public_grant_no_longer_opens_a_secret_to_other_accounts(server, account_b):
    """The attack of issue 11: `Principal: "*"` with a harmless-looking condition, accepted with
    BlockPublicPolicy=true, let another account read the secret."""
    sm_a = boto_client("secretsmanager", server)
    arn = sm_a.create_secret(Name=f"bpp-shared/{uuid.uuid4().hex[:10]}", SecretString="top-secret",
                             KmsKeyId=KMS_KEY)["ARN"]
    b = account_b["AccountId"]
    _, reader = user_in(server, account_b, f"bpp-reader-{uuid.uuid4().hex[:6]}",
                        allow("secretsmanager:GetSecretValue", arn))

    bypasses = [
        policy("*", {}),
        policy("*", {"Bool": {"aws:SecureTransport": "true"}}),
        policy("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
        policy({"AWS": "*"}, {"StringLike": {"aws:PrincipalAccount": "*"}}),
    ]
    for document in bypasses:
        with pytest.raises(ClientError) as e:
            sm_a.put_resource_policy(SecretId=arn, ResourcePolicy=document, BlockPublicPolicy=True)
        assert denied(e) == PUBLIC_POLICY_REFUSED
        with pytest.raises(ClientError) as e:
            reader.get_secret_value(SecretId=arn)
        assert denied(e)[0] == "AccessDeniedException"

    # Pinned to the owner's account: accepted, and account B still cannot read.
    sm_a.put_resource_policy(SecretId=arn, BlockPublicPolicy=True,
                             ResourcePolicy=policy("*", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}))
    with pytest.raises(ClientError) as e:
        reader.get_secret_value(SecretId=arn)
    assert denied(e)[0] == "AccessDeniedException"

    # Pinned to account B: cross-account sharing, not public, so accepted; B reads.
    sm_a.put_resource_policy(SecretId=arn, BlockPublicPolicy=True,
                             ResourcePolicy=policy("*", {"StringEquals": {"aws:PrincipalAccount": b}}))
    assert reader.get_secret_value(SecretId=arn)["SecretString"] == "top-secret"

    # What BlockPublicPolicy protects against: the same conditioned grant stored without it opens the
    # secret to any account.
    sm_a.put_resource_policy(SecretId=arn, ResourcePolicy=policy("*", {"Bool": {"aws:SecureTransport": "true"}}))
    assert reader.get_secret_value(SecretId=arn)["SecretString"] == "top-secret"
