"""The reputation guard driven through its real triggers on the emulator: SES events (EventBridge),
the reconcile schedule, an operator's event and approval callbacks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from mailwarden.aws.audit import DynamoAuditTrail
from mailwarden.cli.render import ExitCode
from mailwarden.clock import default_clock

from local.deployment import LocalDeployment
from tests.approval_support import awaiting, decide
from tests.cli_support import cli
from tests.reputation_support import actions, customer, policy, reinstatements, run, tenants


@pytest.fixture
def guard(emu) -> LocalDeployment:
    return LocalDeployment(emu, policy=policy())


def test_a_finding_event_disables_the_entity_once_however_often_it_arrives(guard):
    arns = tenants(guard, "acme-marketing", "billing")
    guard.emu.control.raise_finding(arns["acme-marketing"], "BOUNCE", "HIGH")
    guard.deliver()
    assert customer(guard, arns["acme-marketing"]) == "DISABLED"
    assert customer(guard, arns["billing"]) == "ENABLED"
    opened = next(d.event for d in guard.deliveries if d.event["detail-type"].endswith("Open"))
    before = guard.emu.calls["sesv2.UpdateReputationEntityCustomerManagedStatus"]
    for _ in range(100):  # EventBridge redelivers: same event id
        guard.invoke("ses_events", opened)
    assert guard.emu.calls["sesv2.UpdateReputationEntityCustomerManagedStatus"] == before == 1
    applied = [a for a in actions(guard) if a["outcome"] == "applied"]
    assert [(a["action"]["kind"], a["action"]["name"]) for a in applied] == [("disable", "acme-marketing")]
    audit = guard.emu.client("dynamodb").query(
        TableName=guard.tables["audit"],
        KeyConditionExpression="subject = :s",
        ExpressionAttributeValues={":s": {"S": arns["acme-marketing"]}},
    )["Items"]
    assert [i["outcome"]["S"] for i in audit] == ["applied"]
    assert "OPEN HIGH BOUNCE" in audit[0]["reason"]["S"]


def test_resolution_then_approval_reinstates_and_never_claims_to_override_ses(guard):
    arn = tenants(guard, "acme-marketing")["acme-marketing"]
    control = guard.emu.control
    control.raise_finding(arn, "BOUNCE", "HIGH")
    guard.deliver()
    control.resolve_finding(arn, "BOUNCE")
    guard.deliver()
    control.set_ses_managed_status(arn, "DISABLED", "Paused by SES for review.")  # SES keeps its own pause
    guard.deliver()
    control.advance(timedelta(hours=25))
    result = run(guard)
    assert result["counts"]["skipped"] == 1 and not reinstatements(guard)
    waiting = [a for a in actions(guard) if a["action"]["kind"] == "reinstate"][-1]
    assert waiting["outcome"] == "skipped" and "cannot override" in waiting["line"]

    control.set_ses_managed_status(arn, "ENABLED", "Review done.")
    guard.deliver()
    run(guard)
    (execution,) = reinstatements(guard)
    pending = awaiting(guard, execution["executionArn"])
    assert "Reinstate SES tenant acme-marketing" in pending.message()["summary"]
    assert customer(guard, arn) == "DISABLED"  # nothing before the human says so
    run(guard)  # a second run does not ask twice
    assert len(reinstatements(guard)) == 1
    assert decide(guard, pending) == 200
    done = guard.finished(execution["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert customer(guard, arn) == "ENABLED"
    assert guard.emu.control.entity(arn).aggregate == "ENABLED"
    assert actions(guard)[-1]["outcome"] == "applied" and actions(guard)[-1]["approvedBy"] == "ops-lead@example.com"


def test_a_rejected_reinstatement_is_not_asked_again(guard):
    arn = tenants(guard, "acme")["acme"]
    guard.emu.control.raise_finding(arn, "COMPLAINT", "HIGH")
    guard.deliver()
    guard.emu.control.resolve_finding(arn, "COMPLAINT")
    guard.deliver()
    guard.emu.control.advance(timedelta(hours=24))
    run(guard)
    (execution,) = reinstatements(guard)
    assert decide(guard, awaiting(guard, execution["executionArn"]), "reject") == 200
    assert guard.finished(execution["executionArn"])["status"] == "FAILED"
    run(guard)
    assert len(reinstatements(guard)) == 1 and customer(guard, arn) == "DISABLED"
    assert "rejected" in actions(guard)[-1]["line"]


def test_the_scheduled_reconcile_catches_a_lost_event(guard):
    arn = tenants(guard, "acme")["acme"]
    guard.emu.control.emit_events = False  # SES events are best effort
    guard.emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    assert guard.deliver() == [] and customer(guard, arn) == "ENABLED"
    result = run(guard)
    assert customer(guard, arn) == "DISABLED"
    assert result["counts"]["applied"] == 1 and result["pages"] == 1


def test_plan_mode_and_the_kill_switch_write_nothing_but_explain_everything(emu):
    deployment = LocalDeployment(emu, policy=policy(mode="plan"))
    arns = tenants(deployment, "a", "vip")
    for arn in arns.values():
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    deployment.deliver()
    result = run(deployment)
    assert result["outcome"] == "plan"
    assert emu.calls["sesv2.UpdateReputationEntityCustomerManagedStatus"] == 0
    outcomes = {(a["action"]["name"], a["outcome"]) for a in actions(deployment) if "run" in a}
    assert outcomes == {("a", "planned"), ("vip", "skipped")}

    deployment.set_policy(policy(mode="apply"))
    deployment.kill_switch(True)
    emu.control.advance(11)
    assert run(deployment)["outcome"] == "halted"
    emu.control.raise_finding(arns["a"], "COMPLAINT", "HIGH")
    deployment.deliver()
    assert emu.calls["sesv2.UpdateReputationEntityCustomerManagedStatus"] == 0
    assert "kill switch" in actions(deployment)[-1]["note"]
    deployment.kill_switch(False)
    emu.control.advance(11)  # warm functions re-read the parameter every 10 s
    run(deployment)
    assert customer(deployment, arns["a"]) == "DISABLED" and customer(deployment, arns["vip"]) == "ENABLED"


def test_more_disables_than_the_cap_apply_nothing_until_the_batch_is_approved(emu):
    deployment = LocalDeployment(emu, policy=policy(cap=3))
    arns = tenants(deployment, *(f"t{i:02d}" for i in range(5)))
    emu.control.emit_events = False
    for arn in arns.values():
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    started = deployment.tick()
    pending = awaiting(deployment, started["execution"])
    assert "5 disables" in pending.message()["summary"] and len(pending.message()["plan"]) == 5
    assert all(customer(deployment, a) == "ENABLED" for a in arns.values())
    assert decide(deployment, pending) == 200
    assert deployment.finished(started["execution"])["status"] == "SUCCEEDED"
    assert all(customer(deployment, a) == "DISABLED" for a in arns.values())


def test_event_driven_disables_are_capped_per_hour(emu):
    deployment = LocalDeployment(emu, policy=policy(cap=2))
    arns = tenants(deployment, "a", "b", "c")
    for arn in arns.values():
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    deployment.deliver()
    assert sorted(customer(deployment, a) for a in arns.values()) == ["DISABLED", "DISABLED", "ENABLED"]
    assert any("blast-radius cap" in a["note"] for a in actions(deployment))


def test_a_run_resumes_from_its_checkpoint_and_survives_throttling_and_5xx(emu):
    deployment = LocalDeployment(emu, policy=policy(cap=100))
    names = [f"tenant-{i:04d}" for i in range(3000)]
    arns = tenants(deployment, *names)
    emu.control.emit_events = False
    flagged = [arns[n] for n in names[::100]]  # 30 entities need a change
    for arn in flagged:
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    # A slow API (30 s per list page) forces several scan invocations; faults on every SES call.
    emu.control.inject("sesv2", "ListReputationEntities", latency=30.0, throttle_rate=0.15, error_rate=0.15)
    emu.control.inject("sesv2", "*", throttle_rate=0.15, error_rate=0.15)
    result = run(deployment, timeout=120)
    scans = [i for i in emu.lambdas.invocations if i["event"].get("step") == "scan"]
    assert len(scans) >= 2 and result["pages"] == 30 and result["entities"] == 3000
    assert sorted(a for a in arns.values() if customer(deployment, a) == "DISABLED") == sorted(flagged)
    assert result["counts"]["applied"] == 30
    assert emu.dispatcher.outcomes["sesv2.ListReputationEntities:TooManyRequestsException"] > 0


def test_an_operator_event_runs_a_plan_and_bad_requests_go_to_the_dlq(guard):
    arn = tenants(guard, "acme")["acme"]
    guard.emu.control.emit_events = False
    guard.emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    guard.put_event(
        "mailwarden.operator",
        "Reputation Reconcile Requested",
        {"mode": "plan", "reason": "check before the launch", "requestedBy": "alice"},
        bus="mailwarden-local",
    )
    guard.put_event("mailwarden.operator", "Reputation Reconcile Requested", {"mode": "yolo"}, bus="mailwarden-local")
    (started, rejected) = [d.result for d in guard.deliver() if d.function == "reputation_trigger"]
    assert rejected["status"] == "rejected" and "mode" in rejected["reason"]
    done = guard.finished(started["execution"])
    assert json.loads(done["output"])["run"]["result"]["outcome"] == "plan"
    assert customer(guard, arn) == "ENABLED"
    (dead,) = guard.dead_letters()
    assert dead["function"] == "reputation_trigger" and "mode" in dead["reason"]


TAGGED_TIER = """
version: 1
reputation:
  mode: apply
  maxDisablesPerRun: 10
  rules:
    - name: pause-high
      disableWhen: {types: [BOUNCE], impact: [HIGH]}
    - name: strict-for-marketing
      select: {tags: {team: marketing}}
      reputationPolicy: strict
