"""Compiled policies are cached per caller (issue 4): an IAM change takes effect on the next request
on the node that made it, and within a second on another node sharing the PostgreSQL database."""
import base64
import json
import os
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_ENV, boto_client

ALLOW_LIST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}]})


def allowed(client):
    try:
        client.list_secrets()
        return True
    except ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDeniedException"
        return False


def within_a_second(check):
    deadline = time.time() + 1.0
    while not check():
        assert time.time() < deadline, "the other node still decided with stale policies after 1 s"
        time.sleep(0.02)


def test_policy_changes_reach_every_node(start_server, postgres):
    url = postgres.new_database()
    env = dict(ROOT_ENV, COFFER_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
    a = start_server(["--account-id", ACCOUNT, "--http", "--storage", url], env=env)
    b = start_server(["--account-id", ACCOUNT, "--http", "--storage", url], env=env)
    iam = boto_client("iam", a)
    name = f"c-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    on_a, on_b = (boto_client("secretsmanager", s, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
                  for s in (a, b))
    # Both nodes have now cached "no permissions" for this caller.
    assert not allowed(on_a) and not allowed(on_b)
    iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=ALLOW_LIST)
    assert allowed(on_a), "the writing node must apply the change to its next request"
    within_a_second(lambda: allowed(on_b))
    # Group membership and managed policies are part of what is cached, too.
    iam.delete_user_policy(UserName=name, PolicyName="list")
    assert not allowed(on_a)
    within_a_second(lambda: not allowed(on_b))
    group = f"g-{uuid.uuid4().hex[:8]}"
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/SecretsManagerReadWrite")
    assert not allowed(on_a)
    iam.add_user_to_group(GroupName=group, UserName=name)
    assert allowed(on_a)
    within_a_second(lambda: allowed(on_b))
