"""Policy checks beyond AWS's errors: `coffer policy lint FILE` on the sample documents in
`policies/`, and Secrets Manager's ValidateResourcePolicy through boto3, both reporting what IAM
Access Analyzer's policy validation reports."""
import json
import pathlib
import subprocess

from conftest import boto_client, coffer_bin

POLICIES = pathlib.Path(__file__).resolve().parent / "policies"
CHECKS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"


def lint(*args, stdin=None):
    return subprocess.run([coffer_bin(), "policy", "lint", *map(str, args)], input=stdin,
                          capture_output=True, text=True, timeout=60)


def findings(name, *extra):
    run = lint(POLICIES / name, "--format", "json", *extra)
    return run.returncode, json.loads(run.stdout)["findings"]


def test_a_sound_policy_has_no_findings():
    run = lint(POLICIES / "clean-identity-policy.json")
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == f"{POLICIES / 'clean-identity-policy.json'}: no findings\n"
    assert findings("clean-identity-policy.json") == (0, [])


def test_unknown_actions_services_keys_and_arn_formats_are_errors():
    code, found = findings("typos-identity-policy.json")
    assert code == 1
    assert [(f["findingType"], f["issueCode"], f["findingDetails"]) for f in found] == [
        ("ERROR", "INVALID_ACTION", "The action secretsmanager:GetSecretValu does not exist."),
        ("ERROR", "INVALID_SERVICE_IN_ACTION", "The service secretmanager specified in the action does not exist."),
        ("ERROR", "INVALID_ARN_RESOURCE",
         "Resource ARN does not match the expected ARN format. Update the resource portion of the ARN."),
        ("ERROR", "INVALID_SERVICE_CONDITION_KEY",
         "The condition key secretsmanager:Stage does not exist in the service secretsmanager."),
    ]
    first = found[0]
    assert first["learnMoreLink"] == f"{CHECKS}#access-analyzer-reference-policy-checks-error-invalid-action"
    assert first["locations"] == [{
        "path": [{"value": "Statement"}, {"index": 0}, {"value": "Action"}, {"index": 0}],
        "span": {"start": {"line": 6, "column": 17, "offset": 94}, "end": {"line": 6, "column": 47, "offset": 124}},
    }]
    text = (POLICIES / "typos-identity-policy.json").read_text()
    assert text[94:124] == '"secretsmanager:GetSecretValu"'
    condition = found[3]["locations"][0]
    assert condition["path"][2:] == [{"value": "Condition"}, {"value": "StringEquals"}, {"key": "secretsmanager:Stage"}]
    start, end = condition["span"]["start"]["offset"], condition["span"]["end"]["offset"]
    assert text[start:end] == '"secretsmanager:Stage"'


def test_text_output_points_at_each_finding():
    path = POLICIES / "typos-identity-policy.json"
    run = lint(path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == (f"{path}:6:18: ERROR INVALID_ACTION: The action secretsmanager:GetSecretValu does not exist."
                        " (Statement[0].Action[0])")
    assert lines[1] == f"    see {CHECKS}#access-analyzer-reference-policy-checks-error-invalid-action"
    assert lines[-1] == f"{path}: 4 errors, 0 security warnings, 0 warnings, 0 suggestions"


def test_keys_and_resources_no_action_can_use_are_warnings_that_do_not_fail():
    code, found = findings("unsupported-keys-identity-policy.json")
    assert code == 0
    assert [(f["findingType"], f["issueCode"]) for f in found] == [
        ("WARNING", "MISSING_ACTION_FOR_RESOURCE"),
        ("WARNING", "MISSING_ACTION_FOR_CONDITION_KEY"),
    ]
    assert found[1]["findingDetails"] == (
        "No action in this statement supports the condition key secretsmanager:VersionStage: requests for these"
        " actions never carry it. Add an action that supports it, such as secretsmanager:GetSecretValue,"
        " or remove the condition key.")
    assert found[1]["learnMoreLink"] == \
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html"


def test_a_grant_to_everyone_is_a_security_warning():
    code, found = findings("public-secret-policy.json")
    assert code == 1
    assert [(f["findingType"], f["issueCode"]) for f in found] == [("SECURITY_WARNING", "PUBLIC_ACCESS")]
    assert found[0]["locations"][0]["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Principal"}]
    # The same document as an identity policy is one IAM refuses outright.
    code, found = findings("public-secret-policy.json", "--policy-type", "IDENTITY_POLICY")
    assert code == 1
    assert [(f["issueCode"], f["findingDetails"], f["locations"]) for f in found] == [
        ("MALFORMED_POLICY_DOCUMENT", "Policy document should not specify a principal.", [])]


def test_not_json_is_a_syntax_error_with_its_position():
    code, found = findings("not-json.json")
    assert code == 1
    assert [(f["issueCode"], f["findingDetails"]) for f in found] == [
        ("JSON_SYNTAX_ERROR", "Fix the JSON syntax error at index 46 line 4 column 0.")]


def test_standard_input_and_unreadable_files():
    document = (POLICIES / "typos-identity-policy.json").read_text()
    run = lint("-", stdin=document)
    assert run.returncode == 1
    assert run.stdout.startswith("-:6:18: ERROR INVALID_ACTION")
    missing = POLICIES / "no-such-policy.json"
    run = lint(missing)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(f"coffer policy lint: cannot read {missing}: ")
    run = lint(POLICIES / "clean-identity-policy.json", "--policy-type", "SCP")
    assert run.returncode == 2
    assert "invalid value 'SCP'" in run.stderr


def test_validate_resource_policy_reports_unknown_actions(server):
    sm = boto_client("secretsmanager", server)
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": ["secretsmanager:GetSecretValu", "secretsmanager:DescribeSecret"], "Resource": "*",
        "Condition": {"StringEquals": {"secretsmanager:Stage": "AWSCURRENT"}}}]})
    result = sm.validate_resource_policy(ResourcePolicy=document)
    assert result["PolicyValidationPassed"] is False
    assert result["ValidationErrors"] == [
        {"CheckName": "SYNTAX_CHECK", "ErrorMessage": "The action secretsmanager:GetSecretValu does not exist."},
        {"CheckName": "SYNTAX_CHECK",
         "ErrorMessage": "The condition key secretsmanager:Stage does not exist in the service secretsmanager."},
    ]
    # Warnings do not fail a policy: DescribeSecret does not supply VersionStage.
    warned = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "secretsmanager:ListSecrets", "Resource": "*",
        "Condition": {"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}}]})
    result = sm.validate_resource_policy(ResourcePolicy=warned)
    assert (result["PolicyValidationPassed"], result["ValidationErrors"]) == (True, [])
