"""Service last-accessed data (IAM's access advisor) with boto3 and the AWS CLI against the production
server: the attempts a user or role really made (denied ones too) reported per service and, at action
level, per action of the services Coffer serves, for users, groups, roles and managed policies; the
policies granting each service; AWS's errors for bad ARNs, unknown jobs and other callers' jobs.

The server records attempts off the request path, so a test waits for the first one to show up
(`wait_for_attempt`, bounded) before asserting on a report.
"""
import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, boto_client, cli_env

IAM_NAME = "AWS Identity and Access Management (IAM)"
SM_NAME = "AWS Secrets Manager"
STS_NAME = "AWS Security Token Service"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


def report(iam, arn, granularity="SERVICE_LEVEL"):
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity=granularity)["JobId"]
    assert len(job) == 36
    out = iam.get_service_last_accessed_details(JobId=job)
    return job, out


def by_namespace(out):
    return {s["ServiceNamespace"]: s for s in out["ServicesLastAccessed"]}


def wait_for_attempt(iam, arn, namespace, timeout=10):
    """Polls until the report of `arn` shows an attempt on `namespace`; `timeout` only bounds a failure."""
    deadline = time.time() + timeout
    while True:
        _, out = report(iam, arn)
        service = by_namespace(out).get(namespace, {})
        if "LastAuthenticated" in service:
            return out
        assert time.time() < deadline, f"no attempt on {namespace} recorded for {arn}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(server):
    """A user with an inline Secrets Manager policy in a group whose managed policy grants IAM reads,
    a second member that never calls anything, and a role the user may assume."""
    iam = boto_client("iam", server)
    tag = uuid.uuid4().hex[:8]
    user = f"advisor-{tag}"
    idle = f"advisor-idle-{tag}"
    group = f"advisors-{tag}"
    role = f"advisor-role-{tag}"
    iam.create_user(UserName=user, Path="/advisors/")
    iam.create_user(UserName=idle)
    iam.put_user_policy(UserName=user, PolicyName="sm-read",
                        PolicyDocument=policy(allow(["secretsmanager:ListSecrets", "secretsmanager:GetSecretValue"]),
                                              allow("sts:AssumeRole")))
    iam.create_group(GroupName=group)
    managed = iam.create_policy(PolicyName=f"iam-read-{tag}",
                                PolicyDocument=policy(allow(["iam:Get*", "iam:List*"])))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=managed)
    for member in (user, idle):
        iam.add_user_to_group(GroupName=group, UserName=member)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/advisors/{user}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="sm-list", PolicyDocument=policy(allow("secretsmanager:ListSecrets")))
    key = iam.create_access_key(UserName=user)["AccessKey"]

    def as_user(service):
        return boto_client(service, server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])

    # The user's attempts: allowed ones, and a denied one (iam:CreateUser), which AWS counts too.
    as_user("secretsmanager").list_secrets()
    as_user("iam").get_user()
    with pytest.raises(ClientError):
        as_user("iam").create_user(UserName=f"never-{tag}")
    creds = as_user("sts").assume_role(RoleArn=role_arn, RoleSessionName="advisor")["Credentials"]
    boto_client("secretsmanager", server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                token=creds["SessionToken"]).list_secrets()
    wait_for_attempt(iam, user_arn, "secretsmanager")
    wait_for_attempt(iam, user_arn, "sts")
    wait_for_attempt(iam, role_arn, "secretsmanager")

    class World:
        pass

    w = World()
    w.iam, w.tag, w.as_user = iam, tag, as_user
    w.user, w.user_arn, w.idle = user, user_arn, idle
    w.idle_arn = f"arn:aws:iam::{ACCOUNT}:user/{idle}"
    w.group, w.group_arn = group, f"arn:aws:iam::{ACCOUNT}:group/{group}"
    w.role_arn, w.managed = role_arn, managed
    return w


def test_user_report_lists_the_services_its_policies_grant(world):
    _, out = report(world.iam, world.user_arn)
    assert (out["JobStatus"], out["JobType"], out["IsTruncated"]) == ("COMPLETED", "SERVICE_LEVEL", False)
    assert out["JobCompletionDate"] >= out["JobCreationDate"]
    services = out["ServicesLastAccessed"]
    # Its inline policy (secretsmanager, sts) and its group's managed policy (iam), by namespace.
    assert [(s["ServiceNamespace"], s["ServiceName"]) for s in services] == [
        ("iam", IAM_NAME), ("secretsmanager", SM_NAME), ("sts", STS_NAME)]
    for s in services:
        assert s["LastAuthenticatedEntity"] == world.user_arn
        assert (s["LastAuthenticatedRegion"], s["TotalAuthenticatedEntities"]) == ("us-east-1", 1)
        assert "TrackedActionsLastAccessed" not in s


