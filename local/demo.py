"""``make demo``: seed a realistic estate on the emulator and drive Mailwarden from its real
triggers, printing a timeline (virtual time) and a summary table.

Run: ``python -m local.demo`` (``make demo`` installs first). Each capability adds its scenario
to ``SCENARIOS``; every scenario returns figures that the summary table shows and that
``tests/scenarios`` asserts.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
import yaml
from mailwarden.aws import clients
from mailwarden.cli.render import words
from mailwarden.cli.target import function_logs_to

from local.deployment import REPO_POLICY, LocalDeployment
from local.dns_automation import publish_dkim
from local.emulator import Emulator, emulated_aws


@dataclass
class Demo:
    emu: Emulator
    deployment: LocalDeployment
    say: Callable[[str], None]
    figures: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    shown: int = 0  # published events already shown
    shown_partner: int = 0  # Partner Connection Preferences events already shown

    def __post_init__(self) -> None:
        self.started = self.emu.clock.time()

    def log(self, text: str) -> None:
        elapsed = int(self.emu.clock.time() - self.started)
        self.say(f"  [T+{elapsed // 3600:02d}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}] {text}")

    def deliver(self) -> None:
        for d in self.deployment.deliver():
            detail = d.result.get("observations") or [d.result.get("reason")]
            for line in detail:
                self.log(f"    {d.rule} -> {d.function}: {d.result['status']}: {line}")


ESTATE = [  # tenant name, managed policy tier
    ("acme-marketing", "standard"),
    ("acme-transactional", "strict"),
    ("acme-newsletters", "standard"),
    ("globex-billing", "strict"),
    ("globex-alerts", "none"),
    ("initech-sales", "standard"),
    ("initech-support", "standard"),
    ("umbrella-notify", "strict"),
]


def seed(demo: Demo) -> dict[str, str]:
    """Tenants with identities attached, and a WorkMail organization (for the later capabilities)."""
    ses = clients.client("sesv2")  # paced at SES's 1 request/second, like Mailwarden itself
    arns = {}
    for name, tier in ESTATE:
        arns[name] = ses.create_tenant(TenantName=name, Tags=[{"Key": "owner", "Value": name.split("-")[0]}])[
            "TenantArn"
        ]
        demo.emu.control.set_policy(arns[name], tier)
        domain = f"{name.replace('-', '.')}.example.com"
        ses.create_email_identity(EmailIdentity=domain)
        ses.create_tenant_resource_association(
            TenantName=name, ResourceArn=f"arn:aws:ses:us-east-1:123456789012:identity/{domain}"
        )
    org = demo.emu.control.add_organization("acme-corp", "acme.example.com")
    wm = boto3.client("workmail")
    for person in ("alice", "bob", "carol", "dave"):
        uid = wm.create_user(OrganizationId=org, Name=person, DisplayName=person.title())["UserId"]
        wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email=f"{person}@acme.example.com")
    demo.log(
        f"seeded {len(arns)} SES tenants (standard/strict/none policies), {len(arns)} identities, "
        f"WorkMail org {org} with 4 users"
    )
    return arns


def scenario_plumbing(demo: Demo) -> None:
    """Foundation: SES findings become aws.ses events, routed by the shared rule patterns to the
    ses_events handler, which reads the entity and publishes an explained observation."""
    arns = seed(demo)
    target = arns["acme-marketing"]
    demo.log("SES raises a HIGH-impact BOUNCE finding on acme-marketing (standard policy pauses sending)")
    demo.emu.control.raise_finding(
        target, "BOUNCE", "HIGH", "The bounce rate exceeded 15.0% based on the last 197 emails sent."
    )
    demo.deliver()
    demo.emu.clock.advance(3600)
    demo.log("A LOW-impact DMARC finding on globex-billing (strict policy pauses on any finding)")
    demo.emu.control.raise_finding(arns["globex-billing"], "DMARC", "LOW")
    demo.deliver()
    demo.emu.clock.advance(600)
    demo.log("A malformed event arrives (status record timestamp is not SES's integer array)")
    demo.deployment.put_event(
        "aws.ses",
        "Sending Status Disabled",
        {
            "version": "1.0.0",
            "data": {"origin": "AWS_MANAGED", "record": {"status": "DISABLED", "lastUpdatedTimestamp": "now"}},
        },
        resources=[target],
    )
    demo.deliver()
    dead = demo.deployment.dead_letters()
    for d in dead:
        demo.log(f"    DLQ <- {d['function']}: {d['reason']}")
    demo.emu.clock.advance(36 * 3600)
    demo.log("36 h later the bounce rate is back to normal: SES resolves the finding")
    demo.emu.control.resolve_finding(target, "BOUNCE")
    demo.deliver()
    demo.figures.update(
        tenants=len(arns),
        aws_ses_events=len(demo.emu.control.emitted) + sum(src == "aws.ses" for src, _ in demo.deployment.sent),
        handler_runs=len(demo.deployment.deliveries),
        observations_published=sum(
            1 for p in demo.deployment.published if p["detail-type"] == "Reputation Signal Observed"
        ),
        dead_lettered=len(dead),
    )


def scenario_approvals(demo: Demo) -> None:
    """Approvals: a workflow waits at its approval gate (Step Functions waitForTaskToken); each
    approver gets a message with signed links; a mail scanner's GET decides nothing; a tampered
    link is refused; the approver's POST resumes the workflow; a second request times out."""
    d = demo.deployment
    request = {
        "action": "reputation.reinstate",
        "subject": "acme-marketing",
        "summary": "Set acme-marketing's customer-managed status to REINSTATED so it can send again.",
        "reason": "The BOUNCE finding has been FIXED for 36 h.",
        "requester": "reputation-guard",
        "plan": ["UpdateReputationEntityCustomerManagedStatus acme-marketing: DISABLED -> REINSTATED"],
    }
    arn = d.start("approval-check", {"approvalRequest": request}, name="reinstate-acme-marketing")
    approver = d.approvers[0]
    mail = d.wait_until(lambda: d.inbox(approver), "the approval message")[-1]
    demo.log(f"Workflow waits at its approval gate; {len(d.approvers)} approvers mailed. {approver} reads:")
    for line in mail["text"].splitlines()[:9]:
        demo.log(f"    | {line}")
    demo.log(f"    | Approve: {mail['links']['approve'][:86]}...")
    demo.emu.clock.advance(300)
    page = d.http("GET", mail["links"]["approve"], user_agent="SafeLinks-Scanner/1.0")
    demo.log(
        f"A mail scanner prefetches the link: HTTP {page.status}, a confirmation page; "
        f"workflow still {d.execution(arn)['status']}"
    )
    base, query = mail["links"]["approve"].split("?", 1)
    fields = dict(pair.split("=", 1) for pair in query.split("&"))
    tampered = {**fields, "approver": "mallory%40example.net"}
    forged = d.http("POST", base, {k: v.replace("%40", "@") for k, v in tampered.items()})
    demo.log(f"Someone edits the link to approve as mallory: HTTP {forged.status}, refused and audited")
    demo.emu.clock.advance(1200)
    decided = d.http("POST", base, {**{k: v.replace("%40", "@") for k, v in fields.items()}, "comment": "ok"})
    done = d.finished(arn)
    demo.log(f"{approver} presses Approve: HTTP {decided.status}; the workflow resumes: {done['status']}")
    replay = d.http("POST", base, {k: v.replace("%40", "@") for k, v in fields.items()})
    demo.log(f"The same link again: HTTP {replay.status} ({replay.body.split('<p>')[-1].split('</p>')[0]})")
    second = d.start(
        "approval-check", {"approvalRequest": {**request, "subject": "globex-billing"}}, name="reinstate-globex"
    )
    d.wait_until(lambda: len(d.inbox(approver)) > 1, "the second approval message")
    demo.emu.clock.advance(72 * 3600 + 1)
    timed_out = d.finished(second)
    demo.log(f"A request for globex-billing gets no answer; 72 h later: {timed_out['status']} ({timed_out['error']})")
    d.deliver()
    kinds = Counter(e["detail-type"] for e in d.published if e["detail-type"].startswith("Approval"))
    for kind, n in sorted(kinds.items()):
        demo.log(f"    mailwarden event: {kind} x{n}")
    demo.figures.update(
        approvals_requested=kinds["Approval Requested"],
        approvals_granted=kinds["Approval Decided"],
        approvals_expired=kinds["Approval Expired"],
        approval_attempts_refused=kinds["Approval Attempt Refused"],
        approval_http={
            "scanner_get": page.status,
            "forged": forged.status,
            "approve": decided.status,
            "replay": replay.status,
        },
    )