"""


def _tagged_estate(emu, n: int) -> list[str]:
    """``n`` tenants, every tenth tagged team=marketing: the tier rule needs every tenant's tags."""
    arns = []
    for i in range(n):
        tags = [{"Key": "team", "Value": "marketing"}] if i % 10 == 0 else []
        arns.append(emu.sesv2.add_tenant(f"t{i:05d}", tags=tags).arn)
    emu.control.emit_events = False
    return arns


def test_a_scan_whose_pages_need_tag_lookups_stays_inside_the_lambda_timeout(emu):
    deployment = LocalDeployment(emu, policy=TAGGED_TIER)
    arns = _tagged_estate(emu, 1000)  # 1,000 tag lookups at SES's 1 request/s: ~1,000 s of scanning
    result = run(deployment, timeout=120)
    scans = [i for i in deployment.invocations if i.function == "reputation_reconcile"]
    assert max(i.seconds for i in scans) <= 900 and not any(i.stopped for i in scans)
    assert sum(1 for i in emu.lambdas.invocations if i["event"].get("step") == "scan") >= 2
    assert result["entities"] == 1000 and result["pages"] == 10
    strict = [a for a in arns if emu.control.entity(a).policy.endswith("/strict")]
    assert strict == arns[::10] and result["counts"]["applied"] == 100
    assert emu.calls["sesv2.ListRecommendations"] == 1  # OPEN findings listed once per run, not per invocation


