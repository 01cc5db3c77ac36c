"""The mailwarden CLI driven against the emulator: each command's output (text and JSON), its exit
code, and what it changed (or did not) in the emulated estate."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from mailwarden.cli.render import ExitCode

from local.deployment import LocalDeployment
from local.sample import ORGANIZATION, seed_estate
from tests.cli_support import cli, unreadable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def estate(deployment: LocalDeployment) -> dict[str, str]:
    return seed_estate(deployment)


def customer(d: LocalDeployment, arn: str) -> str:
    return str(d.emu.control.entity(arn).customer.status)


def test_plan_reputation_shows_the_diff_and_writes_nothing(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    run = cli(deployment, "plan", "reputation")
    assert run.code == ExitCode.OK, run.err
    assert "4 entities checked, 1 to change" in run.out
    assert "  ~ disable acme-marketing: ENABLED -> DISABLED [rule pause-on-high-impact-findings]" in run.out
    assert customer(deployment, estate["acme-marketing"]) == "ENABLED"

    detailed = cli(deployment, "--output", "json", "plan", "reputation", "--detailed-exitcode")
    assert detailed.code == ExitCode.CHANGES
    doc = detailed.json()
    assert doc["status"] == "SUCCEEDED" and doc["outcome"] == "plan" and doc["entities"] == 4
    acting = [a for a in doc["actions"] if a["verdict"] == "act"]
    assert [(a["kind"], a["name"]) for a in acting] == [("disable", "acme-marketing")]


def test_apply_reputation_asks_at_a_terminal_and_needs_yes_without_one(
    deployment: LocalDeployment, estate: dict[str, str]
) -> None:
    run = cli(deployment, "apply", "reputation")
    assert run.code == ExitCode.USAGE and "pass --yes" in run.err
    declined = cli(deployment, "apply", "reputation", typed="no\n")
    assert declined.code == ExitCode.HALTED and "Type 'yes' to go on" in declined.err
    assert customer(deployment, estate["acme-marketing"]) == "ENABLED"
    confirmed = cli(deployment, "apply", "reputation", typed="yes\n")
    assert confirmed.code == ExitCode.OK and customer(deployment, estate["acme-marketing"]) == "DISABLED"


def test_apply_reputation_writes_and_the_audit_finds_it(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    run = cli(deployment, "--as", "jane@example.com", "apply", "reputation", "--yes", "--reason", "INC-42")
    assert run.code == ExitCode.OK, run.out + run.err
    assert "Applied 1; approvals requested 0." in run.out
    arn = estate["acme-marketing"]
    assert customer(deployment, arn) == "DISABLED"

    found = cli(deployment, "--output", "json", "audit", arn)
    assert found.code == ExitCode.OK
    (entry,) = [e for e in found.json()["entries"] if e["outcome"] == "applied"]
    assert entry["what"] == "reputation.disable" and entry["detail"]["mode"] == "apply"
    runs = cli(deployment, "audit", "--prefix", "run#", "--outcome", "apply")
    assert runs.code == ExitCode.OK and "reputation.run" in runs.out and "WHEN" in runs.out
    assert cli(deployment, "audit", "no-such-subject").code == ExitCode.NOT_FOUND
    assert "No audit records match." in cli(deployment, "audit", "--prefix", "partner:").out


def test_the_kill_switch_halts_apply_and_is_audited(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    assert cli(deployment, "kill-switch", "on").code == ExitCode.USAGE  # no --reason
    before = Counter(deployment.emu.calls)
    on = cli(deployment, "--as", "jane", "kill-switch", "on", "--reason", "incident 7")
    assert on.code == ExitCode.OK and "Kill switch: off -> on" in on.out
    # the minimum: read the switch (to say what it was), write it, one audit record
    calls = {"ssm.GetParameter": 1, "ssm.PutParameter": 1, "dynamodb.PutItem": 1}
    assert dict(Counter(deployment.emu.calls) - before) == calls
    status = cli(deployment, "--output", "json", "kill-switch")
    assert status.code == ExitCode.HALTED and status.json()["killSwitch"] == "on"

    run = cli(deployment, "apply", "reputation", "--yes")
    assert run.code == ExitCode.HALTED and "kill switch is on: nothing was written" in run.out
    assert customer(deployment, estate["acme-marketing"]) == "ENABLED"
    deployment.emu.clock.advance(11)  # warm functions re-read the switch every 10 s
    org, user = estate["organization"], f"alice@{ORGANIZATION}.example.com"
    offboard = cli(deployment, "offboard", user, "--org", org, "--reason", "leaver")
    assert offboard.code == ExitCode.HALTED and "the kill switch is on: no WorkMail change starts" in offboard.out
    assert cli(deployment, "offboard", user, "--org", org, "--reason", "x", "--dry-run").code == ExitCode.OK
    wm = deployment.emu.client("workmail")
    assert {u["Name"]: u["State"] for u in wm.list_users(OrganizationId=org)["Users"]}["alice"] == "ENABLED"
    state = cli(deployment, "status")
    assert state.code == ExitCode.HALTED and "kill switch        ON: no writes" in state.out
    assert "dead letters       1" in state.out  # the refused request, parked with its reason

    audit = cli(deployment, "--output", "json", "audit", "kill-switch").json()["entries"]
    assert [(e["what"], e["actor"], e["reason"]) for e in audit] == [("kill-switch.on", "jane", "incident 7")]
    deployment.dead_letters()
    assert cli(deployment, "kill-switch", "off", "--reason", "resolved").code == ExitCode.OK
    assert cli(deployment, "kill-switch").out.startswith("Kill switch: off")
    assert cli(deployment, "status").code == ExitCode.OK


def test_partner_plan_apply_then_in_sync(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    plan = cli(deployment, "plan", "partner", "--detailed-exitcode")
    assert plan.code == ExitCode.CHANGES
    assert "Sandbox: planned" in plan.out and "~ Sandbox: ALLOW_ALL -> DENY_ALL" in plan.out
    applied = cli(deployment, "--output", "json", "apply", "partner", "--yes")
    assert applied.code == ExitCode.OK and applied.json()["catalogs"]["Sandbox"]["outcome"] == "applied"
    pc = deployment.emu.client("partnercentral-account")
    assert pc.get_connection_preferences(Catalog="Sandbox")["AccessType"] == "DENY_ALL"
    again = cli(deployment, "plan", "partner", "--detailed-exitcode")
    assert again.code == ExitCode.OK and "Sandbox: in-sync" in again.out


def test_a_partner_widening_waits_for_approval(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    assert cli(deployment, "apply", "partner", "--yes").code == ExitCode.OK  # Sandbox narrowed to DENY_ALL
    deployment.set_policy(deployment_policy().replace("DENY_ALL", "ALLOW_ALL"))
    run = cli(deployment, "apply", "partner", "--yes")
    assert run.code == ExitCode.PENDING_APPROVAL, run.out
    assert "Sandbox: approval-requested" in run.out and "Waiting for approval apr-" in run.out
    listed = cli(deployment, "--output", "json", "approvals", "list")
    (request,) = listed.json()["approvals"]
    assert request["action"] == "partner.widen-access"
    show = cli(deployment, "approvals", "show", request["requestId"])
    assert show.code == ExitCode.PENDING_APPROVAL
    assert "To decide:" in show.out and "expires:" in show.out and "plan:" in show.out


def deployment_policy() -> str:
    from local.sample import sample_policy

    return sample_policy()


def test_offboard_dry_run_then_for_real_until_the_delete_approval(
    deployment: LocalDeployment, estate: dict[str, str]
) -> None:
    org, user = estate["organization"], f"alice@{ORGANIZATION}.example.com"
    dry = cli(deployment, "offboard", user, "--org", org, "--reason", "leaver", "--dry-run")
    assert dry.code == ExitCode.OK and "(dry run: nothing changed)" in dry.out
    assert f"~ deregister {user}" in dry.out
    wm = deployment.emu.client("workmail")
    users = {u["Email"]: u for u in wm.list_users(OrganizationId=org)["Users"] if u.get("Email")}
    assert users[user]["State"] == "ENABLED"

    run = cli(deployment, "--output", "json", "offboard", user, "--org", org, "--reason", "leaver", "--no-export")
    assert run.code == ExitCode.PENDING_APPROVAL, run.out
    doc = run.json()
    assert doc["steps"][-3:] == ["Deregister", "ConfirmDisabled", "ApproveDelete"]
    assert wm.describe_user(OrganizationId=org, UserId=users[user]["Id"])["State"] == "DISABLED"
    assert deployment.approve_by_link(doc["execution"]) == 200
    deployment.finished(doc["execution"])
    decided = cli(deployment, "approvals", "show", doc["approval"])
    assert decided.code == ExitCode.OK and "decided:    APPROVED by ops-lead@example.com" in decided.out
    assert cli(deployment, "approvals", "list").out.strip() == "No pending approvals."


def test_refused_and_invalid_requests_change_nothing(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    org = estate["organization"]
    protected = cli(deployment, "offboard", "administrator", "--org", org, "--reason", "x")
    assert protected.code == ExitCode.HALTED and "protected" in protected.out
    invalid = cli(deployment, "offboard", "bob", "--org", "m-nope", "--reason", "x")
    assert invalid.code == ExitCode.USAGE and "detail.organizationId" in invalid.out
    assert cli(deployment, "offboard", "bob").code == ExitCode.USAGE  # argparse: --org and --reason required
    dry = cli(deployment, "decommission-org", org, "--reason", "closing", "--dry-run")
    assert dry.code == ExitCode.OK and "~ offboard 2 user(s)" in dry.out and "~ keep 1: administrator@" in dry.out


def test_mail_from_set_then_get(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    missing = cli(deployment, "mail-from", "get", estate["identity"])
    assert missing.code == ExitCode.USAGE and "PUT one first" in missing.out
    put = cli(deployment, "--output", "json", "mail-from", "set", estate["identity"], "bounce.acme.example")
    assert put.code == ExitCode.OK and put.json()["mailFromDomainStatus"] == "PENDING"
    got = cli(deployment, "mail-from", "get", estate["identity"])
    assert got.code == ExitCode.OK and "mailFromDomain: bounce.acme.example" in got.out
    unknown = cli(deployment, "mail-from", "get", "nobody.example")
    assert unknown.code == ExitCode.USAGE and "SES has no email identity 'nobody.example'" in unknown.out


def test_the_real_aws_path_finds_the_stack_by_its_outputs(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    """AwsTarget: DescribeStacks outputs name the resources; requests invoke the deployed functions."""
    from mailwarden.cli.target import AwsTarget

    cfn = deployment.emu.client("cloudformation")
    outputs = [{"OutputKey": k, "OutputValue": v} for k, v in deployment.outputs().items()]
    template: dict[str, Any] = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}},
        "Outputs": {o["OutputKey"]: {"Value": o["OutputValue"]} for o in outputs},
    }
    import json

    cfn.create_stack(StackName="Mailwarden-test", TemplateBody=json.dumps(template))
    target = AwsTarget("Mailwarden-test", "us-east-1", None)
    run = cli(target, "plan", "reputation")
    assert run.code == ExitCode.OK and "1 to change" in run.out
    assert cli(target, "kill-switch").code == ExitCode.OK
    missing = cli(AwsTarget("Nope", "us-east-1", None), "approvals", "list")
    assert missing.code == ExitCode.NOT_FOUND and "No stack Nope in us-east-1. Deploy it" in missing.err


def test_python_dash_m_and_usage_errors() -> None:
    ok = subprocess.run([sys.executable, "-m", "mailwarden", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "Exit codes: 0 ok" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "mailwarden", "plan", "nothing"], capture_output=True, text=True)
    assert bad.returncode == ExitCode.USAGE and "invalid choice" in bad.stderr
    version = subprocess.run([sys.executable, "-m", "mailwarden", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == "mailwarden 0.1.0"  # pyproject's version


def test_a_shell_session_keeps_one_estate_offboard_decide_audit(
    deployment: LocalDeployment, estate: dict[str, str]
) -> None:
    org, user = estate["organization"], f"bob@{ORGANIZATION}.example.com"
    script = (
        "# one local session\n"
        f"offboard {user} --org {org} --reason leaver --no-export\n"
        "decide oldest approve\n"
        "\n"
        "approvals list\n"
        f"audit --prefix workmail:{org} --outcome deleted\n"
    )
    run = cli(deployment, "shell", stdin=script)
    assert run.code == ExitCode.OK, run.err
    assert "[exit 4] offboard" in run.err and "[exit 0] decide oldest approve" in run.err
    assert "APPROVED by ops-lead@example.com" in run.out and "No pending approvals." in run.out
    assert "workmail.deleted" in run.out
    wm = deployment.emu.client("workmail")
    states = {u["Name"]: u["State"] for u in wm.list_users(OrganizationId=org)["Users"]}
    assert states["bob"] == "DELETED" and states["alice"] == "ENABLED"
    assert cli(deployment, "shell", stdin="approvals show nope\n").code == ExitCode.NOT_FOUND


def test_decide_is_for_the_emulator_only(deployment: LocalDeployment, estate: dict[str, str]) -> None:
    from mailwarden.cli.target import AwsTarget

    run = cli(AwsTarget("Mailwarden-dev", "us-east-1", None), "decide", "apr-1", "approve")
    assert run.code == ExitCode.USAGE and "emailed link" in run.err


def test_every_command_prints_sentences_and_tables_not_json_or_reprs(
    deployment: LocalDeployment, estate: dict[str, str]
) -> None:
    org, user = estate["organization"], f"alice@{ORGANIZATION}.example.com"
    script = (
        "plan reputation\n"
        "plan partner\n"
        "apply partner --yes\n"
        f"offboard {user} --org {org} --reason leaver --dry-run\n"
        f"decommission-org {org} --reason closing --dry-run\n"
        f"offboard {user} --org {org} --reason leaver --no-export\n"
        "approvals list\n"
        "approvals show oldest\n"
        "decide oldest reject\n"
        "approvals list --state all\n"
        "mail-from set acme.example bounce.acme.example\n"
        "mail-from get acme.example\n"
        "kill-switch on --reason drill\n"
        "kill-switch\n"
        "status\n"
        "kill-switch off --reason 'drill over'\n"
        "audit --limit 20\n"
        "apply reputation --yes\n"
    )
    run = cli(deployment, "shell", stdin=script)
    assert run.err.count("[exit ") == script.count("\n"), run.err  # every command ran
    assert "firstUsers" not in run.out and "keep 1: administrator@" in run.out
    assert unreadable(run.out) == [] and unreadable(run.err) == []
    as_json = cli(deployment, "--output", "json", "decommission-org", org, "--reason", "closing", "--dry-run")
    assert as_json.json()["plan"]["keptCount"] == 1  # JSON stays for --output json
    assert unreadable("{'decisions': 1}\n[{'user': 'a'}]\nb'!!'\n{\"a\": 1}\nx.py:1: UserWarning: y") == [
        "{'decisions': 1}",
        "[{'user': 'a'}]",
        "b'!!'",
        '{"a": 1}',
        "x.py:1: UserWarning: y",
    ]
