"""The organization exit through its real trigger (the WorkMail request on the bus), on the emulator
with the synthesized stack's IAM: inventory, exports verified, approved DNS cut-over, soak, approved
deletion; the dry run, a failed verification, a DNS conflict, a rollback, crashes and protection."""

from __future__ import annotations

import json

import pytest

from local.deployment import LocalDeployment
from tests.approval_support import decide
from tests.exit_support import DOMAINS, document, exit_request, gate, globex, phases, zone_records
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