def test_a_scan_stopped_by_its_timeout_is_retried_and_resumes_from_its_checkpoint(emu):
    deployment = LocalDeployment(emu, policy=TAGGED_TIER)
    arns = _tagged_estate(emu, 300)
    # One tag lookup hangs for 850 s: it started with time to spare, the sandbox stops the invocation.
    emu.control.stall("sesv2", "ListTagsForResource", 850, after=120)
    result = run(deployment, timeout=120)
    stopped = [i for i in deployment.invocations if i.stopped]
    assert len(stopped) == 1 and stopped[0].function == "reputation_reconcile"
    assert result["entities"] == 300
    strict = [a for a in arns if emu.control.entity(a).policy.endswith("/strict")]
    assert strict == arns[::10]


def test_a_conflicting_update_is_left_to_the_next_run_by_an_event_and_retried_by_a_run(guard):
    """SES's ConflictException (another writer's update of the entity still being applied) through a
    real trigger: the event-driven disable says so and changes nothing; the reconcile run's apply step
    is retried by the workflow until SES accepts the write."""
    arns = tenants(guard, "acme", "globex")
    control = guard.emu.control
    control.update_in_progress(arns["acme"], seconds=3600)
    control.raise_finding(arns["acme"], "BOUNCE", "HIGH")
    guard.deliver()
    assert customer(guard, arns["acme"]) == "ENABLED"
    reactions = [a for a in actions(guard) if a["action"]["name"] == "acme"]  # the finding's and the pause's
    assert [a["outcome"] for a in reactions] == ["skipped"] * len(reactions) and reactions
    assert all("another update" in a["note"] and "next reconcile run" in a["note"] for a in reactions)
    conflicts = guard.emu.dispatcher.outcomes["sesv2.UpdateReputationEntityCustomerManagedStatus:ConflictException"]
    assert conflicts == len(reactions)

    control.advance(3600)
    control.emit_events = False
    control.raise_finding(arns["globex"], "COMPLAINT", "HIGH")
    control.update_in_progress(arns["globex"], seconds=60)
    result = run(guard)  # acme is free again; globex conflicts until its other update is applied
    assert customer(guard, arns["acme"]) == customer(guard, arns["globex"]) == "DISABLED"
    assert result["counts"]["applied"] == 2
    retried = guard.emu.dispatcher.outcomes["sesv2.UpdateReputationEntityCustomerManagedStatus:ConflictException"]
    assert retried - conflicts >= 1  # at least one apply step met the conflict and was retried
    applies = [i for i in guard.emu.lambdas.invocations if i["event"].get("step") == "apply"]
    assert len(applies) == retried - conflicts + 1  # one failed apply step per conflict, then the one that wrote


