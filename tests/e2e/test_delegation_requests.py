"""IAM temporary delegation ("delegation requests") and STS GetDelegatedAccessToken through boto3 and
the AWS CLI.

A partner account creates a request from a policy template (a customer managed policy of its own
account with `@{name}` placeholders), the customer account associates, reviews, accepts (or
rejects) it and sends the exchange token, which Coffer writes to the server's delegation outbox;
the partner trades it in for credentials of the identity that accepted, narrowed to the delegated
permissions.

The lifecycle and error tests run against `--dev` servers, whose callers are the root of the
account their access key names (a 12-digit key), and whose clock can start at a chosen time (the
expiry tests restart a server on the same data directory two days later). The enforcement tests run
the production configuration, where policies decide.
"""
import json
import os
import stat
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_ENV, Server, boto_client, cli_env, coffer_bin

PARTNER = "111111111111"
CUSTOMER = "222222222222"
STRANGER = "333333333333"
TOPIC = f"arn:aws:sns:us-east-1:{PARTNER}:delegation-tokens"
START = "2030-06-14T12:00:00Z"
TWO_DAYS_LATER = "2030-06-16T12:00:01Z"

TEMPLATE = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": "arn:aws:secretsmanager:*:*:secret:@{secretPrefix}/*",
    }],
}
PARAMETERS = [{"Name": "secretPrefix", "Values": ["app"], "Type": "string"}]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def dev_client(service, srv, account):
    return boto_client(service, srv, key=account, secret="x" * 40)


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Message")


def template_arn(iam, doc=None):
    return iam.create_policy(PolicyName=unique("template"),
                             PolicyDocument=json.dumps(doc or TEMPLATE))["Policy"]["Arn"]


def create_request(iam, template, owner=None, parameters=PARAMETERS, duration=900, **extra):
    args = dict(Description="Set up the monitoring integration",
                Permissions={"PolicyTemplateArn": template, "Parameters": parameters},
                RequestorWorkflowId=unique("workflow"), NotificationChannel=TOPIC,
                SessionDuration=duration, **extra)
    if owner:
        args["OwnerAccountId"] = owner
    return iam.create_delegation_request(**args)["DelegationRequestId"]


def state_of(iam, request_id):
    return iam.get_delegation_request(DelegationRequestId=request_id)["DelegationRequest"]["State"]


def read_token(outbox, request_id):
    path = os.path.join(outbox, f"{request_id}.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        note = json.load(f)
    assert note["TopicArn"] == TOPIC and note["DelegationRequestId"] == request_id
    return note["ExchangeToken"]


@pytest.fixture(scope="module")
def outbox(tmp_path_factory):
    return str(tmp_path_factory.mktemp("delegation-outbox"))


@pytest.fixture(scope="module")
def dev(outbox):
    s = Server(["--dev", "--delegation-outbox", outbox])
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def partner(dev):
    iam = dev_client("iam", dev, PARTNER)
    return iam, template_arn(iam)


def accepted(dev, partner, owner=CUSTOMER, **extra):
    """A request the customer associated and accepted; returns its id."""
    iam, template = partner
    request_id = create_request(iam, template, owner=owner, **extra)
    customer = dev_client("iam", dev, CUSTOMER)
    customer.associate_delegation_request(DelegationRequestId=request_id)
    customer.accept_delegation_request(DelegationRequestId=request_id)
    return request_id


def test_the_whole_lifecycle_ends_in_credentials_of_the_approver(dev, partner, outbox):
    iam, template = partner
    customer = dev_client("iam", dev, CUSTOMER)
    request_id = create_request(iam, template, owner=CUSTOMER, RequestMessage="Ticket 4711",
                                RedirectUrl="https://partner.example.com/done")
    assert 16 <= len(request_id) <= 128

    created = iam.get_delegation_request(DelegationRequestId=request_id)["DelegationRequest"]
    assert created["State"] == "UNASSIGNED"
    assert created["RequestorId"] == PARTNER and created["OwnerAccountId"] == CUSTOMER
    assert "OwnerId" not in created and "ApproverId" not in created
    assert created["SessionDuration"] == 900 and created["OnlySendByOwner"] is False
    assert created["RequestMessage"] == "Ticket 4711"
    assert created["Permissions"] == {"PolicyTemplateArn": template, "Parameters": PARAMETERS}
    assert json.loads(created["PermissionPolicy"])["Statement"][0]["Resource"] == \
        "arn:aws:secretsmanager:*:*:secret:app/*"
    # An unassigned request expires after a day.
    assert (created["ExpirationTime"] - created["CreateDate"]).total_seconds() == 86400

    # Not listed for the customer until it has an owner.
    assert request_id not in [r["DelegationRequestId"]
                              for r in customer.list_delegation_requests()["DelegationRequests"]]
    customer.associate_delegation_request(DelegationRequestId=request_id)
    owned = customer.get_delegation_request(DelegationRequestId=request_id)["DelegationRequest"]
    assert owned["State"] == "ASSIGNED"
    assert owned["OwnerId"] == f"arn:aws:iam::{CUSTOMER}:root"
    listed = customer.list_delegation_requests(OwnerId=f"arn:aws:iam::{CUSTOMER}:root")
    assert request_id in [r["DelegationRequestId"] for r in listed["DelegationRequests"]]
    assert listed["isTruncated"] is False

    customer.update_delegation_request(DelegationRequestId=request_id, Notes="Please approve")
    pending = customer.get_delegation_request(DelegationRequestId=request_id)["DelegationRequest"]
    assert pending["State"] == "PENDING_APPROVAL" and pending["Notes"] == "Please approve"

    customer.accept_delegation_request(DelegationRequestId=request_id)
    approved = customer.get_delegation_request(DelegationRequestId=request_id)["DelegationRequest"]
    assert approved["State"] == "ACCEPTED"
    assert approved["ApproverId"] == f"arn:aws:iam::{CUSTOMER}:root"

    customer.send_delegation_token(DelegationRequestId=request_id)
    assert state_of(iam, request_id) == "FINALIZED"
    token = read_token(outbox, request_id)

    sts = dev_client("sts", dev, PARTNER)
    got = sts.get_delegated_access_token(TradeInToken=token)
    assert got["AssumedPrincipal"] == f"arn:aws:iam::{CUSTOMER}:root"
    assert "PackedPolicySize" not in got
    creds = got["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    delegated = boto_client("sts", dev, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                            token=creds["SessionToken"])
    assert delegated.get_caller_identity()["Account"] == CUSTOMER

    # The token works once.
    with pytest.raises(ClientError) as e:
        sts.get_delegated_access_token(TradeInToken=token)
    assert error_of(e)[:2] == (400, "ExpiredTradeInTokenException")


def test_the_summary_lists_the_delegated_permissions(dev, partner):
    iam, template = partner
    request_id = create_request(iam, template)
    arn = f"arn:aws:iam::{PARTNER}:delegation-request/{request_id}"
    summary = iam.get_human_readable_summary(EntityArn=arn)
    assert summary["SummaryState"] == "AVAILABLE" and summary["Locale"] == "en"
    assert summary["SummaryContent"] == (
        f"Account {PARTNER} requests temporary access for up to 900 seconds with these permissions:\n"
        "1. Allow actions secretsmanager:GetSecretValue, secretsmanager:DescribeSecret on resources "
        "arn:aws:secretsmanager:*:*:secret:app/*.")
    # Without an owner account, any account may read it (as GetDelegationRequest).
    other = dev_client("iam", dev, STRANGER).get_human_readable_summary(EntityArn=arn, Locale="en-GB")
    assert other["SummaryState"] == "AVAILABLE"
    french = iam.get_human_readable_summary(EntityArn=arn, Locale="fr")
    assert french["SummaryState"] == "NOT_SUPPORTED" and "SummaryContent" not in french
    with pytest.raises(ClientError) as e:
        iam.get_human_readable_summary(EntityArn=f"arn:aws:iam::{PARTNER}:user/someone")
    assert error_of(e)[:2] == (400, "InvalidInput")
    with pytest.raises(ClientError) as e:
        iam.get_human_readable_summary(EntityArn=f"arn:aws:iam::{PARTNER}:delegation-request/{uuid.uuid4()}")
    assert error_of(e)[:2] == (404, "NoSuchEntity")


def test_unknown_requests_answer_no_such_entity(dev):
    iam = dev_client("iam", dev, CUSTOMER)
    missing = str(uuid.uuid4())
    for call in (iam.get_delegation_request, iam.associate_delegation_request,
                 iam.update_delegation_request, iam.accept_delegation_request,
                 iam.reject_delegation_request, iam.send_delegation_token):
        with pytest.raises(ClientError) as e:
            call(DelegationRequestId=missing)
        status, code, message = error_of(e)
        assert (status, code) == (404, "NoSuchEntity"), call
        assert message == f"The delegation request with id {missing} cannot be found."


def test_wrong_state_transitions_are_refused(dev, partner):
    iam, template = partner
    customer = dev_client("iam", dev, CUSTOMER)
    request_id = create_request(iam, template, owner=CUSTOMER)
    # Before association nobody owns it: the customer cannot act on it yet.
    with pytest.raises(ClientError) as e:
        customer.accept_delegation_request(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (404, "NoSuchEntity")
    customer.associate_delegation_request(DelegationRequestId=request_id)
    with pytest.raises(ClientError) as e:
        customer.associate_delegation_request(DelegationRequestId=request_id)
    assert error_of(e) == (400, "InvalidInput", f"The delegation request with id {request_id} is in "
                           "state ASSIGNED; AssociateDelegationRequest cannot act on it.")
    with pytest.raises(ClientError) as e:
        customer.send_delegation_token(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (400, "InvalidInput")
    customer.reject_delegation_request(DelegationRequestId=request_id, Notes="Not needed")
    rejected = customer.get_delegation_request(DelegationRequestId=request_id)["DelegationRequest"]
    assert rejected["State"] == "REJECTED" and rejected["RejectionReason"] == "Not needed"
    # Rejected requests cannot be accepted or updated later.
    with pytest.raises(ClientError) as e:
        customer.accept_delegation_request(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (409, "ConcurrentModification")
    with pytest.raises(ClientError) as e:
        customer.update_delegation_request(DelegationRequestId=request_id, Notes="again")
    assert error_of(e)[:2] == (400, "InvalidInput")

    # An accepted request may still be rejected before its token is sent; a finalized one not.
    revoked = accepted(dev, partner)
    customer.reject_delegation_request(DelegationRequestId=revoked)
    assert state_of(customer, revoked) == "REJECTED"
    finalized = accepted(dev, partner)
    customer.send_delegation_token(DelegationRequestId=finalized)
    for call in (customer.reject_delegation_request, customer.send_delegation_token,
                 customer.accept_delegation_request):
        with pytest.raises(ClientError) as e:
            call(DelegationRequestId=finalized)
        assert error_of(e)[1] in ("InvalidInput", "ConcurrentModification")


def test_other_accounts_cannot_see_or_act_on_a_request(dev, partner):
    iam, template = partner
    stranger = dev_client("iam", dev, STRANGER)
    customer = dev_client("iam", dev, CUSTOMER)
    request_id = create_request(iam, template, owner=CUSTOMER)
    for call in (stranger.get_delegation_request, stranger.associate_delegation_request,
                 stranger.accept_delegation_request):
        with pytest.raises(ClientError) as e:
            call(DelegationRequestId=request_id)
        assert error_of(e)[:2] == (404, "NoSuchEntity"), call
    customer.associate_delegation_request(DelegationRequestId=request_id)
    # The partner reads its request but cannot accept it for the customer.
    assert state_of(iam, request_id) == "ASSIGNED"
    for call in (iam.accept_delegation_request, iam.send_delegation_token,
                 stranger.reject_delegation_request):
        with pytest.raises(ClientError) as e:
            call(DelegationRequestId=request_id)
        assert error_of(e)[:2] == (404, "NoSuchEntity"), call
    assert request_id not in [r["DelegationRequestId"]
                              for r in stranger.list_delegation_requests()["DelegationRequests"]]

    # A request without an owner account goes to whoever associates it first.
    open_request = create_request(iam, template)
    assert state_of(stranger, open_request) == "UNASSIGNED"
    stranger.associate_delegation_request(DelegationRequestId=open_request)
    assert stranger.get_delegation_request(
        DelegationRequestId=open_request)["DelegationRequest"]["OwnerAccountId"] == STRANGER
    with pytest.raises(ClientError) as e:
        customer.get_delegation_request(DelegationRequestId=open_request)
    assert error_of(e)[:2] == (404, "NoSuchEntity")


def test_only_the_owner_sends_when_the_partner_asks_so(dev, partner, outbox):
    iam, template = partner
    customer = dev_client("iam", dev, CUSTOMER)
    name = unique("admin")
    customer.create_user(UserName=name)
    key = customer.create_access_key(UserName=name)["AccessKey"]
    admin = boto_client("iam", dev, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    request_id = accepted(dev, partner, OnlySendByOwner=True)
    with pytest.raises(ClientError) as e:
        admin.send_delegation_token(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (400, "InvalidInput")
    assert not os.path.exists(os.path.join(outbox, f"{request_id}.json"))
    customer.send_delegation_token(DelegationRequestId=request_id)
    assert state_of(customer, request_id) == "FINALIZED"


def test_trade_in_tokens_are_refused_unless_valid_for_the_partner(dev, partner, outbox):
    request_id = accepted(dev, partner)
    dev_client("iam", dev, CUSTOMER).send_delegation_token(DelegationRequestId=request_id)
    token = read_token(outbox, request_id)
    for account, presented in ((STRANGER, token), (CUSTOMER, token), (PARTNER, "not-a-token"),
                               (PARTNER, token[:-1])):
        with pytest.raises(ClientError) as e:
            dev_client("sts", dev, account).get_delegated_access_token(TradeInToken=presented)
        assert error_of(e) == (400, "ExpiredTradeInTokenException",
                               "The trade-in token provided in the request has expired and can no longer be "
                               "exchanged for credentials. Request a new token and retry the operation.")
    # None of those used it up.
    assert dev_client("sts", dev, PARTNER).get_delegated_access_token(TradeInToken=token)["Credentials"]


def test_bad_input_is_refused(dev, partner):
    iam, template = partner
    with pytest.raises(ClientError) as e:
        create_request(iam, f"arn:aws:iam::{PARTNER}:policy/no-such-template")
    assert error_of(e) == (400, "InvalidInput",
                           f"The policy template arn:aws:iam::{PARTNER}:policy/no-such-template does not exist.")
    with pytest.raises(ClientError) as e:
        create_request(iam, template, parameters=[])
    assert error_of(e)[:2] == (400, "InvalidInput")
    assert "needs the parameter secretPrefix" in error_of(e)[2]
    with pytest.raises(ClientError) as e:
        create_request(iam, template, parameters=PARAMETERS + [
            {"Name": "unused", "Values": ["x"], "Type": "string"}])
    assert error_of(e)[:2] == (400, "InvalidInput")
    # The rendered policy must be a valid policy of at most 2048 characters.
    buckets = template_arn(iam, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::@{buckets}/*"}]})
    listed = create_request(iam, buckets, parameters=[
        {"Name": "buckets", "Values": ["logs", "media"], "Type": "stringList"}])
    policy = iam.get_delegation_request(DelegationRequestId=listed)["DelegationRequest"]["PermissionPolicy"]
    assert json.loads(policy)["Statement"][0]["Resource"] == ["arn:aws:s3:::logs/*", "arn:aws:s3:::media/*"]
    with pytest.raises(ClientError) as e:
        create_request(iam, buckets, parameters=[
            {"Name": "buckets", "Values": [f"bucket-{i:04}" for i in range(100)], "Type": "stringList"}])
    assert error_of(e) == (400, "InvalidInput", "The rendered permission policy exceeds 2048 characters.")
    # The model's limits (SessionDuration 300..43200), past boto3's own checks.
    unchecked = boto_client("iam", dev, key=PARTNER, secret="x" * 40, parameter_validation=False)
    with pytest.raises(ClientError) as e:
        create_request(unchecked, template, duration=60)
    assert error_of(e)[0] == 400


def test_without_an_outbox_no_token_can_be_sent(start_server):
    srv = start_server(["--dev"])
    iam = dev_client("iam", srv, PARTNER)
    request_id = accepted(srv, (iam, template_arn(iam)))
    customer = dev_client("iam", srv, CUSTOMER)
    with pytest.raises(ClientError) as e:
        customer.send_delegation_token(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (400, "InvalidInput")
    assert state_of(customer, request_id) == "ACCEPTED"


def test_requests_and_tokens_expire(tmp_path):
    data_dir, outbox = str(tmp_path / "data"), str(tmp_path / "outbox")
    os.makedirs(data_dir)
    os.makedirs(outbox)
    first = Server(["--dev", "--dev-clock-start", START, "--delegation-outbox", outbox], data_dir=data_dir)
    try:
        iam = dev_client("iam", first, PARTNER)
        partner = (iam, template_arn(iam))
        unassigned = create_request(iam, partner[1], owner=CUSTOMER)
        assigned = create_request(iam, partner[1], owner=CUSTOMER)
        customer = dev_client("iam", first, CUSTOMER)
        customer.associate_delegation_request(DelegationRequestId=assigned)
        sent = accepted(first, partner)
        customer.send_delegation_token(DelegationRequestId=sent)
        token = read_token(outbox, sent)
    finally:
        first.stop()
    later = Server(["--dev", "--dev-clock-start", TWO_DAYS_LATER, "--delegation-outbox", outbox],
                   data_dir=data_dir)
    try:
        iam = dev_client("iam", later, PARTNER)
        customer = dev_client("iam", later, CUSTOMER)
        # A day unassigned; the assigned one (seven days) is still current.
        assert state_of(iam, unassigned) == "EXPIRED"
        assert state_of(iam, assigned) == "ASSIGNED"
        with pytest.raises(ClientError) as e:
            customer.associate_delegation_request(DelegationRequestId=unassigned)
        assert error_of(e)[:2] == (400, "InvalidInput")
        # The delegation period (900 s from the token's release) is over.
        with pytest.raises(ClientError) as e:
            dev_client("sts", later, PARTNER).get_delegated_access_token(TradeInToken=token)
        assert error_of(e)[:2] == (400, "ExpiredTradeInTokenException")
    finally:
        later.cleanup()


# Enforcement: the production configuration, where policies decide.

@pytest.fixture(scope="module")
def enforcing(tmp_path_factory):
    outbox = str(tmp_path_factory.mktemp("enforcing-outbox"))
    s = Server(["--account-id", ACCOUNT, "--delegation-outbox", outbox], env=ROOT_ENV)
    s.outbox = outbox
    yield s
    s.cleanup()


def new_account(srv):
    out = subprocess.run([coffer_bin(), "admin", "account", "create", "--data-dir", srv.data_dir],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def user_with(srv, name, policy):
    iam = boto_client("iam", srv)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key


def allow(actions, resource="*"):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


def test_delegated_credentials_never_exceed_the_grant(enforcing):
    """The customer is the server's main account; the partner an account made with `coffer admin`."""
    partner_account = new_account(enforcing)
    partner_iam = boto_client("iam", enforcing, key=partner_account["AccessKeyId"],
                              secret=partner_account["SecretAccessKey"])
    partner_sts = boto_client("sts", enforcing, key=partner_account["AccessKeyId"],
                              secret=partner_account["SecretAccessKey"])
    template = template_arn(partner_iam)
    sm = boto_client("secretsmanager", enforcing)
    inside = sm.create_secret(Name=f"app/{unique('db')}", SecretString="granted")["ARN"]
    outside = sm.create_secret(Name=f"other/{unique('db')}", SecretString="not granted")["ARN"]

    # Alice may read every secret and handle delegation requests; Bob may do nothing.
    alice_arn, alice_key = user_with(enforcing, unique("alice"), allow([
        "secretsmanager:GetSecretValue", "iam:AssociateDelegationRequest", "iam:AcceptDelegationRequest",
        "iam:SendDelegationToken", "iam:GetDelegationRequest"]))
    _, bob_key = user_with(enforcing, unique("bob"), allow("s3:ListBucket"))
    alice = boto_client("iam", enforcing, key=alice_key["AccessKeyId"], secret=alice_key["SecretAccessKey"])
    bob = boto_client("iam", enforcing, key=bob_key["AccessKeyId"], secret=bob_key["SecretAccessKey"])

    request_id = create_request(partner_iam, template, owner=ACCOUNT)
    with pytest.raises(ClientError) as e:
        bob.associate_delegation_request(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (403, "AccessDenied")
    assert f"iam:AssociateDelegationRequest on resource: arn:aws:iam::{ACCOUNT}:delegation-request/" \
        f"{request_id}" in error_of(e)[2]
    alice.associate_delegation_request(DelegationRequestId=request_id)
    alice.accept_delegation_request(DelegationRequestId=request_id)
    alice.send_delegation_token(DelegationRequestId=request_id)
    token = read_token(enforcing.outbox, request_id)

    got = partner_sts.get_delegated_access_token(TradeInToken=token)
    assert got["AssumedPrincipal"] == alice_arn
    creds = got["Credentials"]
    as_alice = dict(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert boto_client("sts", enforcing, **as_alice).get_caller_identity()["Arn"] == alice_arn
    delegated = boto_client("secretsmanager", enforcing, **as_alice)
    assert delegated.get_secret_value(SecretId=inside)["SecretString"] == "granted"
    # Alice may read it, the delegation does not grant it.
    with pytest.raises(ClientError) as e:
        delegated.get_secret_value(SecretId=outside)
    status, code, message = error_of(e)
    assert (status, code) == (400, "AccessDeniedException")
    assert "because no session policy allows the secretsmanager:GetSecretValue action" in message
    # Neither what the grant has but Alice has not (DescribeSecret), nor anything else.
    with pytest.raises(ClientError) as e:
        delegated.describe_secret(SecretId=inside)
    assert error_of(e)[1] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        boto_client("iam", enforcing, **as_alice).list_users()
    assert error_of(e)[1] == "AccessDenied"
    # A secret policy or a trust policy naming Alice herself grants to the identity behind the
    # session, which the delegation still limits (as AWS limits grants to a user's or role's ARN
    # by session policies): no way around the grant through policies that trust Alice.
    named = sm.create_secret(Name=f"other/{unique('named')}", SecretString="names alice")["ARN"]
    sm.put_resource_policy(SecretId=named, ResourcePolicy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": alice_arn},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    with pytest.raises(ClientError) as e:
        delegated.get_secret_value(SecretId=named)
    assert error_of(e)[1] == "AccessDeniedException"
    trusting = boto_client("iam", enforcing).create_role(
        RoleName=unique("trusts-alice"),
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": alice_arn},
                           "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    with pytest.raises(ClientError) as e:
        boto_client("sts", enforcing, **as_alice).assume_role(RoleArn=trusting, RoleSessionName="escape")
    assert error_of(e)[1] == "AccessDenied"
    # Alice's own key still gets both: the limit is the delegation's.
    alice_sm = boto_client("secretsmanager", enforcing, key=alice_key["AccessKeyId"],
                           secret=alice_key["SecretAccessKey"])
    assert alice_sm.get_secret_value(SecretId=named)["SecretString"] == "names alice"

    # The root user accepting grants the delegation, no more.
    root = boto_client("iam", enforcing)
    by_root = create_request(partner_iam, template, owner=ACCOUNT)
    root.associate_delegation_request(DelegationRequestId=by_root)
    root.accept_delegation_request(DelegationRequestId=by_root)
    root.send_delegation_token(DelegationRequestId=by_root)
    creds = partner_sts.get_delegated_access_token(
        TradeInToken=read_token(enforcing.outbox, by_root))["Credentials"]
    as_root = boto_client("secretsmanager", enforcing, key=creds["AccessKeyId"],
                          secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert as_root.describe_secret(SecretId=inside)["ARN"] == inside
    with pytest.raises(ClientError) as e:
        as_root.get_secret_value(SecretId=outside)
    assert error_of(e)[1] == "AccessDeniedException"

    # A third account sees nothing of it.
    third = new_account(enforcing)
    stranger = boto_client("iam", enforcing, key=third["AccessKeyId"], secret=third["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        stranger.get_delegation_request(DelegationRequestId=request_id)
    assert error_of(e)[:2] == (404, "NoSuchEntity")


def test_the_aws_cli_reads_a_request(enforcing):
    iam = boto_client("iam", enforcing)
    request_id = create_request(iam, template_arn(iam))
    out = subprocess.run(
        ["aws", "iam", "get-delegation-request", "--delegation-request-id", request_id,
         "--endpoint-url", enforcing.url, "--output", "json"],
        env=cli_env(enforcing), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    request = json.loads(out.stdout)["DelegationRequest"]
    assert request["DelegationRequestId"] == request_id and request["State"] == "UNASSIGNED"
    assert request["RequestorId"] == ACCOUNT


def test_a_role_session_delegates_its_role_and_a_narrowed_session_nothing(enforcing):
    """A role session that accepts delegates the role's permissions narrowed by the delegation, and
    its delegated credentials end no later than it does. A session narrowed by a session policy
    delegates nothing: session policies allow together, so the delegation cannot be added to them."""
    partner_account = new_account(enforcing)
    partner_iam = boto_client("iam", enforcing, key=partner_account["AccessKeyId"],
                              secret=partner_account["SecretAccessKey"])
    partner_sts = boto_client("sts", enforcing, key=partner_account["AccessKeyId"],
                              secret=partner_account["SecretAccessKey"])
    template = template_arn(partner_iam)
    sm = boto_client("secretsmanager", enforcing)
    inside = sm.create_secret(Name=f"app/{unique('db')}", SecretString="granted")["ARN"]
    outside = sm.create_secret(Name=f"other/{unique('db')}", SecretString="not granted")["ARN"]

    iam = boto_client("iam", enforcing)
    role = unique("approver")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(allow([
        "secretsmanager:GetSecretValue", "iam:AssociateDelegationRequest", "iam:AcceptDelegationRequest",
        "iam:SendDelegationToken"])))
    _, assumer_key = user_with(enforcing, unique("assumer"), allow("sts:AssumeRole"))
    assumer = boto_client("sts", enforcing, key=assumer_key["AccessKeyId"], secret=assumer_key["SecretAccessKey"])

    def approve(**session_args):
        assumed = assumer.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                      RoleSessionName="approver", DurationSeconds=900, **session_args)
        session = assumed["Credentials"]
        approver = boto_client("iam", enforcing, key=session["AccessKeyId"],
                               secret=session["SecretAccessKey"], token=session["SessionToken"])
        request_id = create_request(partner_iam, template, owner=ACCOUNT, duration=3600)
        approver.associate_delegation_request(DelegationRequestId=request_id)
        approver.accept_delegation_request(DelegationRequestId=request_id)
        approver.send_delegation_token(DelegationRequestId=request_id)
        return assumed, read_token(enforcing.outbox, request_id)

    assumed, token = approve()
    got = partner_sts.get_delegated_access_token(TradeInToken=token)
    assert got["AssumedPrincipal"] == assumed["AssumedRoleUser"]["Arn"]
    creds = got["Credentials"]
    # The delegation period is an hour; the approving session ends sooner.
    assert creds["Expiration"] <= assumed["Credentials"]["Expiration"]
    delegated = boto_client("secretsmanager", enforcing, key=creds["AccessKeyId"],
                            secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert delegated.get_secret_value(SecretId=inside)["SecretString"] == "granted"
    with pytest.raises(ClientError) as e:
        delegated.get_secret_value(SecretId=outside)
    assert error_of(e)[1] == "AccessDeniedException"

    narrow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": inside},
        {"Effect": "Allow", "Action": ["iam:*DelegationRequest", "iam:SendDelegationToken"], "Resource": "*"}]}
    _, token = approve(Policy=json.dumps(narrow))
    with pytest.raises(ClientError) as e:
        partner_sts.get_delegated_access_token(TradeInToken=token)
    assert error_of(e)[:2] == (400, "ExpiredTradeInTokenException")
