"""Issue 5: every error the Secrets Manager model lists for each operation, through boto3 against the
real binary (JSON 1.1, a few over Query), asserting the code, the message and that nothing changed.

Messages are AWS's where they are recorded (docs/secretsmanager-behaviours.md and the
LocalStack AWS snapshots); the others are Coffer's own wording in AWS's style.

Errors the model lists that cannot arise in Coffer are in NOT_ARISING with the reason; a test checks
that every (operation, error) pair of the model is either tested here or listed there.
"""
import json
import uuid

import botocore.config
import botocore.handlers
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client
from test_secretsmanager import sm_query  # noqa: F401  (the Query-protocol client fixture)

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)
TOKEN_REQUIRED = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
REPLICA_RO = "Operation not permitted on a replica secret. Call must be made in primary secret's region."
NO_KMS = "there is no KMS: values are sealed under Coffer's master key; a value that does not open is a storage fault"
INTERNAL = ("only a storage failure produces it (\"An error occurred on the server side.\"); a client cannot cause one "
            "(tests/e2e/test_storage.py covers storage faults)")
ID_ONLY = ("the operation's other parameters are checked by the model's constraints (ValidationException, as AWS "
           "answers malformed names); nothing else about the call can be an invalid parameter")
NOT_ARISING = {
    **{(op, "InternalServiceError"): INTERNAL for op in (
        "BatchGetSecretValue", "CancelRotateSecret", "CreateSecret", "DeleteResourcePolicy", "DeleteSecret",
        "DescribeSecret", "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListSecretVersionIds",
        "ListSecrets", "PutResourcePolicy", "PutSecretValue", "RemoveRegionsFromReplication",
        "ReplicateSecretToRegions", "RestoreSecret", "RotateSecret", "StopReplicationToReplica", "TagResource",
        "UntagResource", "UpdateSecret", "UpdateSecretVersionStage", "ValidateResourcePolicy")},
    **{(op, e): NO_KMS for op in ("BatchGetSecretValue", "GetSecretValue", "CreateSecret", "PutSecretValue",
                                  "UpdateSecret") for e in ("DecryptionFailure", "EncryptionFailure")},
    **{(op, "InvalidParameterException"): ID_ONLY for op in (
        "CancelRotateSecret", "DescribeSecret", "GetResourcePolicy", "DeleteResourcePolicy", "GetSecretValue",
        "ListSecretVersionIds", "RestoreSecret", "StopReplicationToReplica", "PutResourcePolicy",
        "ValidateResourcePolicy")},
    ("RemoveRegionsFromReplication", "InvalidParameterException"):
        "malformed regions are ValidationException; a well-formed region that is not a replica is ignored",
    ("UntagResource", "InvalidParameterException"):
        "malformed keys are ValidationException; a key the secret does not carry is ignored",
    ("CreateSecret", "PreconditionNotMetException"): "AWS answers it for prerequisites of managed (service-owned) secrets, which Coffer does not have",
    ("UpdateSecret", "PreconditionNotMetException"): "as for CreateSecret",
    ("CreateSecret", "MalformedPolicyDocumentException"): "CreateSecret carries no policy document in the current model",
    ("UpdateSecret", "MalformedPolicyDocumentException"): "UpdateSecret carries no policy document in the current model",
    ("CreateSecret", "LimitExceededException"): "the account quota (500,000 secrets) is not enforced",
    ("PutSecretValue", "LimitExceededException"): "the version quota is not enforced (unlabeled versions past 100 are pruned)",
    ("UpdateSecret", "LimitExceededException"): "as for PutSecretValue",
    ("CreateSecret", "ResourceNotFoundException"): "AWS answers it for an unknown KmsKeyId; Coffer has no KMS and records KmsKeyId as given",
    ("BatchGetSecretValue", "ResourceNotFoundException"): "reported per secret in Errors (test_batch_get_reports_each_missing_or_deleted_secret)",
    ("BatchGetSecretValue", "InvalidRequestException"): "reported per secret in Errors (test_batch_get_reports_each_missing_or_deleted_secret)",
    ("GetRandomPassword", "InvalidRequestException"): "GetRandomPassword has no state; every refusal is about a parameter",
    ("ListSecrets", "InvalidRequestException"): "ListSecrets has no state to be in the wrong condition; filters are parameters",
    ("GetResourcePolicy", "InvalidRequestException"): "reading a secret's policy is allowed in every state, including scheduled deletion",
    ("ValidateResourcePolicy", "InvalidRequestException"): "validation reads the secret in any state",
    ("ListSecretVersionIds", "InvalidParameterException"): ID_ONLY,
}
# Checked outside the table (per-secret errors, raw requests without a token).
TESTED_ELSEWHERE = {("RotateSecret", "InvalidParameterException"), ("CreateSecret", "InvalidRequestException"),
                    ("PutSecretValue", "InvalidRequestException"), ("UpdateSecret", "InvalidRequestException")}