def scenario_reputation(demo: Demo) -> None:
    """Reputation guard: a finding disables a tenant (once, however often the event arrives); the
    resolution is followed by a human approval and a reinstatement; a scheduled reconcile catches
    an event SES never delivered."""
    d, control = demo.deployment, demo.emu.control
    arns = _tenant_arns(demo)
    d.set_policy(REPO_POLICY.read_text().replace("mode: plan", "mode: apply"))
    demo.log("The operator switches the policy from plan (the default) to apply")
    target = arns["initech-sales"]
    demo.log("SES raises a HIGH-impact COMPLAINT finding on initech-sales")
    control.raise_finding(target, "COMPLAINT", "HIGH", "The complaint rate exceeded 0.5%.")
    deliveries = d.deliver()
    _show_actions(demo, deliveries)
    disabled_by_event = control.entity(target).customer.status == "DISABLED"
    opened = next(x.event for x in deliveries if x.event["detail-type"].endswith("Open"))
    updates = demo.emu.calls["sesv2.UpdateReputationEntityCustomerManagedStatus"]
    for _ in range(100):
        d.invoke("ses_events", opened)
    duplicates = demo.emu.calls["sesv2.UpdateReputationEntityCustomerManagedStatus"] - updates
    demo.log(f"EventBridge delivers the same event 100 more times: {duplicates} more updates (idempotent on its id)")
    demo.emu.clock.advance(6 * 3600)
    demo.log("6 h later the complaint rate is back to normal: SES resolves the finding")
    control.resolve_finding(target, "COMPLAINT")
    _show_actions(demo, d.deliver())
    demo.emu.clock.advance(25 * 3600)
    demo.log("25 h later the scheduled reconcile runs (ListReputationEntities + ListRecommendations -> policy)")
    result = _reconcile(demo)
    executions = demo.emu.client("stepfunctions").list_executions(
        stateMachineArn=d.state_machines["reputation-reinstate"]
    )["executions"]
    approver = d.approvers[0]
    execution = executions[0]["executionArn"]
    mail = d.wait_until(lambda: [m for m in d.inbox(approver) if m["executionArn"] == execution], "mail")[-1]
    d.wait_until(lambda: d.waiting(execution), "the reinstate workflow to wait")
    demo.log(f"{approver} is asked: {mail['summary']}")
    base, query = mail["links"]["approve"].split("?", 1)
    fields = {k: v.replace("%40", "@") for k, v in (pair.split("=", 1) for pair in query.split("&"))}
    demo.emu.clock.advance(1800)
    status = d.http("POST", base, fields).status
    done = d.finished(execution)
    entity = control.entity(target)
    demo.log(
        f"{approver} approves (HTTP {status}); the workflow re-checks and writes: {done['status']}; initech-sales "
        f"customer-managed {entity.customer.status}, aggregate {entity.aggregate}"
    )
    lost = arns["umbrella-notify"]
    control.emit_events = False
    demo.log("SES raises a HIGH BOUNCE finding on umbrella-notify, but the event is lost (best effort)")
    control.raise_finding(lost, "BOUNCE", "HIGH")
    control.emit_events = True
    demo.emu.clock.advance(3600)
    caught = _reconcile(demo)
    demo.log(f"The next scheduled reconcile catches it: umbrella-notify is {control.entity(lost).customer.status}")
    demo.figures.update(
        disabled_by_event=int(disabled_by_event),
        duplicate_deliveries=100,
        updates_from_duplicates=duplicates,
        reinstated_after_approval=int(entity.customer.status == "ENABLED" and done["status"] == "SUCCEEDED"),
        caught_by_reconcile=int(control.entity(lost).customer.status == "DISABLED"),
        reconcile_runs={"first": result["counts"], "second": caught["counts"]},
    )