def test_a_reinstatement_approved_during_another_update_is_retried_until_written(guard):
    arn = tenants(guard, "acme")["acme"]
    control = guard.emu.control
    control.raise_finding(arn, "BOUNCE", "HIGH")
    guard.deliver()
    control.resolve_finding(arn, "BOUNCE")
    guard.deliver()
    control.advance(timedelta(hours=25))
    run(guard)
    (execution,) = reinstatements(guard)
    pending = awaiting(guard, execution["executionArn"])
    control.update_in_progress(arn, seconds=45)
    assert decide(guard, pending) == 200
    assert guard.finished(execution["executionArn"])["status"] == "SUCCEEDED"
    assert customer(guard, arn) == "ENABLED"
    assert guard.emu.dispatcher.outcomes["sesv2.UpdateReputationEntityCustomerManagedStatus:ConflictException"] >= 1
    assert actions(guard)[-1]["outcome"] == "applied"


def test_an_entity_deleted_while_its_batch_awaited_approval_is_skipped_with_the_reason(emu):
    deployment = LocalDeployment(emu, policy=policy(cap=1))
    arns = tenants(deployment, "a", "b")
    emu.control.emit_events = False
    for arn in arns.values():
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    started = deployment.tick()
    pending = awaiting(deployment, started["execution"])
    emu.client("sesv2").delete_tenant(TenantName="b")  # the update will answer BadRequestException
    assert decide(deployment, pending) == 200
    assert deployment.finished(started["execution"])["status"] == "SUCCEEDED"
    assert customer(deployment, arns["a"]) == "DISABLED"
    outcomes = {a["action"]["name"]: (a["outcome"], a["note"]) for a in actions(deployment) if "run" in a}
    assert outcomes["a"] == ("applied", "")
    assert outcomes["b"][0] == "skipped" and "no longer exists" in outcomes["b"][1]