MISSING_VERSION = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
LAMBDA = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:coffer-builtin-password-rotation"
PUBLIC_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
NO_ACTION_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Resource": "*"}]})
BAD_ACTION_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "GetSecretValue",
     "Resource": "*"}]})


def unique(prefix="err"):
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def sm(server):
    # Client-side validation off, so that out-of-range values reach the server.
    return boto_client("secretsmanager", server, parameter_validation=False)


@pytest.fixture(scope="module")
def secrets(server, sm):
    """Secrets in known states, shared by the table: `live` (a value), `empty` (no value),
    `deleted` (scheduled for deletion), `replica` (a replica in eu-west-2 of `primary`),
    `labelled` (a version with 20 labels), `rotating` (a pending rotation)."""
    s = {}
    live = sm.create_secret(Name=unique("live"), SecretString="v1")
    s["live"], s["live_arn"], s["live_v1"] = live["Name"], live["ARN"], live["VersionId"]
    s["empty"] = sm.create_secret(Name=unique("empty"))["Name"]
    s["deleted"] = sm.create_secret(Name=unique("deleted"), SecretString="d")["Name"]
    sm.delete_secret(SecretId=s["deleted"], RecoveryWindowInDays=7)
    s["primary"] = sm.create_secret(Name=unique("primary"), SecretString="p",
                                    AddReplicaRegions=[{"Region": "eu-west-2"}])["Name"]
    s["replica"] = s["primary"]
    labelled = sm.create_secret(Name=unique("labelled"), SecretString="l")
    s["labelled"], s["labelled_v1"] = labelled["Name"], labelled["VersionId"]
    sm.put_secret_value(SecretId=s["labelled"], SecretString="l2",
                        VersionStages=[f"L{i}" for i in range(20)])
    s["labelled_v2"] = next(v for v, st in sm.describe_secret(SecretId=s["labelled"])["VersionIdsToStages"].items()
                            if "L0" in st)
    rotating = sm.create_secret(Name=unique("rotating"), SecretString="r")
    s["rotating"] = rotating["Name"]
    # A version with AWSPENDING apart from AWSCURRENT: a rotation looks unfinished.
    sm.put_secret_value(SecretId=s["rotating"], SecretString="r2", VersionStages=["AWSPENDING"])
    s["missing"] = unique("missing")
    s["missing_arn"] = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{s['missing']}-AbCdEf"
    return s


def fill(value, s):
    if isinstance(value, str):
        return value.format(**s) if "{" in value and not value.startswith(("{\"", "[")) else value
    if isinstance(value, list):
        return [fill(v, s) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, s) for k, v in value.items()}
    return value