def _tenant_arns(demo: Demo) -> dict[str, str]:
    return {t.name: t.arn for t in demo.emu.sesv2.tenants.values()}


def _reconcile(demo: Demo) -> dict[str, Any]:
    d = demo.deployment
    started = d.tick()
    done = d.finished(started["execution"])
    result: dict[str, Any] = json.loads(done["output"])["run"]["result"]
    demo.log(f"    run {result['runId'][:22]}...: {result['entities']} entities, {words(result['counts'])}")
    _show_actions(demo, d.deliver())
    return result


def _show_actions(demo: Demo, deliveries: list[Any]) -> None:
    for x in deliveries:
        for a in (x.result or {}).get("actions", []):
            demo.log(f"    {x.function}: {a['outcome']}: {a['line']}")
    for e in demo.deployment.published[demo.shown :]:
        if e["detail-type"] == "Reputation Action" and "run" in e["detail"]:
            demo.log(f"    reconcile: {e['detail']['outcome']}: {e['detail']['line']}")
    demo.shown = len(demo.deployment.published)


def _approve(demo: Demo, arn: str) -> int:
    """The first approver presses Approve in the mail for execution ``arn`` (the page's POST)."""
    d = demo.deployment
    status = d.approve_by_link(arn)
    subject = next(m["subject"] for m in d.inbox(d.approvers[0]) if m["executionArn"] == arn)
    demo.log(f"{d.approvers[0]} was asked: {subject}")
    return status


def _workmail_org(demo: Demo, alias: str, users: int) -> tuple[str, Any, dict[str, str]]:
    org = demo.emu.control.add_organization(alias, f"{alias}.example.com")
    ids = demo.emu.control.add_users(org, *[f"user{i:02d}" for i in range(users)], "administrator")
    return org, demo.emu.client("workmail"), ids


