"""Partner Central connection preferences kept at the policy's desired state, driven through the
real triggers on the emulator: the reconcile schedule, an operator's event, approval callbacks."""

from __future__ import annotations

import json

import pytest
from mailwarden.aws.audit import DynamoAuditTrail
from mailwarden.clock import default_clock
from mailwarden.contracts.workflows import WIDENING_NOT_APPLIED

from local.deployment import AsyncFailure, LocalDeployment
from tests.approval_support import awaiting, decide
from tests.partner_support import GET, UPDATE, policy, record, reported, run, running, state, widenings

SOME = "ALLOW_BY_DEFAULT_DENY_SOME"


@pytest.fixture
def partner(emu) -> LocalDeployment:
    return LocalDeployment(emu, policy=policy(SOME, ["competitor-1"]))


def audit(deployment: LocalDeployment, catalog: str = "AWS") -> list[dict]:
    trail = DynamoAuditTrail(deployment.emu.client("dynamodb"), deployment.tables["audit"], default_clock())
    return trail.entries(f"partner:{catalog}")


def test_in_sync_reads_once_and_writes_nothing(partner):
    partner.set_policy(policy("ALLOW_ALL"))  # the emulator starts at ALLOW_ALL
    assert run(partner) == {"outcome": "in-sync", "revision": 1, "conflicts": 0}
    assert partner.emu.calls[GET] == 1 and partner.emu.calls[UPDATE] == 0
    assert reported(partner) == [] and audit(partner) == []


def test_narrowing_drift_is_detected_and_corrected_with_the_revision_just_read(partner):
    result = run(partner)
    assert result["outcome"] == "applied" and result["revision"] == 2
    assert state(partner) == (SOME, ["competitor-1"], 2)
    assert partner.emu.calls[GET] == 1 and partner.emu.calls[UPDATE] == 1
    (event,) = reported(partner)
    assert event["outcome"] == "applied" and event["catalog"] == "AWS"
    assert event["before"]["accessType"] == "ALLOW_ALL" and event["before"]["revision"] == 1
    assert event["after"] == {**event["after"], "accessType": SOME, "excludedParticipantIds": ["competitor-1"]}
    assert "no longer let in: competitor-1" in event["plan"][0]
    (entry,) = audit(partner)
    assert entry["what"] == "partner.applied" and entry["actor"] == "mailwarden:partner-connections"
    assert entry["detail"]["after"]["revision"] == 2
    assert run(partner)["outcome"] == "in-sync"  # the next run: nothing more
    assert partner.emu.calls[UPDATE] == 1


@pytest.mark.parametrize("races", [1, 3, 5])
def test_another_writer_winning_the_race_is_reread_replanned_and_retried(partner, races):
    partner.emu.control.race_partner_writer(times=races)
    slept = partner.emu.clock.slept
    result = run(partner)
    assert result["outcome"] == "applied" and result["conflicts"] == races
    assert partner.emu.calls[UPDATE] == races + 1 and partner.emu.calls[GET] == races + 1
    assert state(partner) == (SOME, ["competitor-1"], 1 + races + 1)  # every other write kept its Revision
    assert partner.emu.clock.slept > slept  # jittered back-off between attempts, on the virtual clock
    assert [e["outcome"] for e in reported(partner)] == ["applied"]


def test_when_the_other_writer_already_made_it_match_nothing_is_written(partner):
    partner.emu.control.race_partner_writer(times=1, access_type=SOME, excluded=["competitor-1"])
    result = run(partner)
    assert result == {"outcome": "in-sync", "revision": 2, "conflicts": 1}
    assert partner.emu.dispatcher.outcomes[f"{UPDATE}:ok"] == 0  # the one update was the stale one
    (event,) = reported(partner)
    assert event["outcome"] == "in-sync" and "nothing written" in event["reason"]