def test_action_level_reports_each_action_attempted_denied_ones_too(world):
    _, out = report(world.iam, world.user_arn, "ACTION_LEVEL")
    assert out["JobType"] == "ACTION_LEVEL"
    services = by_namespace(out)

    def actions(namespace):
        return {a["ActionName"]: a for a in services[namespace].get("TrackedActionsLastAccessed", [])}

    iam_actions = actions("iam")
    # CreateUser was denied: an attempt all the same. The dispatch order of the spawned writes is
    # not the test's to know, so the set is checked once every attempt shows up.
    deadline = time.time() + 10
    while not {"GetUser", "CreateUser"} <= set(iam_actions):
        assert time.time() < deadline, iam_actions
        time.sleep(0.05)
        services = by_namespace(report(world.iam, world.user_arn, "ACTION_LEVEL")[1])
        iam_actions = actions("iam")
    assert set(iam_actions) == {"GetUser", "CreateUser"}
    for a in iam_actions.values():
        assert (a["LastAccessedEntity"], a["LastAccessedRegion"]) == (world.user_arn, "us-east-1")
        assert "LastAccessedTime" in a
    assert set(actions("secretsmanager")) == {"ListSecrets"}
    assert set(actions("sts")) == {"AssumeRole"}


def test_group_report_counts_its_members(world):
    job, out = report(world.iam, world.group_arn)
    services = out["ServicesLastAccessed"]
    # Only what the group's own policies grant.
    assert [s["ServiceNamespace"] for s in services] == ["iam"]
    assert services[0]["LastAuthenticatedEntity"] == world.user_arn
    assert services[0]["TotalAuthenticatedEntities"] == 1
    entities = world.iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
    assert entities["JobStatus"] == "COMPLETED" and entities["IsTruncated"] is False
    listed = entities["EntityDetailsList"]
    # Most recent first; the member that never called anything last, without a date.
    assert [e["EntityInfo"]["Name"] for e in listed] == [world.user, world.idle]
    first, second = listed
    assert first["EntityInfo"] == {"Arn": world.user_arn, "Name": world.user, "Type": "USER",
                                   "Id": first["EntityInfo"]["Id"], "Path": "/advisors/"}
    assert first["EntityInfo"]["Id"].startswith("AIDA") and "LastAuthenticated" in first
    assert "LastAuthenticated" not in second and second["EntityInfo"]["Arn"] == world.idle_arn


def test_policy_and_role_reports(world):
    # The group's managed policy: its members, through the group.
    job, out = report(world.iam, world.managed)
    assert [s["ServiceNamespace"] for s in out["ServicesLastAccessed"]] == ["iam"]
    listed = world.iam.get_service_last_accessed_details_with_entities(
        JobId=job, ServiceNamespace="iam")["EntityDetailsList"]
    assert {e["EntityInfo"]["Arn"] for e in listed} == {world.user_arn, world.idle_arn}
    # A role's sessions count for the role, whoever assumed it.
    job, out = report(world.iam, world.role_arn)
    sm = by_namespace(out)["secretsmanager"]
    assert (sm["LastAuthenticatedEntity"], sm["TotalAuthenticatedEntities"]) == (world.role_arn, 1)
    listed = world.iam.get_service_last_accessed_details_with_entities(
        JobId=job, ServiceNamespace="secretsmanager")["EntityDetailsList"]
    assert [(e["EntityInfo"]["Type"], e["EntityInfo"]["Arn"]) for e in listed] == [("ROLE", world.role_arn)]