def scenario_workmail(demo: Demo) -> None:
    """WorkMail offboarding: an HR event offboards a leaver (snapshot, export to S3 with KMS, strip
    groups/grants/delegations, deregister), a human approves the deletion; a protected account is
    refused; then a small organization is decommissioned 10 users at a time after one approval."""
    from mailwarden.contracts.names import IDENTITY_SOURCE, OperatorDetailType

    d = demo.deployment
    org, wm, ids = _workmail_org(demo, "globex", 3)
    leaver = "user00@globex.example.com"
    for group in ("sales", "all-staff"):
        gid = wm.create_group(OrganizationId=org, Name=group)["GroupId"]
        wm.associate_member_to_group(OrganizationId=org, GroupId=gid, MemberId=ids["user00"])
    room = wm.create_resource(OrganizationId=org, Name="board-room", Type="ROOM")["ResourceId"]
    wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=room, EntityId=ids["user00"])
    wm.put_mailbox_permissions(
        OrganizationId=org, EntityId=ids["user00"], GranteeId=ids["user01"], PermissionValues=["FULL_ACCESS"]
    )
    base = {"organizationId": org, "requestedBy": "hr-system@globex.example.com", "reason": "leaver: last day today"}

    def ask(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        return dict(d.request(IDENTITY_SOURCE, detail_type, detail, "workmail_trigger")[0])

    before = Counter(k for k in demo.emu.calls.elements() if k.startswith("workmail."))
    plan = ask(OperatorDetailType.OFFBOARD_REQUESTED, {**base, "user": leaver, "dryRun": True})
    demo.log(f"Dry run for {leaver}: {len(plan['plan'])} steps, nothing changed:")
    for step in plan["plan"]:
        demo.log(f"    {step['step']:<10} {step['action']}")
    refused = ask(OperatorDetailType.OFFBOARD_REQUESTED, {**base, "user": "administrator"})
    demo.log(f"Request to offboard 'administrator': {refused['status']}: {refused['reason']}")
    started = ask(OperatorDetailType.OFFBOARD_REQUESTED, {**base, "user": leaver, "export": True})
    arn = started["execution"]
    # HR's system retries the same leaver without a requestId (a timeout on its side): no second
    # offboarding, no second approval mail; the answer names the one running.
    again = ask(OperatorDetailType.OFFBOARD_REQUESTED, {**base, "user": leaver, "export": True})
    demo.log(
        f"The same leaver sent again: {again['status']}, answered with the running offboarding "
        f"({again['requestId']}, {'the same' if again.get('execution') == arn else 'another'} workflow)"
    )
    d.wait_until(lambda: d.waiting(arn), "the deletion approval")
    state = wm.describe_user(OrganizationId=org, UserId=ids["user00"])["State"]
    archive: dict[str, Any] = next(
        iter(d.emu.client("s3").list_objects_v2(Bucket=d.export_bucket).get("Contents", [])), {}
    )
    demo.log(f"Exported to s3://{d.export_bucket}/{archive.get('Key')} (KMS); stripped; now {state}")
    status = _approve(demo, arn)
    done = d.finished(arn)
    state = wm.describe_user(OrganizationId=org, UserId=ids["user00"])["State"]
    demo.log(f"Approved (HTTP {status}): workflow {done['status']}, user {state}")
    calls = Counter(k for k in demo.emu.calls.elements() if k.startswith("workmail.")) - before
    demo.log("WorkMail calls for this offboarding: " + ", ".join(f"{k[9:]}={v}" for k, v in sorted(calls.items())))

    small, wm2, users = _workmail_org(demo, "hooli", 15)
    detail = {"organizationId": small, "requestedBy": "it@hooli.example.com", "reason": "WorkMail ends 2027-03-31"}
    plan = ask(OperatorDetailType.DECOMMISSION_REQUESTED, {**detail, "dryRun": True})["plan"]
    demo.log(
        f"Decommission dry run for hooli: {plan['offboard']} users to offboard, kept: "
        + ", ".join(f"{k['user']} ({k['why']})" for k in plan["kept"])
    )
    started = ask(OperatorDetailType.DECOMMISSION_REQUESTED, detail)
    status = _approve(demo, started["execution"])
    t0 = demo.emu.clock.time()
    done = d.finished(started["execution"], timeout=120)
    summary = json.loads(done["output"])["summary"]["result"]
    peak = demo.emu.control.max_concurrent_exports(small)
    left = [n for n, u in users.items() if wm2.describe_user(OrganizationId=small, UserId=u)["State"] != "DELETED"]
    demo.log(
        f"Batch approved (HTTP {status}): {words(summary['outcomes'])} in "
        f"{int(demo.emu.clock.time() - t0)} s simulated, "
        f"at most {peak} exports at once; still there: {words(left)}"
    )
    demo.figures.update(
        offboarded_after_approval=int(state == "DELETED"),
        offboarding_refused=int(refused["status"] == "rejected"),
        resent_leaver_answered_with_running=int(again["status"] == "already-running" and again["execution"] == arn),
        decommission_deleted=summary["outcomes"].get("deleted", 0),
        decommission_max_concurrent_exports=peak,
    )


def scenario_mail_from(demo: Demo) -> None:
    """MAIL FROM: a PUT through the API (bearer JWT), the records it publishes in Route 53 (merged
    into an existing SPF record), the watcher seeing SES turn SUCCESS; a CNAME conflict refused."""
    d = demo.deployment
    r53 = d.emu.client("route53")
    ses = d.emu.client("sesv2")
    ses.create_email_identity(EmailIdentity="initech.example")
    zone = r53.create_hosted_zone(Name="initech.example", CallerReference="demo")["HostedZone"]["Id"]
    verification = ses.get_email_identity(EmailIdentity="initech.example")["VerificationStatus"]
    publish_dkim(ses, r53, "initech.example")
    demo.log(f"New SES identity initech.example ({verification}); the DNS automation publishes its 3 DKIM CNAMEs")
    existing = {"Name": "bounce.initech.example", "Type": "TXT", "TTL": 300}
    existing["ResourceRecords"] = [{"Value": '"v=spf1 include:_spf.google.com -all"'}, {"Value": '"site=42"'}]
    conflict = {"Name": "mail.initech.example", "Type": "CNAME", "TTL": 300}
    conflict["ResourceRecords"] = [{"Value": "mailhost.example.net"}]
    changes = [{"Action": "CREATE", "ResourceRecordSet": rs} for rs in (existing, conflict)]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
    demo.emu.clock.advance(1)
    before = Counter(demo.emu.calls)
    body = {"identity": "initech.example", "mailFromDomain": "bounce.initech.example"}
    resp = d.api("PUT", "/mail-from-attributes", body)
    shown = resp.json()
    demo.log(
        f"PUT /mail-from-attributes -> HTTP {resp.status}: {shown.get('mailFromDomain')} "
        f"({shown.get('mailFromDomainStatus')}), MX {shown.get('mxRecord')!s}, SPF {shown.get('txtRecord')!s}"
    )
    where = f"{resp.headers.get('Mailwarden-Dns-Publication')} in {resp.headers.get('Mailwarden-Hosted-Zone')}"
    demo.log(f"    Route 53: {where}")
    for rs in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]:
        if rs["Name"] == "bounce.initech.example.":
            demo.log(f"    {rs['Name']} {rs['Type']} " + " | ".join(r["Value"] for r in rs["ResourceRecords"]))
    calls = Counter(demo.emu.calls) - before
    writes = calls["sesv2.PutEmailIdentityMailFromAttributes"] + calls["route-53.ChangeResourceRecordSets"]
    refused = d.api("PUT", "/mail-from-attributes", {**body, "mailFromDomain": "mail.initech.example"})
    demo.log(
        f"PUT mail.initech.example (a CNAME) -> HTTP {refused.status}: {refused.json()['causes'][0]['text'][:90]}..."
    )
    unauthorized = d.api("PUT", "/mail-from-attributes", body, token=None)
    demo.log(f"PUT without a token -> HTTP {unauthorized.status}: {unauthorized.json().get('error')}")
    status = "PENDING"
    for _ in range(8):
        demo.emu.clock.advance(15 * 60)
        d.tick("mail-from-watch")
        for change in d.events_of("MAIL FROM Status Changed"):
            demo.log(f"    watcher: {change['identity']} {change['before']} -> {change['after']}")
        status = d.api("GET", "/mail-from-attributes/initech.example").json()["mailFromDomainStatus"]
        if status == "SUCCESS":
            break
    verification = ses.get_email_identity(EmailIdentity="initech.example")["VerificationStatus"]
    demo.log(f"GET /mail-from-attributes/initech.example -> {status} (identity {verification})")
    demo.figures.update(
        mail_from_status=status,
        mail_from_writes_per_put=writes,
        mail_from_conflict_http=refused.status,
        mail_from_unauthorized_http=unauthorized.status,
    )


