"""Dev mode (`coffer serve --dev`) accepts any credentials and enforces nothing, but knows who is
calling when the key is one Coffer issued: an IAM user's access key answers as that user, temporary
credentials as their session, as on AWS. Any other key answers as an account's root."""
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import boto_client

DEV_ACCOUNT = "000000000000"
TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_root(dev_server, service):
    """Dev mode's caller for a key it does not know: the default account's root."""
    return boto_client(service, dev_server, key="anything", secret="whatever")


def user_with_key(dev_server):
    iam = as_root(dev_server, "iam")
    name = uid("dev-user")
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user, key


def client_for(dev_server, service, key, token=None):
    return boto_client(service, dev_server, key=key["AccessKeyId"], secret=key["SecretAccessKey"], token=token)


def test_user_key_answers_as_the_user(dev_server):
    user, key = user_with_key(dev_server)
    ident = client_for(dev_server, "sts", key).get_caller_identity()
    assert ident == {
        "UserId": user["UserId"],
        "Account": DEV_ACCOUNT,
        "Arn": user["Arn"],
        "ResponseMetadata": ident["ResponseMetadata"],
    }


def test_calling_user_defaults_apply_to_the_keys_user(dev_server):
    user, key = user_with_key(dev_server)
    iam = client_for(dev_server, "iam", key)
    assert iam.get_user()["User"]["UserName"] == user["UserName"]
    listed = iam.list_access_keys()["AccessKeyMetadata"]
    assert [(k["UserName"], k["AccessKeyId"]) for k in listed] == [(user["UserName"], key["AccessKeyId"])]
    second = iam.create_access_key()["AccessKey"]
    assert second["UserName"] == user["UserName"]
    assert iam.list_mfa_devices()["MFADevices"] == []
    # ChangePassword changes the calling user's own password; an account root has none to change.
    as_root(dev_server, "iam").create_login_profile(UserName=user["UserName"], Password="Old-Passw0rd!x")
    iam.change_password(OldPassword="Old-Passw0rd!x", NewPassword="New-Passw0rd!y")
    iam.change_password(OldPassword="New-Passw0rd!y", NewPassword="Third-Passw0rd!z")
    with pytest.raises(ClientError) as root_change:
        as_root(dev_server, "iam").change_password(OldPassword="Third-Passw0rd!z", NewPassword="Fourth-Passw0rd!w")
    assert root_change.value.response["Error"]["Code"] == "InvalidUserType"

def test_a_disabled_key_still_names_its_user(dev_server):
    # Status is enforcement, which dev mode does without: the key still says who is calling.
    user, key = user_with_key(dev_server)
    as_root(dev_server, "iam").update_access_key(
        UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert client_for(dev_server, "sts", key).get_caller_identity()["Arn"] == user["Arn"]


def test_a_deleted_key_is_an_unknown_key(dev_server):
    user, key = user_with_key(dev_server)
    as_root(dev_server, "iam").delete_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"])
    ident = client_for(dev_server, "sts", key).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"


def test_role_session_answers_as_the_assumed_role(dev_server):
    role_name = uid("dev-role")
    role = as_root(dev_server, "iam").create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST)["Role"]
    assumed = as_root(dev_server, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="dev-session")
    creds = assumed["Credentials"]
    session = boto_client("sts", dev_server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                          token=creds["SessionToken"])
    ident = session.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{DEV_ACCOUNT}:assumed-role/{role_name}/dev-session"
    assert ident["Arn"] == assumed["AssumedRoleUser"]["Arn"]
    assert ident["UserId"] == f"{role['RoleId']}:dev-session"
    assert ident["Account"] == DEV_ACCOUNT
    # A role session is not a user: operations that default to the calling user need a name, as on AWS.
    iam = boto_client("iam", dev_server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                      token=creds["SessionToken"])
    with pytest.raises(ClientError) as e:
        iam.get_user()
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == "Must specify userName when calling with non-User credentials"


def test_session_key_with_a_wrong_or_missing_token_is_an_unknown_key(dev_server):
    role = as_root(dev_server, "iam").create_role(RoleName=uid("dev-role"), AssumeRolePolicyDocument=TRUST)["Role"]
    creds = as_root(dev_server, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="dev-s")["Credentials"]
    for token in ["not-the-session-token", None]:
        sts = boto_client("sts", dev_server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=token)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"


def test_session_token_of_a_user_answers_as_the_user(dev_server):
    user, key = user_with_key(dev_server)
    creds = client_for(dev_server, "sts", key).get_session_token()["Credentials"]
    sts = boto_client("sts", dev_server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                      token=creds["SessionToken"])
    assert sts.get_caller_identity()["Arn"] == user["Arn"]


def test_unknown_keys_keep_the_account_from_the_key(dev_server):
    ident = boto_client("sts", dev_server, key="AKIAUNKNOWNDEVKEY000", secret="x").get_caller_identity()
    assert (ident["Account"], ident["Arn"]) == (DEV_ACCOUNT, f"arn:aws:iam::{DEV_ACCOUNT}:root")
    ident = boto_client("sts", dev_server, key="444455556666", secret="x").get_caller_identity()
    assert (ident["Account"], ident["Arn"]) == ("444455556666", "arn:aws:iam::444455556666:root")
