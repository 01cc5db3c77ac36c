"""WorkMail offboarding driven through its real trigger (an EventBridge request on the Mailwarden
bus) and the approval callback, on the emulator, with the synthesized state machines."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from mailwarden.contracts.names import OperatorDetailType

from local.deployment import LocalDeployment
from tests.approval_support import awaiting, decide
from tests.workmail_support import Org, acme, audit, executions, exports, offboard, outcomes, request


def audit_org(deployment: LocalDeployment, org: Org) -> list[dict]:
    from mailwarden.aws.audit import DynamoAuditTrail

    trail = DynamoAuditTrail(deployment.emu.client("dynamodb"), deployment.tables["audit"], deployment.emu.clock)
    return trail.entries(f"workmail:{org.id}")


STEPS = ("snapshot", "export-start", "export-status", "strip", "deregister", "confirm-disabled", "delete")


@pytest.fixture
def org(deployment: LocalDeployment) -> Org:
    return acme(deployment)


def test_offboarding_exports_strips_deregisters_and_deletes_after_approval_on_the_synthesized_workflow(
    deployment, org, synth
):
    _, template = synth
    assert "workmail-offboard" in deployment.install_synthesized(template.to_json())
    before = org.access("alice")
    started = offboard(deployment, org, org.email("alice"))
    assert started[0]["status"] == "started"
    pending = awaiting(deployment, started[0]["execution"])
    # Before any human says so: unreachable (deregistered, stripped) but not deleted; mailbox exported.
    assert org.state("alice") == "DISABLED"
    assert org.access("alice") == {**before, "groups": [], "grants": [], "delegations": []}
    assert exports(deployment) == [next(k for k in exports(deployment) if org.users["alice"] in k)]
    message = pending.message()
    assert "alice@acme.example.com" in message["subject"] + json.dumps(message)
    assert decide(deployment, pending) == 200
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"
    assert org.state("alice") == "DELETED"
    assert outcomes(deployment) == ["exported", "stripped", "deregistered", "deleted"]
    # The snapshot recorded before the first change has everything a restore needs.
    snapshot = next(e for e in audit(deployment, org, "alice") if e["what"] == "workmail.snapshot")["detail"]
    assert {g[1] for g in snapshot["groups"]} == {"sales", "all-staff"}
    assert {g["grantee_id"] for g in snapshot["grants"]} == {org.users["bob"], org.users["carol"]}
    assert [d[1] for d in snapshot["delegations"]] == ["room-1"]
    assert snapshot["aliases"] == ["alice.smith@acme.example.com"] and snapshot["user"]["email"] == org.email("alice")
    # Others keep what they had.
    assert org.access("bob")["delegations"] == sorted([org.resources["room-1"], org.resources["room-2"]])


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("nobody@acme.example.com", "no user nobody@acme.example.com"),
        ("administrator", "is protected"),
        ("carol@acme.example.com", "protected group workmail-admins"),
        ("group:sales", "is a group, not a user"),
        ("resource:room-1", "is a resource, not a user"),
    ],
)
def test_requests_that_must_not_run_are_rejected_with_the_reason_and_change_nothing(deployment, org, user, why):
    ident = {"group:sales": org.groups["sales"], "resource:room-1": org.resources["room-1"]}.get(user, user)
    before = {n: (org.state(n), org.access(n)) for n in org.users}
    writes = deployment.emu.calls.copy()
    result = offboard(deployment, org, ident)
    assert result[0]["status"] == "rejected" and why in result[0]["reason"]
    [letter] = deployment.dead_letters()
    assert why in letter["reason"] and letter["function"] == "workmail_trigger"
    assert {n: (org.state(n), org.access(n)) for n in org.users} == before
    changed = [k for k in deployment.emu.calls if k.startswith("workmail.") and deployment.emu.calls[k] != writes[k]]
    assert all(k.split(".")[1].startswith(("Describe", "List")) for k in changed), changed
    assert executions(deployment) == []
    assert outcomes(deployment) == ["rejected"]


def test_unknown_organization_and_malformed_requests_are_rejected(deployment, org):
    offboard(deployment, "m-" + "0" * 32, "alice@acme.example.com")
    offboard(deployment, org, "alice@acme.example.com", reason="")
    request(deployment, OperatorDetailType.OFFBOARD_REQUESTED, {"organizationId": "acme", "user": "x"})
    reasons = [letter["reason"] for letter in deployment.dead_letters()]
    assert "organization m-000" in reasons[0] and "does not exist" in reasons[0]
    assert "detail.reason" in reasons[1]
    assert "detail.organizationId" in reasons[2]
    assert org.state("alice") == "ENABLED" and executions(deployment) == []


def test_a_dry_run_lists_what_would_be_removed_in_order_and_changes_nothing(deployment, org):
    [plan] = offboard(deployment, org, org.email("alice"), dryRun=True)
    assert plan["status"] == "planned" and plan["dryRun"] is True
    steps = [s["step"] for s in plan["plan"]]
    assert steps == ["snapshot", "export", *["strip"] * 5, "deregister", "approve", "delete"]
    actions = "\n".join(s["action"] for s in plan["plan"])
    assert "remove alice@acme.example.com from group sales" in actions
    assert "as a delegate of resource room-1" in actions
    assert org.state("alice") == "ENABLED" and org.access("alice")["groups"]
    assert executions(deployment) == [] and exports(deployment) == []


def test_a_duplicate_request_starts_one_workflow(deployment, org):
    first = offboard(deployment, org, org.email("alice"), requestId="hr-4711")
    second = offboard(deployment, org, org.email("alice"), requestId="hr-4711")
    assert [first[0]["status"], second[0]["status"]] == ["started", "duplicate"]
    assert len(executions(deployment)) == 1


def test_a_rejected_deletion_keeps_the_user_deregistered_and_a_restore_brings_everything_back(deployment, org):
    before = org.access("alice")
    [started] = offboard(deployment, org, org.email("alice"))
    pending = awaiting(deployment, started["execution"])
    assert decide(deployment, pending, "reject") == 200
    done = deployment.finished(pending.execution_arn)
    assert (done["status"], done["error"]) == ("FAILED", "Mailwarden.ApprovalRejected")
    assert org.state("alice") == "DISABLED"
    kept = next(e for e in audit(deployment, org, "alice") if e["outcome"] == "kept-deregistered")
    assert kept["detail"]["restorableUntil"] == "2026-12-21T09:05:00Z"  # deregistered 09:05 + 30 days
    [restored] = request(
        deployment,
        OperatorDetailType.RESTORE_REQUESTED,
        {"organizationId": org.id, "user": org.email("alice"), "requestedBy": "it@example.com", "reason": "rehired"},
    )
    assert restored["status"] == "restored" and restored["skipped"] == []
    assert org.state("alice") == "ENABLED" and org.access("alice") == before
    assert org.describe("alice")["Email"] == org.email("alice")


def test_an_unanswered_deletion_expires_and_the_user_stays_deregistered(deployment, org):
    [started] = offboard(deployment, org, org.email("alice"), export=False)
    pending = awaiting(deployment, started["execution"])
    deployment.emu.control.advance(timedelta(seconds=deployment.approval_timeout_seconds + 1))
    done = deployment.finished(pending.execution_arn)
    assert (done["status"], done["error"]) == ("FAILED", "Mailwarden.ApprovalTimedOut")
    assert org.state("alice") == "DISABLED" and exports(deployment) == []
    assert outcomes(deployment)[-1] == "kept-deregistered"


def test_a_restore_after_30_days_or_of_a_deleted_user_is_refused(deployment, org):
    [started] = offboard(deployment, org, org.email("alice"), export=False)
    pending = awaiting(deployment, started["execution"])
    decide(deployment, pending, "reject")
    deployment.finished(pending.execution_arn)
    deployment.emu.control.advance(timedelta(days=31))
    detail = {"organizationId": org.id, "user": org.email("alice"), "requestedBy": "it@example.com", "reason": "x"}
    [late] = request(deployment, OperatorDetailType.RESTORE_REQUESTED, detail)
    assert late["status"] == "rejected" and "past the 30-day window" in late["reason"]
    assert org.state("alice") == "DISABLED"


def test_an_export_failure_changes_nothing(deployment, org):
    before = org.access("alice")
    deployment.emu.control.fail_next_export(org.id, "Access denied to the S3 bucket")
    [started] = offboard(deployment, org, org.email("alice"))
    done = deployment.finished(started["execution"])
    assert (done["status"], done["error"]) == ("FAILED", "ExportFailed")
    assert org.state("alice") == "ENABLED" and org.access("alice") == before
    failed = next(e for e in audit(deployment, org, "alice") if e["outcome"] == "export-failed")
    assert "Access denied to the S3 bucket" in failed["reason"]


def test_an_export_that_never_finishes_is_given_up_after_24_hours_and_changes_nothing(deployment, org):
    before = org.access("alice")
    deployment.emu.workmail.export_seconds = 10 * 24 * 3600  # WorkMail never finishes this one
    [started] = offboard(deployment, org, org.email("alice"))
    done = deployment.finished(started["execution"], timeout=60)
    assert (done["status"], done["error"]) == ("FAILED", "ExportTimedOut")
    assert org.state("alice") == "ENABLED" and org.access("alice") == before
    failed = next(e for e in audit(deployment, org, "alice") if e["outcome"] == "export-failed")
    assert "still RUNNING 24 h after it started" in failed["reason"]


def test_delete_is_refused_when_the_user_was_registered_again_before_the_approval(deployment, org):
    [started] = offboard(deployment, org, org.email("alice"), export=False)
    pending = awaiting(deployment, started["execution"])
    org.wm.register_to_work_mail(OrganizationId=org.id, EntityId=org.users["alice"], Email=org.email("alice"))
    assert decide(deployment, pending) == 200
    done = deployment.finished(pending.execution_arn)
    assert (done["status"], done["error"]) == ("FAILED", "DeleteRefused")
    assert org.state("alice") == "ENABLED"
    assert deployment.emu.calls["workmail.DeleteUser"] == 0


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_after_any_step_then_the_same_request_again_reaches_the_same_final_state(deployment, org, step):
    before = org.access("alice")
    deployment.crash_after(step)
    [first] = offboard(deployment, org, org.email("alice"), requestId="hr-1")
    if step == "delete":
        decide(deployment, awaiting(deployment, first["execution"]))
    crashed = deployment.finished(first["execution"])
    assert (crashed["status"], crashed["error"]) == ("FAILED", "InjectedCrash")
    [again] = offboard(deployment, org, org.email("alice"), requestId="hr-1")
    assert again["status"] == "started" and again["execution"].endswith("hr-1-rerun-1")
    if step != "delete":  # the first run crashed before its approval: the re-run asks
        decide(deployment, awaiting(deployment, again["execution"]))
    assert deployment.finished(again["execution"])["status"] == "SUCCEEDED"
    assert org.state("alice") == "DELETED"
    assert deployment.emu.calls["workmail.DeleteUser"] == 1
    assert len([k for k in exports(deployment) if org.users["alice"] in k]) == 1  # exported once
    snapshots = [e for e in audit(deployment, org, "alice") if e["what"] == "workmail.snapshot"]
    assert len(snapshots) == 1  # the re-run kept the snapshot taken before the first change
    assert {g[1] for g in snapshots[0]["detail"]["groups"]} == {"sales", "all-staff"}
    assert before["groups"]  # (and it was not empty)


def test_an_organization_decommission_plans_then_offboards_every_unprotected_user_ten_at_a_time(deployment):
    org = Org(
        deployment, deployment.emu.control.add_organization("initech", "initech.example.com"), "initech.example.com"
    )
    for i in range(23):
        org.user(f"user{i:02d}")
    org.user("administrator")  # protected user
    org.user("ops")
    org.group("workmail-admins", "ops")  # protected group
    detail = {"organizationId": org.id, "requestedBy": "it@example.com", "reason": "WorkMail ends 2027-03-31"}
    [plan] = request(deployment, OperatorDetailType.DECOMMISSION_REQUESTED, {**detail, "dryRun": True})
    assert plan["status"] == "planned" and plan["plan"]["offboard"] == 23 and plan["plan"]["keptCount"] == 2
    assert {k["user"] for k in plan["plan"]["kept"]} == {org.email("administrator"), org.email("ops")}
    assert executions(deployment, "workmail-decommission") == [] and org.state("user00") == "ENABLED"

    [started] = request(deployment, OperatorDetailType.DECOMMISSION_REQUESTED, detail)
    pending = awaiting(deployment, started["execution"])
    assert "Offboard and permanently delete 23 users" in json.dumps(pending.message())
    assert org.state("user00") == "ENABLED"  # nothing before the batch approval
    start = deployment.emu.clock.time()
    decide(deployment, pending)
    done = deployment.finished(started["execution"], timeout=120)
    assert done["status"] == "SUCCEEDED"
    summary = json.loads(done["output"])["summary"]["result"]
    assert summary["outcomes"] == {"deleted": 23} and summary["users"] == 23 and summary["notDeletedCount"] == 0
    assert {org.state(n) for n in org.users if n.startswith("user")} == {"DELETED"}
    assert org.state("administrator") == org.state("ops") == "ENABLED"
    assert deployment.emu.control.max_concurrent_exports(org.id) == 10
    assert len([k for k in exports(deployment) if k.startswith("mailbox-exports/")]) == 23
    # 3 waves of 10 exports of 300 s (polled every 60 s): the makespan on the virtual clock.
    assert deployment.emu.clock.time() - start == 900
    # the report in S3 names every user's outcome
    bucket, key = summary["report"].removeprefix("s3://").split("/", 1)
    report = json.loads(deployment.emu.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert sorted(r["email"] for r in report["results"]) == sorted(org.email(f"user{i:02d}") for i in range(23))
    assert {r["outcome"] for r in report["results"]} == {"deleted"}


def test_a_decommission_names_every_user_that_did_not_finish_and_why(deployment):
    org = Org(deployment, deployment.emu.control.add_organization("globex", "globex.example.com"), "globex.example.com")
    for i in range(12):
        org.user(f"user{i:02d}")
    deployment.emu.control.fail_next_export(org.id, "Access denied to the S3 bucket")
    detail = {"organizationId": org.id, "requestedBy": "it@example.com", "reason": "WorkMail ends 2027-03-31"}
    [started] = request(deployment, OperatorDetailType.DECOMMISSION_REQUESTED, detail)
    decide(deployment, awaiting(deployment, started["execution"]))
    done = deployment.finished(started["execution"], timeout=120)
    assert done["status"] == "SUCCEEDED"  # one user's failure never stops the others
    summary = json.loads(done["output"])["summary"]["result"]
    assert summary["outcomes"] == {"deleted": 11, "export-failed": 1}
    [kept] = summary["notDeleted"]
    assert kept["outcome"] == "export-failed" and org.state(
        next(n for n, u in org.users.items() if u == kept["user"])
    ) == ("ENABLED")
    record = next(e for e in audit_org(deployment, org) if e["outcome"] == "completed")
    assert record["detail"]["notDeletedCount"] == 1 and record["detail"]["notDeleted"][0]["user"] == kept["user"]