def _partner_policy(catalogs: dict[str, Any]) -> str:
    """The repository's policy with a partner section managing ``catalogs`` in apply mode."""
    data = yaml.safe_load(REPO_POLICY.read_text())
    data["partner"] = {"mode": "apply", "requireApproval": "widening", "catalogs": catalogs}
    return json.dumps(data)


def scenario_partner(demo: Demo) -> None:
    """Partner Central: drift detected and corrected (narrowing, directly), a run in sync that writes
    nothing, another writer winning the race twice, and a widening applied only after approval."""
    d = demo.deployment
    pc = demo.emu.partnercentral
    some = "ALLOW_BY_DEFAULT_DENY_SOME"
    d.set_policy(
        _partner_policy(
            {
                "AWS": {"accessType": some, "excludedParticipantIds": ["competitor-1", "competitor-2"]},
                "Sandbox": {"accessType": "DENY_ALL"},
            }
        )
    )

    def shown(catalog: str) -> str:
        p = pc.prefs[catalog]
        excluded = f" excluding {words(sorted(p.excluded))}" if p.excluded else ""
        return f"{p.access_type}{excluded} (revision {p.revision})"

    def tick() -> dict[str, Any]:
        demo.emu.clock.advance(3600)
        out = d.tick("partner-reconcile")["catalogs"]
        for event in d.events_of("Partner Connection Preferences")[demo.shown_partner :]:
            demo.shown_partner += 1
            demo.log(f"    {event['catalog']}: {event['outcome']}: {event['reason']}")
        return dict(out)

    demo.log(f"Partner Central now: AWS {shown('AWS')}, Sandbox {shown('Sandbox')}")
    first = tick()
    corrected = sum(r["outcome"] == "applied" for r in first.values())
    demo.log(f"after the hourly reconcile: AWS {shown('AWS')}, Sandbox {shown('Sandbox')}")
    before = demo.emu.calls["partnercentral-account.UpdateConnectionPreferences"]
    in_sync = tick()
    writes_in_sync = demo.emu.calls["partnercentral-account.UpdateConnectionPreferences"] - before
    outcomes = ", ".join(f"{c} {r['outcome']}" for c, r in in_sync.items())
    demo.log(f"next run: {outcomes}, {writes_in_sync} writes")
    demo.emu.control.other_writer("AWS", some, ["competitor-1"])
    demo.log(f"someone lets competitor-2 back in from the console: AWS {shown('AWS')}")
    demo.emu.control.race_partner_writer(times=2)  # and another tool keeps bumping the Revision
    raced = tick()["AWS"]
    demo.log(f"corrected after {raced['conflicts']} conflicts (re-read, re-planned): AWS {shown('AWS')}")
    d.set_policy(
        _partner_policy(
            {
                "AWS": {"accessType": some, "excludedParticipantIds": ["competitor-1", "competitor-2"]},
                "Sandbox": {"accessType": "ALLOW_ALL"},
            }
        )
    )
    demo.log("the policy opens the Sandbox catalog to everyone (widening)")
    asked = tick()["Sandbox"]
    status = _approve(demo, asked["execution"])
    d.finished(asked["execution"])
    tick()
    demo.log(f"approver pressed Approve (HTTP {status}): Sandbox {shown('Sandbox')}")
    demo.figures.update(
        partner_drift_corrected=corrected,
        partner_writes_when_in_sync=writes_in_sync,
        partner_conflicts_retried=raced["conflicts"],
        partner_widening_after_approval=int(pc.prefs["Sandbox"].access_type == "ALLOW_ALL"),
    )


