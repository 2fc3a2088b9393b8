"""`coffer admin account create`: more accounts (tenants) in one store, created while the server
runs, each with its own root key and nothing shared with the others."""
import json
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_ENV, boto_client, coffer_bin


def create_account(data_dir, *args):
    out = subprocess.run([coffer_bin(), "admin", "account", "create", "--data-dir", data_dir, *args],
                         capture_output=True, text=True, timeout=60)
    return out


def new_account(data_dir, *args):
    out = create_account(data_dir, *args)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def srv():
    from conftest import Server
    s = Server(["--account-id", ACCOUNT], env=ROOT_ENV)
    yield s
    s.cleanup()


def test_new_account_authenticates_on_the_running_server(srv):
    created = new_account(srv.data_dir)
    assert list(created) == ["AccountId", "AccessKeyId", "SecretAccessKey"]
    assert len(created["AccountId"]) == 12 and created["AccountId"].isdigit()
    assert created["AccountId"] != ACCOUNT
    assert created["AccessKeyId"].startswith("AKIA") and len(created["AccessKeyId"]) == 20
    assert len(created["SecretAccessKey"]) == 40
    sts = boto_client("sts", srv, key=created["AccessKeyId"], secret=created["SecretAccessKey"])
    ident = sts.get_caller_identity()
    assert ident["Account"] == created["AccountId"]
    assert ident["Arn"] == f"arn:aws:iam::{created['AccountId']}:root"
    assert ident["UserId"] == created["AccountId"]
    # The first account is untouched.
    assert boto_client("sts", srv).get_caller_identity()["Account"] == ACCOUNT


def test_chosen_account_id_and_duplicates(srv):
    created = new_account(srv.data_dir, "--account-id", "210987654321")
    assert created["AccountId"] == "210987654321"
    again = create_account(srv.data_dir, "--account-id", "210987654321")
    assert again.returncode != 0
    assert "account 210987654321 already exists" in again.stderr
    assert again.stdout == ""
    existing = create_account(srv.data_dir, "--account-id", ACCOUNT)
    assert existing.returncode != 0 and "already exists" in existing.stderr
    bad = create_account(srv.data_dir, "--account-id", "12345")
    assert bad.returncode != 0 and "12 digits" in bad.stderr


def test_accounts_are_isolated(srv):
    other = new_account(srv.data_dir)
    mine = boto_client("secretsmanager", srv)
    theirs = boto_client("secretsmanager", srv, key=other["AccessKeyId"], secret=other["SecretAccessKey"])
    arn = mine.create_secret(Name="isolated/one", SecretString="mine-only")["ARN"]
    assert f":{ACCOUNT}:" in arn
    assert "isolated/one" not in [s["Name"] for s in theirs.list_secrets()["SecretList"]]
    with pytest.raises(ClientError) as e:
        theirs.get_secret_value(SecretId="isolated/one")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # The same name in the other account is another secret.
    their_arn = theirs.create_secret(Name="isolated/one", SecretString="theirs")["ARN"]
    assert f":{other['AccountId']}:" in their_arn
    assert mine.get_secret_value(SecretId="isolated/one")["SecretString"] == "mine-only"
    assert theirs.get_secret_value(SecretId="isolated/one")["SecretString"] == "theirs"
    # IAM too: a user of one account does not exist in the other.
    boto_client("iam", srv).create_user(UserName="isolated-user")
    their_iam = boto_client("iam", srv, key=other["AccessKeyId"], secret=other["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        their_iam.get_user(UserName="isolated-user")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