def test_a_writer_that_always_wins_is_given_up_on_bounded_and_alerted(partner):
    partner.set_policy(policy(SOME, ["competitor-1"], retries=2))
    partner.emu.control.race_partner_writer(times=10)
    result = run(partner)
    assert result["outcome"] == "conflicted" and result["conflicts"] == 3
    assert partner.emu.calls[UPDATE] == 3
    assert state(partner)[0] == "ALLOW_ALL"
    (alert,) = partner.alerts()
    assert "keeps changing" in alert["Subject"] and "3 times in a row" in alert["Message"]
    assert [e["outcome"] for e in reported(partner)] == ["conflicted"]


def test_widening_waits_for_approval_then_rereads_and_writes_on_the_synthesized_workflow(partner, synth):
    _, template = synth
    assert "partner-widening" in partner.install_synthesized(template.to_json())
    partner.emu.control.other_writer("AWS", "DENY_ALL")
    partner.set_policy(policy("ALLOW_ALL"))
    result = run(partner)
    assert result["outcome"] == "approval-requested"
    assert state(partner)[0] == "DENY_ALL" and partner.emu.calls[UPDATE] == 0  # nothing before a human says so
    assert run(partner)["outcome"] == "approval-pending"  # the next run does not ask twice
    (execution,) = widenings(partner)
    pending = awaiting(partner, execution["executionArn"])
    assert "DENY_ALL -> ALLOW_ALL" in pending.message()["summary"]
    assert "every participant" in pending.message()["summary"]
    partner.emu.control.race_partner_writer(times=2)  # and the approved write meets conflicts too
    assert decide(partner, pending) == 200
    done = partner.finished(execution["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["applied"]["result"]["conflicts"] == 2
    assert state(partner)[0] == "ALLOW_ALL"
    outcomes = [(e["outcome"], e.get("approvedBy")) for e in reported(partner)]
    assert outcomes == [("approval-requested", None), ("applied", "ops-lead@example.com")]
    assert run(partner)["outcome"] == "in-sync"


def test_a_mixed_change_narrows_at_once_and_only_the_widening_part_waits(partner):
    partner.emu.control.other_writer("AWS", SOME, ["old-partner", "competitor-1"])
    partner.set_policy(policy(SOME, ["competitor-1", "competitor-2"]))
    result = run(partner)
    assert result["outcome"] == "applied" and result["approval"]["outcome"] == "approval-requested"
    assert state(partner)[:2] == (SOME, ["competitor-1", "competitor-2", "old-partner"])  # competitor-2 out now
    (execution,) = widenings(partner)
    pending = awaiting(partner, execution["executionArn"])
    assert "newly let in: old-partner" in pending.message()["summary"]
    assert decide(partner, pending) == 200
    assert partner.finished(execution["executionArn"])["status"] == "SUCCEEDED"
    assert state(partner)[:2] == (SOME, ["competitor-1", "competitor-2"])


def test_a_rejected_widening_is_not_asked_again_until_something_changes(partner):
    partner.emu.control.other_writer("AWS", "DENY_ALL")
    run(partner)
    (execution,) = widenings(partner)
    pending = awaiting(partner, execution["executionArn"])
    assert decide(partner, pending, "reject") == 200
    assert partner.finished(execution["executionArn"])["status"] == "FAILED"
    assert run(partner)["outcome"] == "rejected-before"
    assert len(widenings(partner)) == 1 and state(partner)[0] == "DENY_ALL"
    partner.set_policy(policy(SOME, ["competitor-1", "competitor-2"]))  # a different change: asked again
    assert run(partner)["outcome"] == "approval-requested"
    assert len(widenings(partner)) == 2
    assert [e["outcome"] for e in reported(partner)][:2] == ["approval-requested", "rejected"]


def test_an_approval_does_not_cover_a_wider_change_than_the_one_approved(partner):
    partner.emu.control.other_writer("AWS", SOME, ["old-partner", "competitor-1"])
    run(partner)  # wants old-partner back in: asks
    (execution,) = widenings(partner)
    pending = awaiting(partner, execution["executionArn"])
    partner.emu.control.other_writer("AWS", "DENY_ALL")  # meanwhile someone shuts everything
    assert decide(partner, pending) == 200
    done = partner.finished(execution["executionArn"])
    assert (done["status"], done["error"]) == ("FAILED", WIDENING_NOT_APPLIED)  # approved, not written
    assert state(partner)[0] == "DENY_ALL"  # approving "old-partner" is no approval for everyone
    assert record(partner).state == "STALE"
    stale = reported(partner)[-1]
    assert stale["outcome"] == "stale-approval" and "which was not approved" in stale["reason"]
    assert run(partner)["outcome"] == "approval-requested"  # the new change is asked for
    assert len(widenings(partner)) == 2


@pytest.mark.parametrize(
    ("approval", "start", "outcome"),
    [("never", "DENY_ALL", "applied"), ("always", "ALLOW_ALL", "approval-requested")],
)
def test_which_changes_wait_for_approval_is_configurable(partner, approval, start, outcome):
    partner.emu.control.other_writer("AWS", start)
    partner.set_policy(policy(SOME, ["competitor-1"], approval=approval))
    assert run(partner)["outcome"] == outcome


def test_plan_mode_and_the_kill_switch_report_the_drift_and_write_nothing(partner):
    partner.set_policy(policy(SOME, ["competitor-1"], mode="plan"))
    result = run(partner)
    assert result["outcome"] == "planned"
    assert result["plan"]["lines"] == [
        f"AWS: ALLOW_ALL -> {SOME} excluding [competitor-1] (no longer let in: competitor-1)"
    ]
    partner.set_policy(policy(SOME, ["competitor-1"]))
    partner.kill_switch(True)
    out = partner.tick("partner-reconcile")
    assert out["mode"] == "plan" and "kill switch" in out["note"]
    assert partner.emu.calls[UPDATE] == 0 and state(partner)[0] == "ALLOW_ALL"
    assert [e["outcome"] for e in reported(partner)] == ["planned", "planned"]


def test_an_operator_event_runs_on_demand_and_a_bad_one_goes_to_the_dlq_untouched(partner):
    detail = {"reason": "new exclusion list", "requestedBy": "ops@example.com", "mode": "apply", "catalogs": ["AWS"]}
    (out,) = partner.request(
        "mailwarden.operator", "Partner Connections Reconcile Requested", detail, "partner_connections"
    )
    assert out["catalogs"]["AWS"]["outcome"] == "applied" and out["runId"].startswith("ondemand-")
    assert audit(partner)[0]["actor"] == "ops@example.com"
    calls = dict(partner.emu.calls)
    for bad, problem in [
        ({**detail, "catalogs": ["Moon"]}, "detail.catalogs.0: Input should be 'AWS' or 'Sandbox'"),
        ({**detail, "mode": "yolo"}, "detail.mode"),
        ({"reason": "x"}, "detail.requestedBy: Field required"),
    ]:
        partner.request("mailwarden.operator", "Partner Connections Reconcile Requested", bad, "partner_connections")
        (letter,) = partner.dead_letters()
        assert problem in letter["reason"]
    assert {k: v for k, v in partner.emu.calls.items() if k.startswith("partnercentral")} == {
        k: v for k, v in calls.items() if k.startswith("partnercentral")
    }


def test_a_catalog_the_policy_does_not_list_is_never_read(partner):
    detail = {"reason": "check", "requestedBy": "ops@example.com", "catalogs": ["Sandbox"]}
    (out,) = partner.request(
        "mailwarden.operator", "Partner Connections Reconcile Requested", detail, "partner_connections"
    )
    assert out["catalogs"]["Sandbox"]["outcome"] == "unmanaged" and partner.emu.calls[GET] == 0


def test_access_denied_names_the_missing_permission_alerts_and_goes_on_with_other_catalogs(partner):
    partner.set_policy(policy(SOME, ["competitor-1"], sandbox="DENY_ALL"))
    partner.emu.control.deny("UpdateConnectionPreferences")
    out = partner.tick("partner-reconcile")
    assert out["catalogs"]["AWS"]["outcome"] == "failed"
    assert "partnercentral:UpdateConnectionPreferences" in out["catalogs"]["AWS"]["reason"]
    assert "service control policy" in out["catalogs"]["AWS"]["reason"]
    assert out["catalogs"]["Sandbox"]["outcome"] == "failed"  # denied as well, and reported on its own
    alerts = partner.alerts()
    assert len(alerts) == 2 and all("not reconciled" in a["Subject"] for a in alerts)
    assert audit(partner)[0]["outcome"] == "failed"
    assert partner.emu.calls[UPDATE] == 2 and state(partner)[0] == "ALLOW_ALL"


def test_throttling_and_server_errors_are_retried_and_a_lasting_outage_fails_the_invocation(partner):
    partner.emu.control.inject("partnercentral-account", throttle_rate=0.5)
    assert run(partner)["outcome"] == "applied"
    assert (
        partner.emu.dispatcher.outcomes[f"{UPDATE}:ThrottlingException"]
        + partner.emu.dispatcher.outcomes[f"{GET}:ThrottlingException"]
    )
    partner.emu.control.clear_faults()
    partner.emu.control.other_writer("AWS", "ALLOW_ALL")
    partner.emu.control.inject("partnercentral-account", "UpdateConnectionPreferences", error_rate=1.0)
    failed = partner.tick("partner-reconcile")  # Lambda tries the invocation 3 times; the run is idempotent
    assert isinstance(failed, AsyncFailure) and (failed.error_type, failed.attempts) == ("Unavailable", 3)
    (record,) = [m for m in partner.dead_letters() if m.get("requestContext", {}).get("condition")]
    assert record["responsePayload"]["errorType"] == "Unavailable"  # the stack's on-failure destination
    assert state(partner)[0] == "ALLOW_ALL"
    partner.emu.control.clear_faults()
    assert run(partner)["outcome"] == "applied"


# ---------------------------------------------------------------------------------- the widening record
# follows its execution: whatever ended it, the next run knows, and asks again when still needed


def _asked(deployment: LocalDeployment) -> str:
    """Someone shut the catalog; the policy wants it open: the run asks, and the approvers have mail."""
    deployment.emu.control.other_writer("AWS", "DENY_ALL")
    deployment.set_policy(policy("ALLOW_ALL"))
    assert run(deployment)["outcome"] == "approval-requested"
    (arn,) = running(deployment)
    awaiting(deployment, arn)  # the mail is out and the workflow waits (a stop before it would beat the task)
    return arn


def _asked_again(deployment: LocalDeployment, first: str, state_was: str) -> str:
    assert record(deployment).state == state_was
    result = run(deployment)
    assert result["outcome"] == "approval-requested", result
    (second,) = running(deployment)  # one execution per catalog waits for a human
    asked = record(deployment)
    assert second != first and (asked.state, asked.execution, asked.attempts) == ("REQUESTED", second, 2)
    pending = awaiting(deployment, second)
    assert decide(deployment, pending) == 200
    assert deployment.finished(second)["status"] == "SUCCEEDED" and state(deployment)[0] == "ALLOW_ALL"
    assert record(deployment).state == "APPLIED"
    assert run(deployment)["outcome"] == "in-sync"
    return second


def test_an_approved_widening_whose_write_is_denied_ends_failed_and_is_asked_again_on_the_next_run(partner):
    first = _asked(partner)
    partner.emu.control.deny("UpdateConnectionPreferences")  # an SCP lands while the approval waits
    assert decide(partner, awaiting(partner, first)) == 200
    done = partner.finished(first)
    assert (done["status"], done["error"]) == ("FAILED", WIDENING_NOT_APPLIED)  # the execution tells the truth
    failed = reported(partner)[-1]
    assert failed["outcome"] == "failed" and failed["approvedBy"] == "ops-lead@example.com"
    assert failed["execution"] == first and "partnercentral:UpdateConnectionPreferences" in failed["reason"]
    assert any("not reconciled" in a["Subject"] for a in partner.alerts())
    assert state(partner)[0] == "DENY_ALL"
    partner.emu.control.deny("UpdateConnectionPreferences", denied=False)  # the SCP is fixed
    _asked_again(partner, first, "FAILED")  # not "approval-pending" forever


def test_a_widening_an_operator_stopped_is_asked_again_on_the_next_run(partner):
    first = _asked(partner)
    sfn = partner.emu.client("stepfunctions")
    sfn.stop_execution(executionArn=first, error="Operator", cause="wrong time, ask again tomorrow")
    partner.wait_until(lambda: partner.waiting(first), "the approval task to return")  # it ran on; stays ABORTED
    assert partner.execution(first)["status"] == "ABORTED"
    assert record(partner).state == "REQUESTED"  # nothing in the workflow ran to say so
    _asked_again(partner, first, "REQUESTED")
    ended = [e for e in reported(partner) if e["outcome"] == "widening-ended"]
    assert [(e["execution"], e["state"]) for e in ended] == [(first, "STOPPED")]
    assert "ABORTED" in ended[0]["reason"] and "asked again" in ended[0]["reason"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"error_rate": 1.0}, "Unavailable"), ({"latency": 400.0}, "Sandbox.Timedout")],
    ids=["step-failed", "step-timed-out"],
)
def test_a_widening_whose_apply_step_failed_or_timed_out_is_asked_again_on_the_next_run(partner, fault, error):
    first = _asked(partner)
    partner.emu.control.inject("partnercentral-account", "GetConnectionPreferences", **fault)
    assert decide(partner, awaiting(partner, first)) == 200
    done = partner.finished(first, timeout=30)
    assert (done["status"], done["error"]) == ("FAILED", error)  # after the workflow's retries
    partner.emu.control.clear_faults()
    _asked_again(partner, first, "REQUESTED")
    (ended,) = [e for e in reported(partner) if e["outcome"] == "widening-ended"]
    assert ended["state"] == "FAILED" and error in ended["reason"]