def _cli(
    demo: Demo, *argv: str, stdin: str = "", shown: int = 12, errors: bool = True, seen: set[str] | None = None
) -> int:
    """``mailwarden <argv>`` against this deployment, its output shown (``shown`` lines; stderr too
    unless ``errors`` is False; not the lines in ``seen``, which gets the ones shown); returns the exit code."""
    import io

    from mailwarden.cli import main
    from mailwarden.cli.target import LocalTarget

    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--as", "demo-operator", *argv],
        target=LocalTarget(demo.deployment),
        out=out,
        err=err,
        stdin=io.StringIO(stdin),
    )
    demo.log(f"$ mailwarden {' '.join(argv)}   (exit {code})")
    lines = (out.getvalue() + (err.getvalue() if errors else "")).splitlines()
    for line in [x for x in lines if seen is None or x not in seen][:shown]:
        demo.say(f"      {line}")
    if seen is not None:
        seen.update(lines)
    return code


EXIT_TARGETS = """version: 1
domains:
  initrode.example.com:
    mx: ["10 mx1.newmail.example.net", "20 mx2.newmail.example.net"]
    spfInclude: ["spf.newmail.example.net"]
    autodiscover: autodiscover.newmail.example.net
    records:
      - {name: nm1._domainkey, type: CNAME, value: nm1.dkim.newmail.example.net}
"""


