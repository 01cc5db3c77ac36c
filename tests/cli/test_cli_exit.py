"""Issue 22, ``mailwarden exit-org`` against the emulator: the dry run's plan (no WorkMail or Route 53
write), a target-records file refused before anything is sent, a run stopping at each approval
(exit 4) and followed again after it, the end of an exit, and a rollback."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from mailwarden.cli.exit_org import exit_id_for
from mailwarden.cli.render import ExitCode
from mailwarden.workmail.cutover import TargetRecordsError, load_target_records

from local.deployment import LocalDeployment
from tests.cli_support import cli, unreadable
from tests.exit_support import DOMAINS, globex, target_records, zone_records
from tests.workmail_support import Org

WORKMAIL_MX = ["10 inbound-smtp.us-east-1.amazonaws.com"]
NEW_MX = ["10 mx1.newmail.example.org", "20 mx2.newmail.example.org"]


@pytest.fixture
def org(deployment: LocalDeployment) -> Org:
    return globex(deployment)


@pytest.fixture
def records(tmp_path: Path) -> str:
    """The target-records file, as YAML an operator writes (JSON is YAML too)."""
    path = tmp_path / "target-records.yaml"
    path.write_text(json.dumps(target_records(), indent=2))
    return str(path)


def writes(calls: Counter[str]) -> dict[str, int]:
    """WorkMail and Route 53 calls that change something (not List/Get/Describe)."""
    return {
        op: n
        for op, n in calls.items()
        if op.split(".")[0] in ("workmail", "route-53") and not op.split(".")[1].startswith(("List", "Get", "Describe"))
    }


def run_exit(d: LocalDeployment, org: Org, records: str, *more: str) -> tuple[int, str, str]:
    run = cli(d, "exit-org", org.id, "--target-records", records, "--reason", "WorkMail ends 2027-03-31", *more)
    return run.code, run.out, run.err


def test_a_dry_run_prints_the_plan_and_writes_nothing(deployment, org, records):
    before = Counter(deployment.emu.calls)
    run = cli(deployment, "exit-org", org.id, "--target-records", records, "--reason", "planning", "--dry-run")
    assert run.code == ExitCode.OK, run.out + run.err
    calls = Counter(deployment.emu.calls) - before
    assert writes(calls) == {}
    assert calls["workmail.ListUsers"] >= 1 and calls["workmail.GetMailboxDetails"] == 4  # it read (4 users)
    assert "(dry run: nothing changed)" in run.out
    assert "4 users, 5 mailboxes (3.9 MB in all), 2 groups, 1 resource, 2 mail domains" in run.out
    assert "kept: no protected users" in run.out
    order = [line for line in run.out.splitlines() if line.startswith("  ~ ")]
    assert len(order) == 4 and "export and verify 5 mailboxes" in order[0] and "then the organization" in order[3]
    assert f"documents: s3://{deployment.export_bucket}/exits/plan-" in run.out
    assert unreadable(run.out) == []
    assert {org.state(n) for n in org.users} == {"ENABLED"}
    for domain in DOMAINS:
        assert zone_records(deployment, domain)[(domain, "MX")] == WORKMAIL_MX

    detailed = cli(
        deployment, "-o", "json", "exit-org", org.id, "--target-records", records, "--reason", "x", "--dry-run",
        "--detailed-exitcode",
    )  # fmt: skip
    assert detailed.code == ExitCode.CHANGES
    doc = detailed.json()
    assert doc["state"] == "SUCCEEDED" and doc["exitId"].startswith("plan-")
    assert f"/exits/{doc['exitId']}/" not in run.out  # each dry run is a fresh plan (its own execution)
    assert doc["plan"]["mailboxes"] == 5 and doc["plan"]["missingTargets"] == [] and doc["plan"]["domains"] == 2
    assert doc["plan"]["documents"].endswith(f"/exits/{doc['exitId']}/")


def test_a_dry_run_names_a_domain_the_file_misses_and_one_it_should_not_have(deployment, org, tmp_path):
    data = target_records(DOMAINS[0], "other.example.org")
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(data))
    run = cli(deployment, "exit-org", org.id, "--target-records", str(path), "--reason", "x", "--dry-run")
    assert run.code == ExitCode.OK, run.out + run.err
    assert f"! no target records for {DOMAINS[1]}: the cut-over stops" in run.out
    assert "! not mail domains of the organization: other.example.org" in run.out


BAD_FILES = {
    "not YAML": "version: 1\ndomains: [unclosed\n",
    "no mx": json.dumps({"version": 1, "domains": {DOMAINS[0]: {"spfInclude": ["spf.newmail.example.org"]}}}),
    "unknown field": json.dumps(
        {"version": 1, "domains": {DOMAINS[0]: {**target_records()["domains"][DOMAINS[0]], "priority": 1}}}
    ),
}


@pytest.mark.parametrize("problem", sorted(BAD_FILES))
def test_a_bad_target_records_file_is_a_usage_error_and_nothing_is_sent(deployment, org, tmp_path, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_FILES[problem])
    with pytest.raises(TargetRecordsError) as loader:
        load_target_records(BAD_FILES[problem])
    before, invoked = Counter(deployment.emu.calls), len(deployment.invocations)
    run = cli(deployment, "exit-org", org.id, "--target-records", str(path), "--reason", "x")
    assert run.code == ExitCode.USAGE
    assert run.err == f"mailwarden: --target-records {path}: {loader.value}\n"
    assert run.out == ""
    assert Counter(deployment.emu.calls) == before and len(deployment.invocations) == invoked  # nothing sent


def test_a_missing_file_and_wrong_combinations_are_usage_errors(deployment, org, tmp_path):
    before = Counter(deployment.emu.calls)
    missing = cli(deployment, "exit-org", org.id, "--target-records", str(tmp_path / "nope.yaml"), "--reason", "x")
    assert missing.code == ExitCode.USAGE and "cannot read it" in missing.err and "nope.yaml" in missing.err
    none = cli(deployment, "exit-org", org.id, "--reason", "x")
    assert none.code == ExitCode.USAGE and "needs --target-records FILE" in none.err
    both = cli(deployment, "exit-org", org.id, "--rollback", "exit-1", "--target-records", "f", "--reason", "x")
    assert both.code == ExitCode.USAGE and "not --target-records" in both.err
    assert cli(deployment, "exit-org", org.id, "--target-records", "f").code == ExitCode.USAGE  # no --reason
    assert Counter(deployment.emu.calls) == before


def test_a_run_stops_at_the_cutover_approval_and_following_it_again_starts_nothing_new(deployment, org, records):
    code, out, err = run_exit(deployment, org, records)
    assert code == ExitCode.PENDING_APPROVAL, out + err
    (pending,) = cli(deployment, "-o", "json", "approvals", "list").json()["approvals"]
    assert pending["action"] == "workmail.exit-cutover"
    assert f"Waiting for approval {pending['requestId']}: Point the mail of 2 domain(s)" in out
    exit_id = exit_id_for(org.id)
    assert out.startswith(f"Exit {exit_id} of {org.id}: started ")
    assert "inventory  4 users, 5 mailboxes" in out and "export     5 mailboxes exported and verified" in out
    assert "    - MX globex.example.com 10 inbound-smtp.us-east-1.amazonaws.com (TTL 3600)" in out
    assert "    + MX globex.example.com 10 mx1.newmail.example.org (TTL 300)" in out
    for phase in ("inventory", "export", "cut-over"):  # each phase as it went, on stderr
        assert f"Exit of {org.id}: {phase}\n" in err
    assert unreadable(out) == []
    # nothing deleted and the DNS untouched before the approval
    assert {org.state(n) for n in org.users} == {"ENABLED"}
    assert zone_records(deployment, DOMAINS[0])[(DOMAINS[0], "MX")] == WORKMAIL_MX

    again = cli(deployment, "-o", "json", "exit-org", org.id, "--target-records", records, "--reason", "again")
    assert again.code == ExitCode.PENDING_APPROVAL
    doc = again.json()
    assert doc["status"] == "duplicate" and doc["approval"] == pending["requestId"] and doc["phase"] == "cut-over"
    assert doc["manifest"] == {"verified": 5, "unverified": 0, "notVerified": []}
    assert len(cli(deployment, "-o", "json", "approvals", "list").json()["approvals"]) == 1  # no second request

    other = cli(deployment, "exit-org", org.id, "--target-records", records, "--reason", "x", "--request-id", "two")
    assert other.code == ExitCode.HALTED
    assert f"! An exit of {org.id} is in flight already: request {exit_id}" in other.out


def test_after_both_approvals_the_exit_ends_with_its_summary(deployment, org, records):
    assert run_exit(deployment, org, records, "--soak-days", "2")[0] == ExitCode.PENDING_APPROVAL
    assert cli(deployment, "decide", "oldest", "approve").code == ExitCode.OK
    code, out, err = run_exit(deployment, org, records)  # followed again: cut-over, INSYNC, soak, 2nd approval
    assert code == ExitCode.PENDING_APPROVAL, out + err
    assert "cut-over   approved and written: 2 change batch(es)" in out and "cut-over   INSYNC" in out
    assert "soak       until " in out and "(over)" in out  # 2 days of virtual time
    assert "delete     4 users to delete" in out and "Permanently delete 4 users" in out
    for domain in DOMAINS:
        assert zone_records(deployment, domain)[(domain, "MX")] == NEW_MX
    assert {org.state(n) for n in org.users} == {"ENABLED"}

    assert cli(deployment, "decide", "oldest", "approve").code == ExitCode.OK
    done = cli(deployment, "exit-org", org.id, "--target-records", records, "--reason", "x")
    assert done.code == ExitCode.OK, done.out + done.err
    assert "delete     approved by ops-lead@example.com" in done.out
    assert "summary    completed: 5/5 mailboxes verified, 4 users deleted, 2 domain(s) cut over" in done.out
    assert done.out.rstrip().endswith("the organization deleted.")
    assert {m.state for m in deployment.emu.workmail.orgs[org.id].members.values() if m.kind == "USER"} == {"DELETED"}
    assert unreadable(done.out) == []


def test_a_rollback_puts_the_dns_back_and_stops_the_exit(deployment, org, records):
    assert run_exit(deployment, org, records)[0] == ExitCode.PENDING_APPROVAL
    cli(deployment, "decide", "oldest", "approve")
    assert run_exit(deployment, org, records)[0] == ExitCode.PENDING_APPROVAL  # the deletion's approval
    assert zone_records(deployment, DOMAINS[0])[(DOMAINS[0], "MX")] == NEW_MX
    exit_id = exit_id_for(org.id)
    arn = deployment.emu.client("stepfunctions").describe_execution
    execution = cli(deployment, "-o", "json", "approvals", "list").json()["approvals"][0]["executionArn"]

    run = cli(deployment, "exit-org", org.id, "--rollback", exit_id, "--reason", "mail bounces")
    assert run.code == ExitCode.OK, run.out + run.err
    assert "DNS restored in 2 change batch(es); the exit's workflow stopped" in run.out and "INSYNC" in run.out
    for domain in DOMAINS:
        records_now = zone_records(deployment, domain)
        assert records_now[(domain, "MX")] == WORKMAIL_MX
        assert records_now[(f"autodiscover.{domain}", "CNAME")] == ["autodiscover.mail.us-east-1.awsapps.com"]
    assert arn(executionArn=execution)["status"] == "ABORTED"
    assert {org.state(n) for n in org.users} == {"ENABLED"}

    unknown = cli(deployment, "exit-org", org.id, "--rollback", "exit-nope", "--reason", "x")
    assert unknown.code == ExitCode.HALTED
    assert f"! Refused: Rejected: no organization exit exit-nope of {org.id}" in unknown.out
    # sent again, the exit plans the cut-over anew and asks for it again
    code, out, _ = run_exit(deployment, org, records)
    assert code == ExitCode.PENDING_APPROVAL and "resumed at exported" in out and "Point the mail of 2" in out


def test_a_run_the_cutover_cannot_write_stops_with_exit_1_and_names_why(deployment, org, tmp_path):
    path = tmp_path / "one-domain.json"
    path.write_text(json.dumps(target_records(DOMAINS[0])))  # the second mail domain is missing
    run = cli(deployment, "exit-org", org.id, "--target-records", str(path), "--reason", "x")
    assert run.code == ExitCode.FAILED, run.out + run.err
    assert "export     5 mailboxes exported and verified" in run.out
    assert f"! The exit stopped (dns-conflict): DnsNotCutOver: the DNS cut-over of {org.id} cannot be written" in (
        run.out
    )
    assert f"{DOMAINS[1]}: WorkMail's mail domain has no entry in the target-records file" in run.out
    assert "summary    dns-conflict: 5/5 mailboxes verified, 0 users deleted, 0 domain(s) cut over" in run.out
    assert f"  ! not cut over: {DOMAINS[1]}: DNS not cut over" in run.out
    assert "run this command again: the exit resumes where it stopped" in run.out
    for domain in DOMAINS:
        assert zone_records(deployment, domain)[(domain, "MX")] == WORKMAIL_MX
    assert cli(deployment, "approvals", "list").out.strip() == "No pending approvals."


def test_sent_again_with_the_target_records_file_fixed_the_exit_uses_the_fixed_file(deployment, org, tmp_path, records):
    """The operator's way out of a missing domain is to add it to the file and run the command again.
    Fails on 6e2dbd0: ``OrganizationExit.inventory`` resumes from the state's ``targets`` (and
    ``missingTargets``) taken the first time and ignores the request's, so the cut-over stops again."""
    path = tmp_path / "one-domain.json"
    path.write_text(json.dumps(target_records(DOMAINS[0])))
    assert cli(deployment, "exit-org", org.id, "--target-records", str(path), "--reason", "x").code == ExitCode.FAILED
    code, out, err = run_exit(deployment, org, records)  # the file now has both domains
    assert code == ExitCode.PENDING_APPROVAL, out + err
    assert "Point the mail of 2 domain(s)" in out and f"+ MX {DOMAINS[1]} 10 mx1.newmail.example.org" in out