def test_a_run_that_died_between_recording_a_widening_and_starting_it_is_finished_by_the_next(partner):
    partner.emu.control.other_writer("AWS", "DENY_ALL")
    partner.set_policy(policy("ALLOW_ALL"))
    partner.emu.control.inject("sfn", "StartExecution", error_rate=1.0)
    failed = partner.tick("partner-reconcile")  # recorded, never started; Lambda's retries too
    assert isinstance(failed, AsyncFailure) and failed.attempts == 3
    claimed = record(partner)
    assert claimed.state == "REQUESTED" and widenings(partner) == []
    partner.emu.control.clear_faults()
    assert run(partner) == {"outcome": "approval-requested", "execution": claimed.execution, "conflicts": 0}
    assert running(partner) == [claimed.execution] and record(partner) == claimed
    assert run(partner)["outcome"] == "approval-pending"  # and asked once


def test_a_widening_that_waits_for_a_change_nobody_wants_any_more_is_stopped(partner):
    first = _asked(partner)
    partner.set_policy(policy(SOME, ["competitor-1"]))  # the policy changes its mind while the mail waits
    assert run(partner)["outcome"] == "approval-requested"
    (second,) = running(partner)
    pending = awaiting(partner, second)  # its mail is out (else stopping it could beat the request task)
    stopped = partner.execution(first)
    assert (stopped["status"], stopped["error"]) == ("ABORTED", "Mailwarden.Superseded")
    assert "superseded" in stopped["cause"]
    assert record(partner).execution == second
    partner.emu.control.other_writer("AWS", SOME, ["competitor-1"])  # someone else does it by hand
    assert run(partner)["outcome"] == "in-sync"
    assert running(partner) == [] and record(partner).state == "SUPERSEDED"
    superseded = [e["execution"] for e in reported(partner) if e["outcome"] == "superseded"]
    assert superseded == [first, second]
    assert decide(partner, pending) == 410  # the old link is closed; nothing written
    assert state(partner)[:2] == (SOME, ["competitor-1"])