def scenario_exit(demo: Demo) -> None:
    """WorkMail's end of support: a small organization moved out with ``mailwarden exit-org``: the dry
    run's plan, every mailbox exported and verified, the DNS diff approved and written (INSYNC), a
    soak of virtual days, the deletion approved, the organization deleted, the summary."""
    d = demo.deployment
    control = demo.emu.control
    org = control.add_organization("initrode", "initrode.example.com")
    users = control.add_users(org, "ann", "ben", "cid")
    wm = demo.emu.client("workmail")
    group = wm.create_group(OrganizationId=org, Name="team")["GroupId"]
    for uid in users.values():
        wm.associate_member_to_group(OrganizationId=org, GroupId=group, MemberId=uid)
    for uid, mb in zip(users.values(), (40.0, 12.5, 3.0), strict=True):
        control.set_mailbox_size(org, uid, mb)
    r53 = demo.emu.client("route53")
    zone = r53.create_hosted_zone(Name="initrode.example.com", CallerReference="demo-exit")["HostedZone"]["Id"]
    control.publish_mail_domain(org, "initrode.example.com", zone.rsplit("/", 1)[-1])
    demo.log(f"WorkMail organization initrode ({org}): 3 users, a group, its domain's MX/SPF/autodiscover in Route 53")
    before = Counter(demo.emu.calls)
    command = ("exit-org", org, "--target-records", "-", "--reason", "WorkMail ends 2027-03-31")
    codes = {"dry run": _cli(demo, *command, "--dry-run", stdin=EXIT_TARGETS, errors=False)}
    dry_writes = sum(
        n for op, n in (Counter(demo.emu.calls) - before).items()
        if op.startswith(("workmail.", "route-53.")) and not op.split(".")[1].startswith(("List", "Get", "Describe"))
    )  # fmt: skip
    demo.log(f"    the dry run wrote {dry_writes} WorkMail or Route 53 changes")
    seen: set[str] = set()  # each run of the command shows where the exit is; the demo shows what is new
    codes["run"] = _cli(demo, *command, stdin=EXIT_TARGETS, shown=40, errors=False, seen=seen)
    codes["approve cut-over"] = _cli(demo, "decide", "oldest", "approve")
    t0 = demo.emu.clock.time()
    codes["followed after the cut-over"] = _cli(demo, *command, stdin=EXIT_TARGETS, shown=40, errors=False, seen=seen)
    demo.log(f"    {(demo.emu.clock.time() - t0) / 86400:.1f} virtual days passed (cut-over, INSYNC, the soak)")
    codes["approve deletion"] = _cli(demo, "decide", "oldest", "approve")
    codes["followed to the end"] = _cli(demo, *command, stdin=EXIT_TARGETS, shown=40, errors=False, seen=seen)
    exit_id = f"exit-{org}"
    objects = d.emu.client("s3")

    def document(name: str) -> Any:
        return json.loads(objects.get_object(Bucket=d.export_bucket, Key=f"exits/{exit_id}/{name}")["Body"].read())

    manifest, report = document("manifest.json"), document("report.json")
    calls = Counter(demo.emu.calls) - before
    demo.figures.update(
        exit_dry_run_writes=dry_writes,
        exit_mailboxes_verified=manifest["verified"],
        exit_mailboxes_unverified=manifest["unverified"],
        exit_dns_changebatches=calls["route-53.ChangeResourceRecordSets"],  # one per hosted zone
        exit_cli_codes=codes,
        exit_org_deleted=int(wm.describe_organization(OrganizationId=org)["State"] == "Deleted"),
        exit_incomplete=len(report["incomplete"]),
    )


def scenario_operations(demo: Demo) -> None:
    """Operating it: the CLI (plan, kill switch drill, audit, approvals) and the health census the
    dashboard and the alarms read."""
    d = demo.deployment
    codes = {"plan reputation": _cli(demo, "plan", "reputation", "--detailed-exitcode")}
    codes["approvals list"] = _cli(demo, "approvals", "list")
    codes["kill-switch on"] = _cli(demo, "kill-switch", "on", "--reason", "demo drill")
    demo.emu.clock.advance(11)  # functions cache the switch for up to 10 seconds
    census = d.tick("health-metrics")
    demo.log(f"health census (dashboard, KillSwitchOn alarm): {words(census)}")
    codes["status (switch on)"] = _cli(demo, "status")
    codes["apply partner (switch on)"] = _cli(demo, "apply", "partner", "--yes")
    codes["kill-switch off"] = _cli(demo, "kill-switch", "off", "--reason", "drill over")
    codes["audit kill-switch"] = _cli(demo, "audit", "kill-switch")
    records = d.emu.client("dynamodb").query(
        TableName=d.tables["audit"],
        KeyConditionExpression="subject = :s",
        ExpressionAttributeValues={":s": {"S": "kill-switch"}},
    )["Items"]
    demo.figures.update(
        cli_exit_codes=codes,
        census_saw_kill_switch=census["killSwitchEngaged"],
        cli_kill_switch_audit_records=len(records),
    )


SCENARIOS: list[tuple[str, str, Callable[[Demo], None]]] = [
    ("plumbing", "Plumbing: SES finding -> EventBridge rule -> ses_events -> observation", scenario_plumbing),
    ("approvals", "Approvals: request over SNS, signed link, confirm page, POST decides, timeout", scenario_approvals),
    (
        "reputation",
        "Reputation guard: finding disables, approval reinstates, reconcile catches a lost event",
        scenario_reputation,
    ),
    (
        "workmail",
        "WorkMail offboarding: export, strip, deregister, approve, delete; an organization decommission",
        scenario_workmail,
    ),
    (
        "exit",
        "WorkMail organization exit: plan, verified exports, approved DNS cut-over, soak, approved deletion",
        scenario_exit,
    ),
    ("mail_from", "MAIL FROM: PUT via the API, records in Route 53, the watcher sees SUCCESS", scenario_mail_from),
    (
        "partner",
        "Partner Central: drift detected and corrected, conflicts retried, widening after approval",
        scenario_partner,
    ),
    ("operations", "Operations: the mailwarden CLI and the health census behind the alarms", scenario_operations),
]