# (operation, params, code, message, region). `{live}` etc. name the fixture's secrets.
CASES = [
    # BatchGetSecretValue
    ("batch_get_secret_value", {"SecretIdList": ["{live}"], "Filters": [{"Key": "name", "Values": ["x"]}]},
     "InvalidParameterException", "Either 'SecretIdList' or 'Filters' must be provided, but not both.", None),
    ("batch_get_secret_value", {"SecretIdList": ["{live}"], "MaxResults": 5},
     "InvalidParameterException",
     "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.", None),
    ("batch_get_secret_value", {"Filters": [{"Key": "name"}]}, "InvalidParameterException",
     "Invalid filter values for key: name", None),
    ("batch_get_secret_value", {"Filters": [{"Key": "name", "Values": ["x"]}], "NextToken": "garbage"},
     "InvalidNextTokenException", "The NextToken value is invalid.", None),
    # CancelRotateSecret
    ("cancel_rotate_secret", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("cancel_rotate_secret", {"SecretId": "{live}"}, "InvalidRequestException",
     "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.", None),
    ("cancel_rotate_secret", {"SecretId": "{deleted}"}, "InvalidRequestException", MARKED, None),
    # CreateSecret
    ("create_secret", {"Name": "{live}", "SecretString": "x"}, "ResourceExistsException",
     "The operation failed because the secret {live} already exists.", None),
    ("create_secret", {"Name": "{deleted}", "SecretString": "x"}, "InvalidRequestException",
     "You can't create this secret because a secret with this name is already scheduled for deletion.", None),
    ("create_secret", {"Name": "bad name", "SecretString": "x"}, "ValidationException", INVALID_NAME, None),
    ("create_secret", {"Name": "{missing}", "SecretString": "x", "SecretBinary": b"x"}, "InvalidParameterException",
     "You can't specify both a binary secret value and a string secret value in the same secret.", None),
    ("create_secret", {"Name": "{missing}", "Tags": [{"Key": "aws:owner", "Value": "me"}]},
     "InvalidParameterException", "Invalid tag key: the aws: prefix is reserved for AWS use.", None),
    ("create_secret", {"Name": "{missing}", "AddReplicaRegions": [{"Region": "us-east-1"}]},
     "InvalidParameterException", "Invalid replica region.", None),
    # DeleteResourcePolicy
    ("delete_resource_policy", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("delete_resource_policy", {"SecretId": "{deleted}"}, "InvalidRequestException", MARKED, None),
    # DeleteSecret
    ("delete_secret", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("delete_secret", {"SecretId": "{live}", "RecoveryWindowInDays": 6}, "InvalidParameterException",
     "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).", None),
    ("delete_secret", {"SecretId": "{live}", "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": True},
     "InvalidParameterException",
     "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.", None),
    ("delete_secret", {"SecretId": "{primary}"}, "InvalidParameterException",
     "You can't delete secret {primary} that still has replica regions [eu-west-2]", None),
    ("delete_secret", {"SecretId": "{replica}"}, "InvalidRequestException", REPLICA_RO, "eu-west-2"),
    # DescribeSecret
    ("describe_secret", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("describe_secret", {"SecretId": "{missing_arn}"}, "ResourceNotFoundException", NOT_FOUND, None),
    # GetRandomPassword
    ("get_random_password", {"PasswordLength": 3, "RequireEachIncludedType": True}, "InvalidParameterException",
     "Password length is too short based on the required types.", None),
    ("get_random_password", {"ExcludeNumbers": True, "ExcludePunctuation": True, "ExcludeUppercase": True,
                             "ExcludeLowercase": True}, "InvalidParameterException",
     "The password can't be generated because all characters are excluded.", None),
    # GetResourcePolicy
    ("get_resource_policy", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    # GetSecretValue
    ("get_secret_value", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("get_secret_value", {"SecretId": "{empty}"}, "ResourceNotFoundException",
     "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT", None),
    ("get_secret_value", {"SecretId": "{live}", "VersionId": MISSING_VERSION}, "ResourceNotFoundException",
     f"Secrets Manager can't find the specified secret value for VersionId: {MISSING_VERSION}", None),
    ("get_secret_value", {"SecretId": "{live}", "VersionId": "{live_v1}", "VersionStage": "AWSPREVIOUS"},
     "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.", None),
    ("get_secret_value", {"SecretId": "{deleted}"}, "InvalidRequestException", MARKED, None),
    # ListSecretVersionIds
    ("list_secret_version_ids", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("list_secret_version_ids", {"SecretId": "{live}", "NextToken": "garbage"}, "InvalidNextTokenException",
     "The NextToken value is invalid.", None),
    # ListSecrets
    ("list_secrets", {"Filters": [{"Key": "name"}]}, "InvalidParameterException",
     "Invalid filter values for key: name", None),
    ("list_secrets", {"NextToken": "garbage"}, "InvalidNextTokenException", "The NextToken value is invalid.", None),
    # PutResourcePolicy
    ("put_resource_policy", {"SecretId": "{missing}", "ResourcePolicy": NO_ACTION_POLICY.replace("\"Resource\"", "\"Action\":\"secretsmanager:*\",\"Resource\"")},
     "ResourceNotFoundException", NOT_FOUND, None),
    ("put_resource_policy", {"SecretId": "{live}", "ResourcePolicy": "not json"}, "MalformedPolicyDocumentException",
     "This resource policy contains a syntax error.", None),
    ("put_resource_policy", {"SecretId": "{live}", "ResourcePolicy": NO_ACTION_POLICY},
     "MalformedPolicyDocumentException", "This resource policy contains a syntax error.", None),
    ("put_resource_policy", {"SecretId": "{live}", "ResourcePolicy": BAD_ACTION_POLICY},
     "MalformedPolicyDocumentException", "This resource policy contains a syntax error.", None),
    ("put_resource_policy", {"SecretId": "{live}", "ResourcePolicy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]})},
     "MalformedPolicyDocumentException", "This resource policy contains an unsupported principal.", None),
    ("put_resource_policy", {"SecretId": "{live}", "ResourcePolicy": PUBLIC_POLICY, "BlockPublicPolicy": True},
     "PublicPolicyException",
     "This resource policy grants broad access to the secret, and BlockPublicPolicy is set to true.", None),
    ("put_resource_policy", {"SecretId": "{deleted}", "ResourcePolicy": PUBLIC_POLICY}, "InvalidRequestException",
     MARKED, None),
    # PutSecretValue
    ("put_secret_value", {"SecretId": "{missing}", "SecretString": "x"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("put_secret_value", {"SecretId": "{live}", "SecretString": "other", "ClientRequestToken": "{live_v1}"},
     "ResourceExistsException", "You can't modify an existing version, you can only create a new version.", None),
    ("put_secret_value", {"SecretId": "{live}"}, "InvalidRequestException",
     "You must provide either SecretString or SecretBinary.", None),
    ("put_secret_value", {"SecretId": "{live}", "SecretString": "x", "SecretBinary": b"x"},
     "InvalidParameterException",
     "You can't specify both a binary secret value and a string secret value in the same secret.", None),
    ("put_secret_value", {"SecretId": "{deleted}", "SecretString": "x"}, "InvalidRequestException", MARKED, None),
    ("put_secret_value", {"SecretId": "{replica}", "SecretString": "x"}, "InvalidRequestException", REPLICA_RO,
     "eu-west-2"),
    # RemoveRegionsFromReplication
    ("remove_regions_from_replication", {"SecretId": "{missing}", "RemoveReplicaRegions": ["eu-west-2"]},
     "ResourceNotFoundException", NOT_FOUND, None),
    ("remove_regions_from_replication", {"SecretId": "{replica}", "RemoveReplicaRegions": ["eu-west-2"]},
     "InvalidRequestException", REPLICA_RO, "eu-west-2"),
    # ReplicateSecretToRegions
    ("replicate_secret_to_regions", {"SecretId": "{missing}", "AddReplicaRegions": [{"Region": "eu-west-3"}]},
     "ResourceNotFoundException", NOT_FOUND, None),
    ("replicate_secret_to_regions", {"SecretId": "{live}", "AddReplicaRegions": [{"Region": "us-east-1"}]},
     "InvalidParameterException", "Invalid replica region.", None),
    ("replicate_secret_to_regions", {"SecretId": "{primary}", "AddReplicaRegions": [{"Region": "eu-west-2"}]},
     "InvalidParameterException", "The secret is already replicated to eu-west-2.", None),
    ("replicate_secret_to_regions", {"SecretId": "{replica}", "AddReplicaRegions": [{"Region": "eu-west-3"}]},
     "InvalidRequestException", REPLICA_RO, "eu-west-2"),
    # RestoreSecret
    ("restore_secret", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("restore_secret", {"SecretId": "{replica}"}, "InvalidRequestException", REPLICA_RO, "eu-west-2"),
    # RotateSecret
    ("rotate_secret", {"SecretId": "{missing}", "RotationLambdaARN": LAMBDA}, "ResourceNotFoundException",
     NOT_FOUND, None),
    ("rotate_secret", {"SecretId": "{live}"}, "InvalidRequestException",
     "No Lambda rotation function ARN is associated with this secret.", None),
    ("rotate_secret", {"SecretId": "{deleted}", "RotationLambdaARN": LAMBDA}, "InvalidRequestException",
     MARKED, None),
    ("rotate_secret", {"SecretId": "{rotating}", "RotationLambdaARN": LAMBDA}, "InvalidRequestException",
     "A previous rotation isn't complete. That rotation will be reattempted.", None),
    ("rotate_secret", {"SecretId": "{live}", "RotationLambdaARN": LAMBDA,
                       "RotationRules": {"ScheduleExpression": "rate(1 hour)"}},
     "InvalidParameterException", "The schedule expression is invalid.", None),
    # StopReplicationToReplica
    ("stop_replication_to_replica", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND, "eu-west-2"),
    ("stop_replication_to_replica", {"SecretId": "{live}"}, "InvalidRequestException",
     "StopReplicationToReplica can only be called on a replica secret.", None),
    # TagResource
    ("tag_resource", {"SecretId": "{missing}", "Tags": [{"Key": "k", "Value": "v"}]}, "ResourceNotFoundException",
     NOT_FOUND, None),
    ("tag_resource", {"SecretId": "{deleted}", "Tags": [{"Key": "k", "Value": "v"}]}, "InvalidRequestException",
     MARKED, None),
    ("tag_resource", {"SecretId": "{live}", "Tags": [{"Key": "aws:k", "Value": "v"}]}, "InvalidParameterException",
     "Invalid tag key: the aws: prefix is reserved for AWS use.", None),
    ("tag_resource", {"SecretId": "{live}", "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
     "InvalidRequestException",
     "The request failed because it would exceed the maximum number of tags (50) on a secret.", None),
    # UntagResource
    ("untag_resource", {"SecretId": "{missing}", "TagKeys": ["k"]}, "ResourceNotFoundException", NOT_FOUND, None),
    ("untag_resource", {"SecretId": "{deleted}", "TagKeys": ["k"]}, "InvalidRequestException", MARKED, None),
    # UpdateSecret
    ("update_secret", {"SecretId": "{missing}", "Description": "d"}, "ResourceNotFoundException", NOT_FOUND, None),
    ("update_secret", {"SecretId": "{deleted}", "Description": "d"}, "InvalidRequestException", MARKED, None),
    ("update_secret", {"SecretId": "{live}", "SecretString": "other", "ClientRequestToken": "{live_v1}"},
     "ResourceExistsException", "You can't modify an existing version, you can only create a new version.", None),
    ("update_secret", {"SecretId": "{live}", "SecretString": "x", "SecretBinary": b"x"},
     "InvalidParameterException",
     "You can't specify both a binary secret value and a string secret value in the same secret.", None),
    ("update_secret", {"SecretId": "{replica}", "Description": "d"}, "InvalidRequestException", REPLICA_RO,
     "eu-west-2"),
    # UpdateSecretVersionStage
    ("update_secret_version_stage", {"SecretId": "{missing}", "VersionStage": "X", "MoveToVersionId": MISSING_VERSION},
     "ResourceNotFoundException", NOT_FOUND, None),
    ("update_secret_version_stage", {"SecretId": "{deleted}", "VersionStage": "X", "MoveToVersionId": MISSING_VERSION},
     "InvalidRequestException", MARKED, None),
    ("update_secret_version_stage", {"SecretId": "{live}", "VersionStage": "AWSCURRENT",
                                     "MoveToVersionId": MISSING_VERSION},
     "ResourceNotFoundException",
     f"Secrets Manager can't find the specified secret value for VersionId: {MISSING_VERSION}", None),
    ("update_secret_version_stage", {"SecretId": "{labelled}", "VersionStage": "AWSCURRENT",
                                     "MoveToVersionId": "{labelled_v2}"},
     "InvalidParameterException",
     "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version "
     "{labelled_v1}, so you must explicitly reference that version in RemoveFromVersionId.", None),
    ("update_secret_version_stage", {"SecretId": "{labelled}", "VersionStage": "L20", "MoveToVersionId": "{labelled_v2}"},
     "LimitExceededException", "A version of a secret can have at most 20 staging labels.", None),
    # ValidateResourcePolicy
    ("validate_resource_policy", {"SecretId": "{missing}", "ResourcePolicy": PUBLIC_POLICY},
     "ResourceNotFoundException", NOT_FOUND, None),
    ("validate_resource_policy", {"ResourcePolicy": "{{not json"}, "MalformedPolicyDocumentException",
     "This resource policy contains a syntax error.", None),
    ("validate_resource_policy", {"SecretId": "bad name", "ResourcePolicy": PUBLIC_POLICY}, "ValidationException",
     INVALID_NAME, None),
]


def case_id(case):
    op, params, code = case[0], case[1], case[2]
    return f"{op}-{code}-{'-'.join(sorted(params))}"


def snapshot(sm, s):
    """What a failed call must leave unchanged: every fixture secret's metadata (not access dates)."""
    out = {}
    for key in ("live", "empty", "deleted", "primary", "labelled", "rotating"):
        d = sm.describe_secret(SecretId=s[key])
        d.pop("ResponseMetadata")
        d.pop("LastAccessedDate", None)
        out[key] = d
    return out


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_error(server, sm, secrets, case):
    op, params, code, message, region = case
    client = sm if region is None else boto_client("secretsmanager", server, region=region,
                                                   parameter_validation=False)
    before = snapshot(sm, secrets)
    with pytest.raises(ClientError) as e:
        getattr(client, op)(**fill(params, secrets))
    err = e.value.response
    assert (err["Error"]["Code"], err["Error"].get("Message"), err["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, fill(message, secrets), 400)
    assert snapshot(sm, secrets) == before


def test_batch_get_reports_each_missing_or_deleted_secret(sm, secrets):
    r = sm.batch_get_secret_value(SecretIdList=[secrets["live"], secrets["missing"], secrets["deleted"]])
    assert [v["Name"] for v in r["SecretValues"]] == [secrets["live"]]
    assert [(x["SecretId"], x["ErrorCode"], x["Message"]) for x in r["Errors"]] == [
        (secrets["missing"], "ResourceNotFoundException", NOT_FOUND),
        (secrets["deleted"], "InvalidRequestException", MARKED),
    ]


@pytest.mark.parametrize("op,params", [
    ("create_secret", {"Name": "{missing}", "SecretString": "x"}),
    ("put_secret_value", {"SecretId": "{live}", "SecretString": "x"}),
    ("update_secret", {"SecretId": "{live}", "SecretString": "x"}),
])
def test_client_request_token_is_required_without_an_sdk(server, secrets, op, params):
    """The SDKs fill ClientRequestToken in; a raw request without one fails, before anything else
    is checked (recorded: test_no_client_request_token)."""
    client = boto_client("secretsmanager", server)
    client.meta.events.unregister("before-parameter-build", botocore.handlers.generate_idempotent_uuid)
    before = client.describe_secret(SecretId=secrets["live"])["VersionIdsToStages"]
    with pytest.raises(ClientError) as e:
        getattr(client, op)(**fill(params, secrets))
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (
        "InvalidRequestException", TOKEN_REQUIRED)
    assert client.describe_secret(SecretId=secrets["live"])["VersionIdsToStages"] == before
    with pytest.raises(ClientError):
        client.describe_secret(SecretId=secrets["missing"])


def test_rotate_secret_without_a_token_is_an_invalid_parameter(server, secrets):
    client = boto_client("secretsmanager", server)
    client.meta.events.unregister("before-parameter-build", botocore.handlers.generate_idempotent_uuid)
    with pytest.raises(ClientError) as e:
        client.rotate_secret(SecretId=secrets["live"], RotationLambdaARN=LAMBDA)
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (
        "InvalidParameterException", TOKEN_REQUIRED)


def test_validate_resource_policy_reports_grammar_and_public_access(sm):
    ok = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    assert sm.validate_resource_policy(ResourcePolicy=ok)["PolicyValidationPassed"] is True
    r = sm.validate_resource_policy(ResourcePolicy=NO_ACTION_POLICY)
    assert r["PolicyValidationPassed"] is False
    assert r["ValidationErrors"] == [{"CheckName": "SYNTAX_CHECK", "ErrorMessage": "Policy statement must contain actions."}]
    r = sm.validate_resource_policy(ResourcePolicy=BAD_ACTION_POLICY)
    assert r["ValidationErrors"] == [{"CheckName": "SYNTAX_CHECK", "ErrorMessage":
                                      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."}]
    r = sm.validate_resource_policy(ResourcePolicy=PUBLIC_POLICY)
    assert r["PolicyValidationPassed"] is False
    assert [x["CheckName"] for x in r["ValidationErrors"]] == ["PUBLIC_ACCESS_CHECK"]


def test_every_error_of_the_model_is_tested_or_explained():
    import pathlib
    from test_secretsmanager import MODELS
    model = json.loads((pathlib.Path(MODELS) / "secretsmanager" / "2017-10-17" / "service-2.json").read_text())
    tested = {("".join(w.capitalize() for w in c[0].split("_")), c[2]) for c in CASES}
    tested |= {("".join(w.capitalize() for w in c[0].split("_")), c[2]) for c in QUERY_CASES}
    tested |= TESTED_ELSEWHERE
    missing = []
    for op, spec in model["operations"].items():
        for err in spec.get("errors", []):
            pair = (op, err["shape"])
            if pair not in tested and pair not in NOT_ARISING:
                missing.append(pair)
    assert missing == []
    assert not tested & set(NOT_ARISING), "an error listed as impossible is tested"


# ---- a few over Query ------------------------------------------------------------------------

QUERY_CASES = [
    ("get_secret_value", {"SecretId": "{missing}"}, "ResourceNotFoundException", NOT_FOUND),
    ("get_secret_value", {"SecretId": "{deleted}"}, "InvalidRequestException", MARKED),
    ("create_secret", {"Name": "{live}", "SecretString": "x"}, "ResourceExistsException",
     "The operation failed because the secret {live} already exists."),
    ("delete_secret", {"SecretId": "{live}", "RecoveryWindowInDays": 6}, "InvalidParameterException",
     "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."),
    ("put_resource_policy", {"SecretId": "{live}", "ResourcePolicy": PUBLIC_POLICY, "BlockPublicPolicy": True},
     "PublicPolicyException",
     "This resource policy grants broad access to the secret, and BlockPublicPolicy is set to true."),
    ("list_secrets", {"NextToken": "garbage"}, "InvalidNextTokenException", "The NextToken value is invalid."),
]


@pytest.mark.parametrize("case", QUERY_CASES, ids=[c[0] + "-" + c[2] for c in QUERY_CASES])
def test_error_over_query(sm, sm_query, secrets, case):  # noqa: F811
    op, params, code, message = case
    before = snapshot(sm, secrets)
    with pytest.raises(ClientError) as e:
        getattr(sm_query, op)(**fill(params, secrets))
    err = e.value.response
    assert (err["Error"]["Code"], err["Error"].get("Message"), err["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, fill(message, secrets), 400)
    assert snapshot(sm, secrets) == before


# Filter validation, ListSecrets and BatchGetSecretValue alike. A missing key or missing values are
# the service's InvalidParameterException with the messages getmoto/moto quotes from AWS
# (test_with_no_filter_key, test_with_no_filter_values); everything the model constrains (the key's
# enum, 1-10 values of at most 512 characters matching `^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`)
# is a ValidationException naming the member, the enum with AWS's value order (moto's
# test_with_invalid_filter_key quotes it).
KEY_SET = "[all, name, tag-key, description, tag-value, primary-region, owning-service]"
VALUE_PATTERN = r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$"
FILTER_CASES = [
    ([{"Values": ["x"]}], "InvalidParameterException", "Invalid filter key"),
    ([{"Key": "description"}], "InvalidParameterException", "Invalid filter values for key: description"),
    ([{"Key": "name", "Values": ["x"]}, {"Key": "tag-key"}], "InvalidParameterException",
     "Invalid filter values for key: tag-key"),
    ([{"Key": "name", "Values": ["x"]}, {"Key": "bogus", "Values": ["x"]}], "ValidationException",
     "1 validation error detected: Value 'bogus' at 'filters.2.member.key' failed to satisfy constraint: "
     f"Member must satisfy enum value set: {KEY_SET}"),
    # The model's constraints come first: the missing values of the first filter are not reached.
    ([{"Key": "name"}, {"Key": "Name", "Values": ["x"]}], "ValidationException",
     "1 validation error detected: Value 'Name' at 'filters.2.member.key' failed to satisfy constraint: "
     f"Member must satisfy enum value set: {KEY_SET}"),
    ([{"Key": "name", "Values": []}], "ValidationException",
     "1 validation error detected: Value '[]' at 'filters.1.member.values' failed to satisfy constraint: "
     "Member must have length greater than or equal to 1"),
    ([{"Key": "name", "Values": [f"v{i}" for i in range(11)]}], "ValidationException",
     "1 validation error detected: Value '[v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10]' at "
     "'filters.1.member.values' failed to satisfy constraint: Member must have length less than or equal to 10"),
    # `!` negates only as the first character of a value, but the pattern admits it anywhere;
    # other punctuation is refused.
    ([{"Key": "name", "Values": ["!a*"]}], "ValidationException",
     "1 validation error detected: Value '[!a*]' at 'filters.1.member.values' failed to satisfy constraint: "
     f"Member must satisfy constraint: [Member must satisfy regular expression pattern: {VALUE_PATTERN}]"),
    # Only ASCII letters and digits are in the pattern's classes.
    ([{"Key": "name", "Values": ["\u00e9"]}], "ValidationException",
     "1 validation error detected: Value '[\u00e9]' at 'filters.1.member.values' failed to satisfy constraint: "
     f"Member must satisfy constraint: [Member must satisfy regular expression pattern: {VALUE_PATTERN}]"),
    # A value longer than 512 characters; with another value breaking the pattern, both member
    # constraints are listed, in the model's order.
    ([{"Key": "name", "Values": ["a" * 513]}], "ValidationException",
     f"1 validation error detected: Value '[{'a' * 513}]' at 'filters.1.member.values' failed to satisfy "
     "constraint: Member must satisfy constraint: [Member must have length less than or equal to 512]"),
    ([{"Key": "name", "Values": ["a" * 513, "b*"]}], "ValidationException",
     f"1 validation error detected: Value '[{'a' * 513}, b*]' at 'filters.1.member.values' failed to satisfy "
     "constraint: Member must satisfy constraint: [Member must have length less than or equal to 512, "
     f"Member must satisfy regular expression pattern: {VALUE_PATTERN}]"),
    # More than 10 filters (API reference: "Maximum number of 10 items").
    ([{"Key": "name", "Values": ["x"]}] * 11, "ValidationException",
     "1 validation error detected: Value '[" + ", ".join(["{Key=name, Values=[x]}"] * 11) + "]' at 'filters' "
     "failed to satisfy constraint: Member must have length less than or equal to 10"),
]


@pytest.mark.parametrize("operation", ["list_secrets", "batch_get_secret_value"])
@pytest.mark.parametrize("filters,code,message", FILTER_CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(FILTER_CASES)])
def test_filter_validation(server, operation, filters, code, message):
    raw = boto_client("secretsmanager", server, parameter_validation=False)
    with pytest.raises(ClientError) as e:
        getattr(raw, operation)(Filters=filters)
    err = e.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, message, 400)


def test_negation_values_that_pass_validation(server, sm):
    """`!` alone negates the empty prefix (every secret), `!!x` negates the prefix `!x`, and
    `a!b` is a plain prefix: all valid, as the pattern allows."""
    tag = uuid.uuid4().hex[:8]
    names = [f"neg{tag}/a", f"neg{tag}/b"]
    for n in names:
        sm.create_secret(Name=n, SecretString="v")
    prefix = {"Key": "name", "Values": [f"neg{tag}/"]}
    listed = lambda values: [s["Name"] for s in sm.list_secrets(  # noqa: E731
        Filters=[prefix, {"Key": "name", "Values": values}])["SecretList"]]
    assert listed(["!"]) == []
    assert listed([""]) == names  # the empty prefix: valid (the pattern has no minimum), matches all
    assert listed(["!!x"]) == names
    assert listed([f"!neg{tag}/a"]) == [names[1]]
    assert listed([f"neg{tag}/a!b"]) == []