def _audit_records(deployment: LocalDeployment) -> list[dict]:
    """Every audit record so far (entity and run subjects), as the trail stores them."""
    trail = DynamoAuditTrail(deployment.emu.client("dynamodb"), deployment.tables["audit"], default_clock())
    items = deployment.emu.client("dynamodb").scan(TableName=deployment.tables["audit"])["Items"]
    return [e for s in sorted({i["subject"]["S"] for i in items}) for e in trail.entries(s)]


def test_who_asked_for_an_operator_run_and_why_is_on_every_audit_record_and_event_of_it(guard):
    arns = tenants(guard, "acme", "vip", "billing")
    guard.emu.control.emit_events = False
    for name in ("acme", "vip"):  # acme is disabled, vip (allowlisted) is skipped with the reason
        guard.emu.control.raise_finding(arns[name], "BOUNCE", "HIGH")
    run = cli(guard, "--as", "jane@example.com", "apply", "reputation", "--yes", "--reason", "INC-42")
    assert run.code == ExitCode.OK, run.out + run.err
    assert customer(guard, arns["acme"]) == "DISABLED" and customer(guard, arns["vip"]) == "ENABLED"
    records = _audit_records(guard)
    assert {(r["what"], r["outcome"]) for r in records} == {
        ("reputation.disable", "applied"),
        ("reputation.disable", "skipped"),
        ("reputation.run", "apply"),
    }
    for r in records:
        assert r["actor"] == "jane@example.com", r
        assert (r["detail"]["requestedBy"], r["detail"]["requestReason"]) == ("jane@example.com", "INC-42"), r
    events = [e for e in guard.published if e["detail-type"] in ("Reputation Action", "Reputation Run Completed")]
    assert sorted(e["detail-type"] for e in events) == ["Reputation Action"] * 2 + ["Reputation Run Completed"]
    for e in events:
        assert (e["detail"]["requestedBy"], e["detail"]["requestReason"]) == ("jane@example.com", "INC-42"), e
    assert cli(guard, "audit", "--actor", "jane@").out.count("reputation.") == 3  # found by who asked


def test_an_operator_events_batch_approval_names_the_operator_and_a_scheduled_run_stays_mailwardens(emu):
    deployment = LocalDeployment(emu, policy=policy(cap=1))
    arns = tenants(deployment, "a", "b")
    emu.control.emit_events = False
    for arn in arns.values():
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    detail = {"mode": "apply", "reason": "TICKET-7 bounce storm", "requestedBy": "alice@example.com"}
    deployment.put_event("mailwarden.operator", "Reputation Reconcile Requested", detail, bus="mailwarden-local")
    (started,) = [d.result for d in deployment.deliver() if d.function == "reputation_trigger"]
    pending = awaiting(deployment, started["execution"])
    assert pending.message()["requester"] == "alice@example.com"
    assert decide(deployment, pending) == 200
    assert deployment.finished(started["execution"])["status"] == "SUCCEEDED"
    applied = [r for r in _audit_records(deployment) if r["outcome"] == "applied"]
    assert len(applied) == 2 and {r["actor"] for r in applied} == {"alice@example.com"}
    assert {r["detail"]["requestReason"] for r in applied} == {"TICKET-7 bounce storm"}
    assert {r["detail"]["approvedBy"] for r in applied} == {"ops-lead@example.com"}
    emu.control.raise_finding(emu.sesv2.add_tenant("c").arn, "BOUNCE", "HIGH")
    scheduled = run(deployment)
    runs = [r for r in _audit_records(deployment) if r["subject"] == f"run#{scheduled['runId']}"]
    assert [(r["actor"], r["detail"]["requestedBy"]) for r in runs] == [("mailwarden:schedule", "schedule")]