def run(say: Callable[[str], None] = print) -> dict[str, Any]:
    """Runs every scenario; ``say`` gets each line. What the functions print (their logs, EMF
    metrics, library warnings: CloudWatch Logs in AWS) goes nowhere, as for ``mailwarden --local``."""
    started = time.perf_counter()
    if say is print:
        terminal = sys.stdout
        say = lambda line: print(line, file=terminal)  # noqa: E731 -- the terminal, not the functions' stdout
    with open(os.devnull, "w") as sink, function_logs_to(sink), warnings.catch_warnings(), emulated_aws() as emu:
        # Powertools warns at every invocation that flushes no metric (metrics are off here)
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        demo = Demo(emu, LocalDeployment(emu), say)
        per_scenario: dict[str, dict[str, int]] = {}
        for key, title, scenario in SCENARIOS:
            say(f"\n== {title}")
            before = Counter(emu.calls)
            scenario(demo)
            calls: Counter[str] = Counter()
            for op, n in (Counter(emu.calls) - before).items():  # not the emulator's or harness's own
                calls[op.split(".")[0]] += n
            per_scenario[key] = dict(sorted(calls.items()))
        demo.figures["virtual_hours"] = round((emu.clock.time() - demo.started) / 3600, 1)
        demo.figures["aws_calls"] = per_scenario
        # every platform limit was enforced all along (README "Platform limits the emulator enforces")
        stats = emu.stepfunctions.stats().values()
        demo.figures["platform"] = {
            "iam_denied_calls": len(demo.deployment.access.denials),
            "lambda_timeouts": sum(i.stopped for i in demo.deployment.invocations),
            "async_failures": len(demo.deployment.async_failures),
            "max_history_events": max((v["events"] for v in stats), default=0),
            "max_state_bytes": max((v["max_state_bytes"] for v in stats), default=0),
        }
    demo.figures["wall_seconds"] = round(time.perf_counter() - started, 2)
    say("\n== Summary")
    width = max(len(k) for k in demo.figures) + 12
    for key, value in demo.figures.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            for sub, inner in value.items():
                say(f"  {key + '.' + sub:<{width}}  " + ", ".join(f"{k}={v}" for k, v in inner.items()))
            continue
        shown = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        say(f"  {key:<{width}}  {shown}")
    return demo.figures


# What `make demo` checks before it exits 0 (a path into the figures -> the expected value).
EXPECTED: dict[str, Any] = {
    "dead_lettered": 1,
    "observations_published": 6,
    "approvals_granted": 1,
    "approvals_expired": 1,
    "updates_from_duplicates": 0,
    "reinstated_after_approval": 1,
    "caught_by_reconcile": 1,
    "offboarded_after_approval": 1,
    "offboarding_refused": 1,
    "resent_leaver_answered_with_running": 1,
    "decommission_deleted": 15,
    "decommission_max_concurrent_exports": 10,
    "mail_from_status": "SUCCESS",
    "mail_from_writes_per_put": 2,
    "mail_from_conflict_http": 400,
    "mail_from_unauthorized_http": 401,
    "partner_drift_corrected": 2,
    "partner_writes_when_in_sync": 0,
    "partner_conflicts_retried": 2,
    "partner_widening_after_approval": 1,
    "exit_dry_run_writes": 0,
    "exit_mailboxes_verified": 3,
    "exit_mailboxes_unverified": 0,
    "exit_dns_changebatches": 1,
    "exit_org_deleted": 1,
    "exit_incomplete": 0,
    "exit_cli_codes/dry run": 0,
    "exit_cli_codes/run": 4,
    "exit_cli_codes/followed after the cut-over": 4,
    "exit_cli_codes/followed to the end": 0,
    "census_saw_kill_switch": True,
    "cli_kill_switch_audit_records": 2,
    "cli_exit_codes/apply partner (switch on)": 5,
    "cli_exit_codes/kill-switch on": 0,
    "platform/iam_denied_calls": 0,
    "platform/lambda_timeouts": 0,
    "platform/async_failures": 0,
}


def unmet(figures: dict[str, Any]) -> list[str]:
    """The checks the figures fail, each saying what was expected and what the run measured."""
    problems = []
    for path, expected in EXPECTED.items():
        value: Any = figures
        for part in path.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if value != expected:
            problems.append(f"{path}: expected {expected!r}, measured {value!r}")
    return problems


if __name__ == "__main__":
    problems = unmet(run())
    for problem in problems:
        print(f"demo check failed: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)
