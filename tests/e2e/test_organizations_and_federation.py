"""A Coffer account is in no AWS organization and starts without outbound identity federation: the
IAM operations of centralized root access and Organizations access reports, and STS AssumeRoot,
answer as AWS does for such an account (the errors the models list, never 501), and outbound
identity federation is switched on and off for real (EnableOutboundWebIdentityFederation,
GetOutboundWebIdentityFederationInfo, DisableOutboundWebIdentityFederation), which STS
GetWebIdentityToken follows."""
import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client

NO_ORGANIZATION = "The request was rejected because no organization is associated with your account."


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Message")


@pytest.mark.parametrize("operation", [
    "enable_organizations_root_credentials_management",
    "disable_organizations_root_credentials_management",
    "enable_organizations_root_sessions",
    "disable_organizations_root_sessions",
    "list_organizations_features",
])
def test_centralized_root_access_needs_an_organization(server, operation):
    iam = boto_client("iam", server)
    # boto3 maps the code to the model's exception class: the code is the model's.
    with pytest.raises(iam.exceptions.OrganizationNotFoundException) as e:
        getattr(iam, operation)()
    assert error_of(e) == (400, "OrganizationNotFoundException", NO_ORGANIZATION)
    assert e.value.response["Error"]["Type"] == "Sender"


def test_organizations_access_reports(server):
    iam = boto_client("iam", server)
    with pytest.raises(iam.exceptions.OrganizationNotFoundException) as e:
        iam.generate_organizations_access_report(EntityPath="o-a1b2c3d4e5/r-f6g7h8i9j0example")
    assert error_of(e) == (400, "OrganizationNotFoundException", NO_ORGANIZATION)
    # The model's constraints come first.
    with pytest.raises(ClientError) as e:
        iam.generate_organizations_access_report(EntityPath="not-an-organization-path")
    assert error_of(e)[:2] == (400, "ValidationError")
    job = str(uuid.uuid4())
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.get_organizations_access_report(JobId=job)
    assert error_of(e) == (404, "NoSuchEntity", f"No report with job ID {job} exists.")


def test_assume_root_needs_centralized_root_access(server):
    """Only an organization's management account with centralized root access may assume root in a
    member account. Another account's root is a cross-account resource nothing of that account
    grants, so authorization refuses it (for the account's root user too, whose credentials AWS
    refuses for AssumeRoot anyway); past authorization, the missing organization does."""
    iam = boto_client("iam", server)
    other = "210987654321"
    task = {"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}

    def denial(caller, target, reason=None):
        message = (f"User: {caller} is not authorized to perform: sts:AssumeRoot on resource: "
                   f"arn:aws:iam::{target}:root")
        return 403, "AccessDenied", message + (f" because no {reason} policy allows the sts:AssumeRoot action"
                                               if reason else "")

    with pytest.raises(ClientError) as e:
        boto_client("sts", server).assume_root(TargetPrincipal=other, TaskPolicyArn=task)
    assert error_of(e) == denial(f"arn:aws:iam::{ACCOUNT}:root", other, "resource-based")
    name = f"rooter-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = boto_client("sts", server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    with pytest.raises(ClientError) as e:
        sts.assume_root(TargetPrincipal=ACCOUNT, TaskPolicyArn=task)
    assert error_of(e) == denial(user_arn, ACCOUNT, "identity-based")
    iam.put_user_policy(UserName=name, PolicyName="root", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoot", "Resource": "*"}]}))
    # Allowed by its own policies: the account is in no organization. A target named by its root
    # ARN is the same resource.
    for principal in (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"):
        with pytest.raises(ClientError) as e:
            sts.assume_root(TargetPrincipal=principal, TaskPolicyArn=task, DurationSeconds=900)
        assert error_of(e) == denial(user_arn, ACCOUNT)
    with pytest.raises(ClientError) as e:
        sts.assume_root(TargetPrincipal=other, TaskPolicyArn=task)
    assert error_of(e) == denial(user_arn, other, "resource-based")
    with pytest.raises(ClientError) as e:
        sts.assume_root(TargetPrincipal=ACCOUNT, TaskPolicyArn=task, DurationSeconds=901)
    assert error_of(e)[:2] == (400, "ValidationError")


def test_outbound_identity_federation_switches_get_web_identity_token(start_server):
    srv = start_server(["--dev"])
    account = "444455556666"
    iam = boto_client("iam", srv, key=account, secret="x")
    sts = boto_client("sts", srv, key=account, secret="x")
    token_request = {"Audience": ["https://api.example.com"], "SigningAlgorithm": "RS256"}
    disabled_token = ("The outbound web identity federation feature is not enabled for this account. To use "
                      "this feature, you must first enable it through the Amazon Web Services Management "
                      "Console or API.")
    already_disabled = ("The request failed because outbound identity federation is already disabled for your "
                        "Amazon Web Services account. You cannot disable the feature multiple times")

    with pytest.raises(sts.exceptions.OutboundWebIdentityFederationDisabledException) as e:
        sts.get_web_identity_token(**token_request)
    assert error_of(e) == (403, "OutboundWebIdentityFederationDisabledException", disabled_token)
    with pytest.raises(iam.exceptions.FeatureDisabledException) as e:
        iam.get_outbound_web_identity_federation_info()
    assert error_of(e) == (404, "FeatureDisabled", already_disabled)
    with pytest.raises(iam.exceptions.FeatureDisabledException):
        iam.disable_outbound_web_identity_federation()

    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert re.fullmatch(r"https://[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
                        r"\.tokens\.sts\.global\.api\.aws", issuer)
    with pytest.raises(iam.exceptions.FeatureEnabledException) as e:
        iam.enable_outbound_web_identity_federation()
    assert error_of(e)[:2] == (409, "FeatureEnabled")
    info = iam.get_outbound_web_identity_federation_info()
    assert (info["IssuerIdentifier"], info["JwtVendingEnabled"]) == (issuer, True)
    # Enabled: signing the token is what Coffer does not implement.
    with pytest.raises(ClientError) as e:
        sts.get_web_identity_token(**token_request)
    assert error_of(e)[:2] == (501, "NotImplemented")
    # Another account is not affected.
    other = boto_client("iam", srv, key="777788889999", secret="x")
    with pytest.raises(other.exceptions.FeatureDisabledException):
        other.get_outbound_web_identity_federation_info()

    iam.disable_outbound_web_identity_federation()
    info = iam.get_outbound_web_identity_federation_info()
    assert (info["IssuerIdentifier"], info["JwtVendingEnabled"]) == (issuer, False)
    with pytest.raises(sts.exceptions.OutboundWebIdentityFederationDisabledException):
        sts.get_web_identity_token(**token_request)
    with pytest.raises(iam.exceptions.FeatureDisabledException):
        iam.disable_outbound_web_identity_federation()
    # Enabling again keeps the account's issuer.
    assert iam.enable_outbound_web_identity_federation()["IssuerIdentifier"] == issuer
