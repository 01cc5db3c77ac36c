"""The organization exit through its real trigger (the WorkMail request on the bus), on the emulator
with the synthesized stack's IAM: inventory, exports verified, approved DNS cut-over, soak, approved
deletion; the dry run, a failed verification, a DNS conflict, a rollback, crashes and protection."""

from __future__ import annotations

import json

import pytest

from local.deployment import LocalDeployment
from tests.approval_support import Pending, decide
from tests.exit_support import DOMAINS, document, exit_request, gate, globex, phases, rollback_request, zone_records
from tests.workmail_support import Org

SOAK = 7 * 86400


@pytest.fixture
def org(deployment: LocalDeployment) -> Org:
    return globex(deployment)


def test_a_full_exit_keeps_every_mailbox_cuts_dns_over_and_deletes_everything_after_two_approvals(deployment, org):
    started = exit_request(deployment, org, requestId="exit-globex")
    assert started["status"] == "started"
    arn = started["execution"]
    cutover = gate(deployment, arn, "workmail.exit-cutover")
    diff = cutover.message()["plan"]["diff"] if "plan" in cutover.message() else None
    body = json.dumps(cutover.message())
    assert "inbound-smtp" in body and "mx1.newmail.example.org" in body, diff
    # nothing deleted, DNS untouched before the first approval
    assert {org.state(n) for n in org.users} == {"ENABLED"}
    decide(deployment, cutover)
    delete = gate(deployment, arn, "workmail.exit-delete")
    for domain in DOMAINS:
        records = zone_records(deployment, domain)
        assert records[(domain, "MX")] == ["10 mx1.newmail.example.org", "20 mx2.newmail.example.org"]
        spf = [v for v in records[(domain, "TXT")] if "v=spf1" in v]
        assert len(spf) == 1 and "include:spf.newmail.example.org" in spf[0]
        assert records[(f"autodiscover.{domain}", "CNAME")] == ["autodiscover.newmail.example.org"]
    decide(deployment, delete)
    done = deployment.finished(arn, timeout=120)
    assert done["status"] == "SUCCEEDED", done
    wm = deployment.emu.workmail.orgs[org.id]
    assert {m.state for m in wm.members.values() if m.kind == "USER"} == {"DELETED"}
    report = document(deployment, "exits/exit-globex/report.json")
    assert report["organizationDeleted"] is True and report["incomplete"] == []
    manifest = document(deployment, "exits/exit-globex/manifest.json")
    assert manifest["verified"] == 5 and manifest["unverified"] == 0
    assert all(m["objectBytes"] > 0 and m["jobId"] for m in manifest["mailboxes"])
    assert manifest["dns"]["applied"] is True and manifest["dns"]["zones"]
    inventory = document(deployment, "exits/exit-globex/inventory.json")
    assert {u["name"] for u in inventory["users"]} >= {"ann", "ben", "cid", "dee"}
    assert "ann" in document(deployment, "exits/exit-globex/users.csv")
    seen = phases(deployment)
    assert [p for p, _ in seen][:2] == ["inventory", "export"] and ("summary", "completed") in seen


WRITES = (
    "workmail.StartMailboxExportJob",
    "workmail.DeregisterFromWorkMail",
    "workmail.DeleteUser",
    "workmail.DeleteGroup",
    "workmail.DeleteResource",
    "workmail.DeregisterMailDomain",
    "workmail.DeleteOrganization",
    "route-53.ChangeResourceRecordSets",
)


def _writes(deployment: LocalDeployment) -> dict[str, int]:
    return {w: deployment.emu.calls[w] for w in WRITES if deployment.emu.calls[w]}