def test_a_policy_granting_everything_lists_every_service_in_pages(world):
    iam = world.iam
    job = iam.generate_service_last_accessed_details(
        Arn="arn:aws:iam::aws:policy/AdministratorAccess")["JobId"]
    seen, marker = [], None
    while True:
        kw = {"JobId": job, "MaxItems": 100}
        if marker:
            kw["Marker"] = marker
        page = iam.get_service_last_accessed_details(**kw)
        assert len(page["ServicesLastAccessed"]) <= 100
        seen += [s["ServiceNamespace"] for s in page["ServicesLastAccessed"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) > 400
    assert {"s3", "ec2", "iam", "secretsmanager", "sts"} <= set(seen)


def test_policies_granting_service_access(world):
    out = world.iam.list_policies_granting_service_access(
        Arn=world.user_arn, ServiceNamespaces=["secretsmanager", "iam", "s3"])
    assert out["IsTruncated"] is False
    entries = {e["ServiceNamespace"]: e["Policies"] for e in out["PoliciesGrantingServiceAccess"]}
    assert list(entries) == ["secretsmanager", "iam", "s3"]
    assert entries["secretsmanager"] == [
        {"PolicyName": "sm-read", "PolicyType": "INLINE", "EntityType": "USER", "EntityName": world.user}]
    assert entries["iam"] == [
        {"PolicyName": f"iam-read-{world.tag}", "PolicyType": "MANAGED", "PolicyArn": world.managed}]
    assert entries["s3"] == []
    # A group's own policies only.
    group = world.iam.list_policies_granting_service_access(
        Arn=world.group_arn, ServiceNamespaces=["secretsmanager", "iam"])["PoliciesGrantingServiceAccess"]
    assert [len(e["Policies"]) for e in group] == [0, 1]


def test_the_cli_generates_and_reads_a_report(server, world):
    env = cli_env(server)

    def cli(*args):
        out = subprocess.run(["aws", "iam", *args, "--endpoint-url", server.url, "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    job = cli("generate-service-last-accessed-details", "--arn", world.role_arn,
              "--granularity", "ACTION_LEVEL")["JobId"]
    out = cli("get-service-last-accessed-details", "--job-id", job)
    sm = next(s for s in out["ServicesLastAccessed"] if s["ServiceNamespace"] == "secretsmanager")
    assert [a["ActionName"] for a in sm["TrackedActionsLastAccessed"]] == ["ListSecrets"]


def test_errors(server, world):
    iam = world.iam
    for arn, code in [
        (f"arn:aws:iam::{ACCOUNT}:root", "InvalidInput"),
        (f"arn:aws:iam::{ACCOUNT}:user/nobody-{world.tag}", "NoSuchEntity"),
        # The user exists, but not at this path.
        (f"arn:aws:iam::{ACCOUNT}:user/{world.user}", "NoSuchEntity"),
        (f"arn:aws:iam::210987654321:user/{world.user}", "InvalidInput"),
        (f"arn:aws:iam::{ACCOUNT}:policy/nothing-{world.tag}", "NoSuchEntity"),
        ("arn:aws:s3:::some-bucket-name", "InvalidInput"),
    ]:
        with pytest.raises(ClientError) as e:
            iam.generate_service_last_accessed_details(Arn=arn)
        status, got, _ = error_of(e)
        assert (got, status) == (code, 404 if code == "NoSuchEntity" else 400), arn
    with pytest.raises(ClientError) as e:
        iam.generate_service_last_accessed_details(Arn=world.user_arn, Granularity="EVERYTHING")
    assert error_of(e)[:2] == (400, "ValidationError")
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as e:
        iam.get_service_last_accessed_details(JobId=missing)
    assert error_of(e) == (404, "NoSuchEntity", f"No report with job ID {missing} exists.")
    unchecked = boto_client("iam", server, parameter_validation=False)
    with pytest.raises(ClientError) as e:
        unchecked.get_service_last_accessed_details(JobId="too-short")
    assert error_of(e)[:2] == (400, "ValidationError")
    # Only the principal that generated a report may read it.
    job, _ = report(iam, world.user_arn)
    reader = world.as_user("iam")
    with pytest.raises(ClientError) as e:
        reader.get_service_last_accessed_details(JobId=job)
    assert error_of(e) == (404, "NoSuchEntity", f"No report with job ID {job} exists.")
    with pytest.raises(ClientError) as e:
        iam.get_service_last_accessed_details(JobId=job, Marker="!!garbage")
    assert error_of(e)[:2] == (400, "ValidationError")
    # ListPoliciesGrantingServiceAccess is about identities, not policies.
    with pytest.raises(ClientError) as e:
        iam.list_policies_granting_service_access(Arn=world.managed, ServiceNamespaces=["iam"])
    assert error_of(e)[:2] == (400, "InvalidInput")
    # Generating needs iam:GenerateServiceLastAccessedDetails on the entity: the user's group
    # grants iam:Get* and iam:List* only.
    with pytest.raises(ClientError) as e:
        reader.generate_service_last_accessed_details(Arn=world.user_arn)
    assert error_of(e)[:2] == (403, "AccessDenied")
    assert reader.list_policies_granting_service_access(
        Arn=world.user_arn, ServiceNamespaces=["iam"])["PoliciesGrantingServiceAccess"][0]["Policies"]
