"""Issue 6, done-when: with the AWS CLI only, an administrator creates a user, a group and a
policy, attaches the policy to the group, adds the user and gives it an access key; that key can
then do exactly what the policy allows, and every other call is denied."""
import json
import subprocess
import uuid

from conftest import ACCOUNT, cli_env


def aws(server, *args, env=None):
    """Runs the AWS CLI; returns (exit code, parsed JSON output or None, stderr)."""
    out = subprocess.run(
        ["aws", *args, "--endpoint-url", server.url, "--output", "json"],
        env=env or cli_env(server), capture_output=True, text=True, timeout=120,
    )
    parsed = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None
    return out.returncode, parsed, out.stderr


def ok(server, *args, env=None):
    code, parsed, err = aws(server, *args, env=env)
    assert code == 0, f"aws {' '.join(args)} failed: {err}"
    return parsed


def denied(server, error_code, *args, env=None):
    code, _, err = aws(server, *args, env=env)
    assert code != 0, f"aws {' '.join(args)} unexpectedly succeeded"
    assert f"({error_code})" in err, err


def test_a_key_does_exactly_what_its_group_policy_allows(server, tmp_path):
    tag = uuid.uuid4().hex[:8]
    user, group, policy = f"scenario-{tag}", f"scenario-grp-{tag}", f"scenario-pol-{tag}"
    allowed, other = f"app-{tag}/db-password", f"other-{tag}/db-password"

    # The administrator (root credentials) sets everything up with the CLI.
    ok(server, "secretsmanager", "create-secret", "--name", allowed, "--secret-string", "allowed-value")
    ok(server, "secretsmanager", "create-secret", "--name", other, "--secret-string", "other-value")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOneFamilyOfSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-{tag}/*",
            },
            {
                "Sid": "DescribeSelf",
                "Effect": "Allow",
                "Action": "iam:GetUser",
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            },
        ],
    }
    doc_file = tmp_path / "policy.json"
    doc_file.write_text(json.dumps(document))

    created = ok(server, "iam", "create-user", "--user-name", user)["User"]
    ok(server, "iam", "create-group", "--group-name", group)
    policy_arn = ok(server, "iam", "create-policy", "--policy-name", policy,
                    "--policy-document", f"file://{doc_file}")["Policy"]["Arn"]
    ok(server, "iam", "attach-group-policy", "--group-name", group, "--policy-arn", policy_arn)
    ok(server, "iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    key = ok(server, "iam", "create-access-key", "--user-name", user)["AccessKey"]
    as_user = cli_env(server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])

    try:
        # What the policy allows.
        ident = ok(server, "sts", "get-caller-identity", env=as_user)
        assert ident["Arn"] == created["Arn"]
        value = ok(server, "secretsmanager", "get-secret-value", "--secret-id", allowed, env=as_user)
        assert value["SecretString"] == "allowed-value"
        me = ok(server, "iam", "get-user", env=as_user)["User"]
        assert me["UserName"] == user and me["Arn"] == created["Arn"]
        assert ok(server, "iam", "get-user", "--user-name", user, env=as_user)["User"]["UserId"] == created["UserId"]

        # Everything else.
        denied(server, "AccessDeniedException", "secretsmanager", "get-secret-value", "--secret-id", other,
               env=as_user)
        denied(server, "AccessDeniedException", "secretsmanager", "describe-secret", "--secret-id", allowed,
               env=as_user)
        denied(server, "AccessDeniedException", "secretsmanager", "create-secret", "--name", f"app-{tag}/new",
               "--secret-string", "x", env=as_user)
        denied(server, "AccessDeniedException", "secretsmanager", "put-secret-value", "--secret-id", allowed,
               "--secret-string", "changed", env=as_user)
        denied(server, "AccessDeniedException", "secretsmanager", "list-secrets", env=as_user)
        denied(server, "AccessDenied", "iam", "list-users", env=as_user)
        denied(server, "AccessDenied", "iam", "get-user", "--user-name", "root-admin-someone-else", env=as_user)
        denied(server, "AccessDenied", "iam", "create-access-key", env=as_user)
        denied(server, "AccessDenied", "iam", "detach-group-policy", "--group-name", group,
               "--policy-arn", policy_arn, env=as_user)
        denied(server, "AccessDenied", "iam", "create-user", "--user-name", f"escalate-{tag}", env=as_user)

        # The denials changed nothing.
        assert ok(server, "secretsmanager", "get-secret-value", "--secret-id", allowed)["SecretString"] == "allowed-value"
        attached = ok(server, "iam", "list-attached-group-policies", "--group-name", group)["AttachedPolicies"]
        assert attached == [{"PolicyName": policy, "PolicyArn": policy_arn}]

        # Taking the user out of the group takes the permissions away at once.
        ok(server, "iam", "remove-user-from-group", "--group-name", group, "--user-name", user)
        denied(server, "AccessDeniedException", "secretsmanager", "get-secret-value", "--secret-id", allowed,
               env=as_user)
        ok(server, "iam", "add-user-to-group", "--group-name", group, "--user-name", user)
        ok(server, "secretsmanager", "get-secret-value", "--secret-id", allowed, env=as_user)
    finally:
        aws(server, "iam", "delete-access-key", "--user-name", user, "--access-key-id", key["AccessKeyId"])
        aws(server, "iam", "remove-user-from-group", "--group-name", group, "--user-name", user)
        aws(server, "iam", "detach-group-policy", "--group-name", group, "--policy-arn", policy_arn)
        aws(server, "iam", "delete-policy", "--policy-arn", policy_arn)
        aws(server, "iam", "delete-group", "--group-name", group)
        aws(server, "iam", "delete-user", "--user-name", user)
        for name in (allowed, other):
            aws(server, "secretsmanager", "delete-secret", "--secret-id", name, "--force-delete-without-recovery")