def test_a_dry_run_inventories_everything_and_writes_nothing(deployment, org):
    before = _writes(deployment)
    started = exit_request(deployment, org, requestId="look", dryRun=True)
    assert started["status"] == "planning" and started["requestId"] == "plan-look"
    done = deployment.finished(started["execution"], timeout=60)
    assert done["status"] == "SUCCEEDED"
    plan = json.loads(done["output"])["plan"]
    assert plan["mailboxes"] == 5 and plan["users"] == 4 and plan["groups"] == 2 and plan["domains"] == 2
    assert plan["mailboxBytes"] == int((2.0 + 0.5 + 1.0 + 0.25) * 2**20)
    assert plan["missingTargets"] == [] and plan["unknownTargets"] == []
    assert _writes(deployment) == before  # no export, no change to WorkMail or DNS
    inventory = document(deployment, "exits/plan-look/inventory.json")
    sales = next(g for g in inventory["groups"] if g["name"] == "sales")
    staff = next(g for g in inventory["groups"] if g["name"] == "staff")
    assert {m["id"] for m in sales["members"]} == {org.users["ann"], org.users["ben"]}
    assert {"id": org.groups["sales"], "type": "GROUP"} in staff["members"]  # nesting kept
    [room] = inventory["resources"]
    assert room["booking"]["AutoAcceptRequests"] is True and len(room["delegates"]) == 2
    ann = next(u for u in inventory["users"] if u["name"] == "ann")
    assert f"ann.smith@{DOMAINS[0]}" in ann["aliases"] and ann["permissions"][0]["grantee"] == org.users["ben"]
    domains = {d["name"]: d for d in inventory["domains"]}
    assert set(domains) >= set(DOMAINS) and any(r["type"] == "MX" for r in domains[DOMAINS[0]]["records"])
    csv = document(deployment, "exits/plan-look/group-members.csv")
    assert csv.splitlines()[0] == "group_id,group_name,member_id,member_type" and "GROUP" in csv
    assert ("inventory", "planned") in phases(deployment)


def test_an_export_that_fails_verification_keeps_that_user_and_the_organization(deployment, org):
    # ann's export comes back empty although her mailbox holds 2 MB
    deployment.emu.control.empty_next_export(org.id)
    started = exit_request(deployment, org, requestId="exit-empty")
    decide(deployment, gate(deployment, started["execution"], "workmail.exit-cutover"))
    delete = gate(deployment, started["execution"], "workmail.exit-delete")
    kept = delete.message()
    assert "kept" in json.dumps(kept) and "empty" in json.dumps(kept)
    decide(deployment, delete)
    done = deployment.finished(started["execution"], timeout=120)
    assert done["status"] == "SUCCEEDED"
    manifest = document(deployment, "exits/exit-empty/manifest.json")
    [bad] = [m for m in manifest["mailboxes"] if not m["verified"]]
    assert "empty" in bad["why"] and bad["objectBytes"] == 22
    wm = deployment.emu.workmail.orgs[org.id]
    assert wm.members[bad["user"]].state == "ENABLED"  # never touched after its export
    others = [m["user"] for m in manifest["mailboxes"] if m["verified"] and m["kind"] == "USER"]
    assert others and all(wm.members[u].state == "DELETED" for u in others)
    assert deployment.emu.calls["workmail.DeleteOrganization"] == 0
    report = document(deployment, "exits/exit-empty/report.json")
    assert report["organizationDeleted"] is False and report["outcome"] == "kept"
    assert [i["why"] for i in report["incomplete"] if "empty" in i["why"]]


