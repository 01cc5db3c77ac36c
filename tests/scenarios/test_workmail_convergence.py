"""Issue 18, WorkMail: repeats, races and failures end in one correct state, each driven through the
real trigger (a WorkMail request on the Mailwarden bus) on the local deployment, IAM by execution on."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from mailwarden.contracts.names import OperatorDetailType

from local.deployment import APPROVERS, LocalDeployment
from tests.approval_support import awaiting, decide
from tests.workmail_support import Org, acme, audit, executions, exports, offboard, outcomes, request


@pytest.fixture
def org(deployment: LocalDeployment) -> Org:
    return acme(deployment)


def _org_audit(deployment: LocalDeployment, org_id: str) -> list[dict]:
    from mailwarden.aws.audit import DynamoAuditTrail

    trail = DynamoAuditTrail(deployment.emu.client("dynamodb"), deployment.tables["audit"], deployment.emu.clock)
    return trail.entries(f"workmail:{org_id}")


def _restore(deployment: LocalDeployment, org: Org, name: str) -> dict:
    detail = {"organizationId": org.id, "user": org.email(name), "requestedBy": "it@example.com", "reason": "rehired"}
    [out] = request(deployment, OperatorDetailType.RESTORE_REQUESTED, detail)
    return dict(out)


# ---------------------------------------------------------------------------- one offboarding per user


def test_a_resent_leaver_is_answered_with_the_offboarding_in_flight_and_asks_no_second_approval(deployment, org):
    [first] = offboard(deployment, org, org.email("alice"))  # no requestId: the event id is the request
    pending = awaiting(deployment, first["execution"])
    [again] = offboard(deployment, org, org.email("alice"))  # the HR system's retry: another event id
    [other] = offboard(deployment, org, org.users["alice"], requestId="hr-2")  # a second id, by user id
    assert first["status"] == "started"
    for answer in (again, other):
        assert answer == {
            "status": "already-running",
            "requestId": first["requestId"],
            "execution": pending.execution_arn,
        }
    assert len(executions(deployment)) == 1
    assert len(deployment.inbox(APPROVERS[0])) == 1  # one approval mail
    running = [e for e in audit(deployment, org, "alice") if e["outcome"] == "already-running"]
    assert [e["detail"]["runningRequestId"] for e in running] == [first["requestId"]] * 2
    assert deployment.dead_letters() == []


def test_a_second_request_started_at_the_same_moment_is_answered_with_the_first(deployment, org):
    """The claim is taken before StartExecution: a request arriving in between sees a claim whose
    execution has not started yet and is answered with it, not started twice."""
    from mailwarden.aws.workmail import DynamoOffboardingStore

    store = DynamoOffboardingStore(
        deployment.emu.client("dynamodb"), deployment.tables["offboarding"], deployment.emu.clock
    )
    store.claim(org.id, org.users["alice"], "hr-1")  # hr-1's trigger claimed the user, then stalled
    [second] = offboard(deployment, org, org.email("alice"), requestId="hr-2")
    assert (second["status"], second["requestId"]) == ("already-running", "hr-1")
    assert executions(deployment) == []
    deployment.emu.control.advance(timedelta(minutes=6))  # hr-1 never started: the user is free again
    [third] = offboard(deployment, org, org.email("alice"), requestId="hr-2")
    assert third["status"] == "started" and third["execution"].endswith(":hr-2")


def test_after_a_rejected_offboarding_a_new_one_runs_and_the_restore_puts_back_the_first_snapshot(deployment, org):
    before = org.access("alice")
    [first] = offboard(deployment, org, org.email("alice"), requestId="hr-1")
    decide(deployment, awaiting(deployment, first["execution"]), "reject")
    assert deployment.finished(first["execution"])["status"] == "FAILED"
    # hr-1 is over: a new request for the (stripped, deregistered) user runs, and is rejected too
    [second] = offboard(deployment, org, org.email("alice"), requestId="hr-2", export=False)
    assert second["status"] == "started"
    decide(deployment, awaiting(deployment, second["execution"]), "reject")
    deployment.finished(second["execution"])
    snapshots = [e["detail"] for e in audit(deployment, org, "alice") if e["what"] == "workmail.snapshot"]
    assert [s["request_id"] for s in snapshots] == ["hr-1", "hr-2"] and snapshots[1]["groups"] == []
    restored = _restore(deployment, org, "alice")
    assert restored["status"] == "restored" and restored["fromRequest"] == "hr-1"  # not hr-2's empty one
    assert org.state("alice") == "ENABLED" and org.access("alice") == before
    # restored: the next offboarding's snapshot is the restore point again
    org.wm.disassociate_member_from_group(
        OrganizationId=org.id, GroupId=org.groups["sales"], MemberId=org.users["alice"]
    )
    [third] = offboard(deployment, org, org.email("alice"), requestId="hr-3", export=False)
    decide(deployment, awaiting(deployment, third["execution"]), "reject")
    deployment.finished(third["execution"])
    assert _restore(deployment, org, "alice")["fromRequest"] == "hr-3"
    assert org.access("alice")["groups"] == [org.groups["all-staff"]]


# ---------------------------------------------------------------------------- decommission resumes


def _decommission(deployment: LocalDeployment, org_id: str, **extra: object) -> dict:
    detail = {"organizationId": org_id, "requestedBy": "it@example.com", "reason": "WorkMail ends", **extra}
    [out] = request(deployment, OperatorDetailType.DECOMMISSION_REQUESTED, detail)
    return dict(out)


def test_resending_a_decommission_resumes_exactly_the_users_not_yet_finished(deployment):
    org = Org(deployment, deployment.emu.control.add_organization("globex", "globex.example.com"), "globex.example.com")
    for i in range(4):
        org.user(f"user{i:02d}")
    deployment.crash_after("strip", times=2)  # two users' runs crash after stripping them
    first = _decommission(deployment, org.id, requestId="close-globex", export=False)
    decide(deployment, awaiting(deployment, first["execution"]))
    done = deployment.finished(first["execution"], timeout=60)
    assert done["status"] == "SUCCEEDED"
    outcomes_first = json.loads(done["output"])["summary"]["result"]["outcomes"]
    assert outcomes_first == {"deleted": 2, "failed": 2}
    unfinished = {n for n in org.users if org.state(n) != "DELETED"}
    assert len(unfinished) == 2
    deleted_before = deployment.emu.calls["workmail.DeleteUser"]

    again = _decommission(deployment, org.id, requestId="close-globex", export=False)
    assert again["status"] == "started" and again["execution"].endswith("close-globex-rerun-1")
    pending = awaiting(deployment, again["execution"])
    assert "Resume: Offboard and permanently delete 2 users" in json.dumps(pending.message())
    decide(deployment, pending)
    done = deployment.finished(again["execution"], timeout=60)
    summary = json.loads(done["output"])["summary"]["result"]
    assert summary["outcomes"] == {"deleted": 4} and summary["users"] == 4  # the summary names all four
    assert {org.state(n) for n in org.users} == {"DELETED"}
    assert deployment.emu.calls["workmail.DeleteUser"] - deleted_before == 2  # exactly the two left
    # finished now: a third request is a duplicate
    assert _decommission(deployment, org.id, requestId="close-globex", export=False)["status"] == "duplicate"


# ---------------------------------------------------------------------------- protection


def test_protection_follows_nested_groups_and_aliases(deployment, org):
    org.user("dave")
    org.user("erin")
    oncall = org.group("oncall", "dave")
    org.wm.associate_member_to_group(OrganizationId=org.id, GroupId=org.groups["workmail-admins"], MemberId=oncall)
    # an alias listed in protectedUsers (the policy names break-glass@example.com): the organization
    # holds the example.com mail domain too
    deployment.emu.control.add_mail_domain(org.id, "example.com")
    org.wm.create_alias(OrganizationId=org.id, EntityId=org.users["erin"], Alias="break-glass@example.com")
    [nested] = offboard(deployment, org, org.email("dave"))
    assert nested["status"] == "rejected"
    assert "protected group workmail-admins through the group oncall" in nested["reason"]
    [aliased] = offboard(deployment, org, org.email("erin"))
    assert aliased["status"] == "rejected" and "lists break-glass@example.com" in aliased["reason"]
    assert org.state("dave") == org.state("erin") == "ENABLED" and executions(deployment) == []
    plan = _decommission(deployment, org.id, dryRun=True)["plan"]
    kept = {k["user"]: k["why"] for k in plan["kept"]}
    assert kept[org.email("dave")] == "member of protected group workmail-admins"
    assert kept[org.email("erin")].startswith("protected user (alias")


# ---------------------------------------------------------------------------- unknown organization


def test_a_decommission_of_an_unknown_organization_is_refused_into_the_dlq_and_the_audit(deployment, org):
    unknown = "m-" + "e" * 32
    result = _decommission(deployment, unknown, requestId="close-unknown")
    why = f"WorkMail organization {unknown} does not exist or is not active"
    assert result == {"status": "rejected", "reason": why}
    [letter] = deployment.dead_letters()
    assert letter["reason"] == why and letter["function"] == "workmail_trigger"
    [record] = _org_audit(deployment, unknown)
    assert (record["outcome"], record["reason"], record["detail"]["decommissionId"]) == (
        "rejected",
        why,
        "close-unknown",
    )
    assert deployment.emu.calls["workmail.DescribeOrganization"] >= 1
    assert deployment.emu.calls["sfn.StartExecution"] == 0


# ---------------------------------------------------------------------------- exports


def test_an_export_from_before_the_request_never_stands_in_the_offboarding_waits_for_its_own(deployment, org):
    old = org.wm.start_mailbox_export_job(
        OrganizationId=org.id,
        EntityId=org.users["alice"],
        ClientToken="last-week-backup",
        RoleArn=deployment.export_role_arn,
        KmsKeyArn=deployment.export_key_arn,
        S3BucketName=deployment.export_bucket,
        S3Prefix="mailbox-exports/backup",
    )["JobId"]
    deployment.emu.control.advance(timedelta(hours=23))  # COMPLETED long before the request
    requested = deployment.emu.clock.time()
    [started] = offboard(deployment, org, org.email("alice"))
    deployment.emu.control.advance(timedelta(minutes=30))
    deployment.deliver()
    assert org.state("alice") == "ENABLED" and org.access("alice")["groups"]  # waiting, nothing changed
    pending = awaiting(deployment, started["execution"])  # a new export once the 24 h are over
    jobs = [j for j in deployment.emu.workmail.orgs[org.id].exports.values() if j.entity_id == org.users["alice"]]
    assert len(jobs) == 2 and jobs[1].job_id != old and jobs[1].start.timestamp() > requested
    assert org.state("alice") == "DISABLED"
    exported = next(e for e in audit(deployment, org, "alice") if e["outcome"] == "exported")
    assert exported["detail"]["jobId"] == jobs[1].job_id
    assert len([k for k in exports(deployment) if "backup" not in k]) == 1
    decide(deployment, pending)
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"
    assert outcomes(deployment)[-1] == "deleted"