def test_a_dns_conflict_stops_before_any_change_and_names_it_then_resumes_once_fixed(deployment, org):
    r53 = deployment.emu.client("route53")
    zone = next(z["Id"] for z in r53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == DOMAINS[1])
    second_spf = {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": f"_x.{DOMAINS[1]}",
            "Type": "TXT",
            "TTL": 300,
            "ResourceRecords": [{"Value": '"v=spf1 -all"'}],
        },
    }
    cname = {
        "Action": "UPSERT",
        "ResourceRecordSet": {
            "Name": f"nm1._domainkey.{DOMAINS[1]}",
            "Type": "TXT",
            "TTL": 300,
            "ResourceRecords": [{"Value": '"stale"'}],
        },
    }
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [second_spf, cname]})
    before = zone_records(deployment, DOMAINS[1])
    changes = deployment.emu.calls["route-53.ChangeResourceRecordSets"]
    started = exit_request(deployment, org, requestId="exit-conflict")
    done = deployment.finished(started["execution"], timeout=120)
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ExitStopped"
    assert deployment.emu.calls["route-53.ChangeResourceRecordSets"] == changes  # nothing written
    assert zone_records(deployment, DOMAINS[1]) == before
    report = document(deployment, "exits/exit-conflict/report.json")
    assert report["outcome"] == "dns-conflict" and f"nm1._domainkey.{DOMAINS[1]}" in report["cause"]
    # fixed by hand, the same request resumes: exports are not redone, the cut-over is asked for
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{**cname, "Action": "DELETE"}]})
    exports = deployment.emu.calls["workmail.StartMailboxExportJob"]
    again = exit_request(deployment, org, requestId="exit-conflict")
    assert again["status"] == "started" and again["execution"].endswith("-rerun-1")
    gate(deployment, again["execution"], "workmail.exit-cutover")
    assert deployment.emu.calls["workmail.StartMailboxExportJob"] == exports


def test_a_rollback_during_the_soak_restores_the_dns_and_leaves_workmail_as_it_was(deployment, org):
    before = {d: zone_records(deployment, d) for d in DOMAINS}
    started = exit_request(deployment, org, requestId="exit-back")
    decide(deployment, gate(deployment, started["execution"], "workmail.exit-cutover"))
    deployment.wait_until(lambda: ("soak", "started") in phases(deployment), "the soak", timeout=60)
    assert zone_records(deployment, DOMAINS[0]) != before[DOMAINS[0]]
    back = rollback_request(deployment, org, "exit-back")
    assert back["status"] == "started"
    assert deployment.finished(back["execution"], timeout=60)["status"] == "SUCCEEDED"
    assert {d: zone_records(deployment, d) for d in DOMAINS} == before
    assert deployment.finished(started["execution"], timeout=60)["status"] == "ABORTED"
    assert {org.state(n) for n in org.users} == {"ENABLED"}
    assert deployment.emu.calls["workmail.DeregisterFromWorkMail"] == 0
    assert ("rollback", "rolled-back") in phases(deployment) and ("summary", "rolled-back") in phases(deployment)


def test_a_rollback_after_the_deletion_started_is_refused(deployment, org):
    started = exit_request(deployment, org, requestId="exit-late")
    decide(deployment, gate(deployment, started["execution"], "workmail.exit-cutover"))
    decide(deployment, gate(deployment, started["execution"], "workmail.exit-delete"))
    deployment.finished(started["execution"], timeout=120)
    back = rollback_request(deployment, org, "exit-late")
    assert deployment.finished(back["execution"], timeout=60)["status"] == "FAILED"
    refused = [d for p, d in phases(deployment) if p == "rollback"]
    assert refused == ["rejected"] or "rejected" in refused


@pytest.mark.parametrize(
    "step",
    ["exit-inventory", "exit-manifest", "exit-cutover-apply", "exit-soak", "exit-delete-approved", "exit-delete-rest"],
)
def test_a_crash_after_a_phase_is_finished_by_sending_the_same_request_again(deployment, org, step):
    deployment.crash_after(step)
    changes = deployment.emu.calls["route-53.ChangeResourceRecordSets"]
    done = _approve_until_ended(deployment, exit_request(deployment, org, requestId="exit-crash")["execution"])
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ExitStopped"
    again = exit_request(deployment, org, requestId="exit-crash")
    assert again["status"] == "started", again
    done = _approve_until_ended(deployment, again["execution"])
    assert done["status"] == "SUCCEEDED", done
    report = document(deployment, "exits/exit-crash/report.json")
    assert report["organizationDeleted"] is True and report["incomplete"] == []
    # one batch per zone, once (a crash after writing them does not write them again)
    assert deployment.emu.calls["route-53.ChangeResourceRecordSets"] - changes == len(DOMAINS)
    assert deployment.emu.calls["workmail.StartMailboxExportJob"] == 5  # each mailbox exported once
    for domain in DOMAINS:
        assert len([v for v in zone_records(deployment, domain)[(domain, "TXT")] if "v=spf1" in v]) == 1


def _approve_until_ended(deployment: LocalDeployment, arn: str) -> dict:
    """Approve every approval the execution asks for, until it ends; its description."""
    decided: set[str] = set()
    approver = next(iter(deployment.approvers))

    def next_gate():
        if deployment.execution(arn)["status"] != "RUNNING":
            return "ended"
        fresh = [m for m in deployment.inbox(approver) if m["executionArn"] == arn and m["requestId"] not in decided]
        return fresh[-1] if fresh and deployment.waiting(arn) else None

    while (found := deployment.wait_until(next_gate, f"{arn} to ask or end", timeout=120)) != "ended":
        decided.add(found["requestId"])
        pending = Pending(
            arn,
            {a: [m for m in deployment.inbox(a) if m["requestId"] == found["requestId"]] for a in deployment.approvers},
        )
        decide(deployment, pending)
    return deployment.execution(arn)


def test_a_protected_user_is_exported_never_deleted_and_keeps_the_organization(deployment, org):
    # the repository's policy protects workmail-admins: ann and ben are in it through sales
    admins = org.group("workmail-admins")
    org.wm.associate_member_to_group(OrganizationId=org.id, GroupId=admins, MemberId=org.groups["sales"])
    started = exit_request(deployment, org, requestId="exit-protected")
    decide(deployment, gate(deployment, started["execution"], "workmail.exit-cutover"))
    delete = gate(deployment, started["execution"], "workmail.exit-delete")
    assert "protected" in json.dumps(delete.message())
    decide(deployment, delete)
    assert deployment.finished(started["execution"], timeout=120)["status"] == "SUCCEEDED"
    assert [org.state(n) for n in ("ann", "ben", "cid", "dee")] == ["ENABLED", "ENABLED", "DELETED", "DELETED"]
    manifest = document(deployment, "exits/exit-protected/manifest.json")
    assert manifest["unverified"] == 0  # protected mailboxes are exported too
    report = document(deployment, "exits/exit-protected/report.json")
    assert report["organizationDeleted"] is False and "2 user(s) remain" in report["organizationKept"]
    assert deployment.emu.calls["workmail.DeleteOrganization"] == 0


def test_a_second_exit_of_the_same_organization_is_answered_with_the_one_in_flight(deployment, org):
    first = exit_request(deployment, org, requestId="exit-one")
    second = exit_request(deployment, org, requestId="exit-two")
    assert second["status"] == "already-running" and second["requestId"] == "exit-one"
    assert exit_request(deployment, org, requestId="exit-one")["status"] == "duplicate"
    gate(deployment, first["execution"], "workmail.exit-cutover")


def test_the_kill_switch_halts_the_exit_between_steps_and_the_same_request_resumes_it(deployment, org):
    before = {d: zone_records(deployment, d) for d in DOMAINS}
    started = exit_request(deployment, org, requestId="exit-halt")
    cutover = gate(deployment, started["execution"], "workmail.exit-cutover")
    deployment.kill_switch(True)
    decide(deployment, cutover)  # approved, but the switch is on when the cut-over step starts
    done = deployment.finished(started["execution"], timeout=60)
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ExitStopped"
    assert {d: zone_records(deployment, d) for d in DOMAINS} == before
    assert document(deployment, "exits/exit-halt/report.json")["outcome"] == "halted"
    deployment.kill_switch(False)
    again = exit_request(deployment, org, requestId="exit-halt")
    # the cut-over approval given before stands: the re-run writes the DNS and asks only for the deletion
    delete = gate(deployment, again["execution"], "workmail.exit-delete")
    assert zone_records(deployment, DOMAINS[0])[(DOMAINS[0], "MX")][0] == "10 mx1.newmail.example.org"
    assert not [
        m
        for m in deployment.inbox(next(iter(deployment.approvers)))
        if m["executionArn"] == again["execution"] and "workmail.exit-cutover" in json.dumps(m)
    ]
    decide(deployment, delete)
    assert deployment.finished(again["execution"], timeout=120)["status"] == "SUCCEEDED"
