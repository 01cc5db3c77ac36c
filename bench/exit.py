"""The organization exit (issue 22) on the emulator, through its real trigger, its two approvals by
link and its workflow: a 1,000-user organization with groups, resources and two mail domains in two
Route 53 zones, a few exports sabotaged. What it keeps, how long it takes on the virtual clock, what
it costs in WorkMail calls per user, and whether it fits the platform limits (FACTS.md) at that scale."""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from mailwarden.contracts.functions import WORKMAIL_EXIT
from mailwarden.contracts.names import IDENTITY_SOURCE, MAILWARDEN_SOURCE, OperatorDetailType
from mailwarden.contracts.topics import APPROVER_ATTRIBUTE

from local.deployment import LocalDeployment
from local.emulator import Emulator, emulated_aws
from local.emulator.limits import entry_size

DOMAINS = ("initech.example.com", "initech-mail.example.net")
GROUPS, RESOURCES = 20, 5
# The exports that must not verify, by user index: an empty archive, no object at all, a FAILED job.
SABOTAGED = {7: "empty", 420: "lost", 777: "fail"}
# Approval requests are SNS messages (256 KiB); exit events PutEvents entries (256 KB); the exit's
# state one DynamoDB item (400 KB); a Step Functions state 256 KiB; a Lambda invocation 900 s.
SNS_LIMIT, EVENT_LIMIT, ITEM_LIMIT, STATE_LIMIT = 262_144, 262_144, 400_000, 262_144
# A WorkMail call's latency assumed for the inventory's duration (the emulator charges none; AWS
# publishes neither a latency nor a per-API rate for WorkMail: FACTS.md "WorkMail").
ASSUMED_CALL_SECONDS = 0.1


def targets() -> dict[str, Any]:
    """The next provider's records per domain (the target-records file, docs/workmail-exit.md)."""
    return {
        "version": 1,
        "domains": {
            d: {
                "mx": ["10 mx1.newmail.example.org", "20 mx2.newmail.example.org"],
                "spfInclude": ["spf.newmail.example.org"],
                "autodiscover": "autodiscover.newmail.example.org",
                "records": [{"name": "nm1._domainkey", "type": "CNAME", "value": "nm1.dkim.newmail.example.org"}],
            }
            for d in DOMAINS
        },
    }


def request(org: str, request_id: str, **extra: Any) -> dict[str, Any]:
    """The detail of ``WorkMail Organization Exit Requested``."""
    return {
        "organizationId": org,
        "requestedBy": "it@initech.example.com",
        "reason": "WorkMail ends on 2027-03-31",
        "targetRecords": targets(),
        "requestId": request_id,
        **extra,
    }


def organization(emu: Emulator, users: int) -> tuple[str, list[str]]:
    """``users`` users (mailboxes of 0-190 KB), GROUPS groups (each nested in the one before), RESOURCES
    rooms with delegates, aliases and grants, and two mail domains published in their own hosted zones
    (the first one's apex already has another SPF record, which the cut-over must merge, not duplicate)."""
    control, wm, r53 = emu.control, emu.client("workmail"), emu.client("route53")
    org = control.add_organization("initech", DOMAINS[0])
    control.add_mail_domain(org, DOMAINS[1])
    ids = list(control.add_users(org, *[f"u{i:04d}" for i in range(users)]).values())
    for i, uid in enumerate(ids):
        control.set_mailbox_size(org, uid, (i % 20) * 0.01)
    groups = []
    for g in range(GROUPS):
        groups.append(wm.create_group(OrganizationId=org, Name=f"team{g:02d}")["GroupId"])
        wm.register_to_work_mail(OrganizationId=org, EntityId=groups[-1], Email=f"team{g:02d}@{DOMAINS[0]}")
        for uid in ids[g::GROUPS]:
            wm.associate_member_to_group(OrganizationId=org, GroupId=groups[-1], MemberId=uid)
        if g:
            wm.associate_member_to_group(OrganizationId=org, GroupId=groups[g - 1], MemberId=groups[-1])
    for r in range(RESOURCES):
        rid = wm.create_resource(OrganizationId=org, Name=f"room{r}", Type="ROOM")["ResourceId"]
        wm.register_to_work_mail(OrganizationId=org, EntityId=rid, Email=f"room{r}@{DOMAINS[0]}")
        wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=rid, EntityId=ids[r])
    for i in range(0, users, 10):
        wm.create_alias(OrganizationId=org, EntityId=ids[i], Alias=f"alias{i:04d}@{DOMAINS[1]}")
        wm.put_mailbox_permissions(
            OrganizationId=org, EntityId=ids[i], GranteeId=ids[i + 1], PermissionValues=["FULL_ACCESS"]
        )
    for n, domain in enumerate(DOMAINS):
        zone = r53.create_hosted_zone(Name=domain, CallerReference=f"bench-{domain}")["HostedZone"]["Id"]
        if n == 0:
            spf = {"Name": domain, "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"v=spf1 mx ~all"'}]}
            r53.change_resource_record_sets(
                HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": spf}]}
            )
        control.publish_mail_domain(org, domain, zone.rsplit("/", 1)[-1])
    return org, ids


def sabotage(emu: Emulator, org: str, users: dict[str, str]) -> None:
    """The first export started for each of ``users`` (id -> empty | lost | fail) is sabotaged with the
    emulator's control (``empty_next_export`` / ``lose_next_export`` / ``fail_next_export``), armed
    just before WorkMail handles that user's StartMailboxExportJob and disarmed if it did not start one."""
    service = emu.workmail
    start = service.handlers["StartMailboxExportJob"]
    arm = {
        "empty": emu.control.empty_next_export,
        "lost": emu.control.lose_next_export,
        "fail": emu.control.fail_next_export,
    }
    done: set[str] = set()

    def sabotaging(svc: Any, params: dict[str, Any]) -> Any:
        kind = users.get(params["EntityId"])
        if kind is None or params["EntityId"] in done:
            return start(svc, params)
        arm[kind](org)
        try:
            out = start(svc, params)
            done.add(params["EntityId"])
            return out
        finally:
            service.sabotaged_exports.pop(org, None)
            service.failing_exports.pop(org, None)

    service.handlers["StartMailboxExportJob"] = sabotaging


def recording_batches(emu: Emulator) -> Counter[str]:
    """ChangeResourceRecordSets batches per hosted zone id, counted from now on as Route 53 checks them."""
    per_zone: Counter[str] = Counter()
    check: Callable[..., Any] = emu.route53.check

    def counted(zone_id: str, doc: Any) -> None:
        per_zone[zone_id] += 1
        check(zone_id, doc)

    emu.route53.check = counted  # type: ignore[method-assign]
    return per_zone


def approve(d: LocalDeployment, arn: str, action: str, nth: int) -> dict[str, Any]:
    """The first approver opens the ``action`` approval's link and presses Approve, once ``arn`` waits
    for its ``nth`` decision; returns the approval message's SNS envelope as delivered."""
    approver = d.approvers[0]

    def mail() -> dict[str, Any] | None:
        d.inbox(approver)  # delivers what is queued into d.mail
        found = [
            e
            for e in d.mail
            if e.get("MessageAttributes", {}).get(APPROVER_ATTRIBUTE, {}).get("Value") == approver.lower()
            and json.loads(e["Message"])["executionArn"] == arn
            and action in e["Message"]
        ]
        asked = sum(
            bool(i["done"] and i["event"].get("kind") == "request" and i["event"].get("executionArn") == arn)
            for i in d.emu.lambdas.invocations
        )
        return found[-1] if found and asked >= nth else None

    envelope: dict[str, Any] = d.wait_until(mail, f"the {action} approval", timeout=3600)
    link = urlsplit(json.loads(envelope["Message"])["links"]["approve"])
    status = d.http("POST", f"{link.scheme}://{link.netloc}{link.path}", dict(parse_qsl(link.query))).status
    if status != 200:
        raise RuntimeError(f"the {action} approval answered {status}")
    return envelope


def item_bytes(item: dict[str, Any]) -> int:
    """A DynamoDB item's size as DynamoDB counts it: attribute names and values (strings in UTF-8,
    numbers about one byte per two digits; here their digits, an upper bound)."""
    return sum(len(k.encode()) + len(next(iter(v.values())).encode()) for k, v in item.items())


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def inventory_seconds(users: int, call_seconds: float, *, protect_all: bool = False) -> dict[str, Any]:
    """A dry run (the inventory alone, one invocation) of the same organization with every WorkMail
    call taking ``call_seconds`` of virtual time: its duration, its WorkMail calls and the size of the
    exit's state item (``protect_all``: every user in the policy's protected group workmail-admins,
    the one list in that item that grows with the users)."""
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        org, ids = organization(emu, users)
        if protect_all:
            wm = emu.client("workmail")
            admins = wm.create_group(OrganizationId=org, Name="workmail-admins")["GroupId"]
            for uid in ids:
                wm.associate_member_to_group(OrganizationId=org, GroupId=admins, MemberId=uid)
        if call_seconds:
            emu.control.inject("workmail", latency=call_seconds)
        before, seen = Counter(emu.calls), len(d.invocations)
        detail = request(org, f"inventory-{users}", dryRun=True)
        [started] = d.request(IDENTITY_SOURCE, OperatorDetailType.EXIT_REQUESTED, detail, "workmail_trigger")
        done = d.finished(started["execution"], timeout=3600)
        steps = [i for i in d.invocations[seen:] if i.function == WORKMAIL_EXIT.name]
        calls = {k[9:]: v for k, v in (Counter(emu.calls) - before).items() if k.startswith("workmail.")}
        emu.control.clear_faults()
        key = {"pk": {"S": f"EXIT#plan-inventory-{users}"}, "sk": {"S": "STATE"}}
        item = emu.client("dynamodb").get_item(TableName=d.tables["offboarding"], Key=key)["Item"]
        output = len(done.get("output") or "")
    return {
        "status": done["status"],
        "seconds": max(i.seconds for i in steps),
        "invocations": len(steps),
        "calls": calls,
        "state_item_bytes": item_bytes(item),
        "output_bytes": output,
    }


def org_exit(users: int = 1000) -> dict[str, Any]:
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        org, ids = organization(emu, users)
        sabotaged = {ids[i]: kind for i, kind in SABOTAGED.items() if i < users}
        sabotage(emu, org, sabotaged)
        batches = recording_batches(emu)
        before, t0, wall = Counter(emu.calls), emu.clock.time(), time.perf_counter()
        detail = request(org, f"exit-{users}")
        [started] = d.request(IDENTITY_SOURCE, OperatorDetailType.EXIT_REQUESTED, detail, "workmail_trigger")
        arn = started["execution"]
        cutover = approve(d, arn, "workmail.exit-cutover", 1)
        exported = emu.clock.time() - t0  # the export phase's makespan: the cut-over is asked right after it
        delete = approve(d, arn, "workmail.exit-delete", 2)
        done = d.finished(arn, timeout=7200)
        wall = time.perf_counter() - wall
        simulated = emu.clock.time() - t0
        spent = Counter(emu.calls) - before
        calls = {k[9:]: v for k, v in spent.items() if k.startswith("workmail.")}
        dynamo = {k[9:]: v for k, v in spent.items() if k.startswith("dynamodb.")}
        stats = emu.stepfunctions.stats()
        peak = emu.control.max_concurrent_exports(org)
        members = emu.workmail.orgs[org].members
        s3 = emu.client("s3")
        bucket = d.export_bucket

        def doc(name: str) -> Any:
            return json.loads(s3.get_object(Bucket=bucket, Key=f"exits/exit-{users}/{name}")["Body"].read())

        manifest, report = doc("manifest.json"), doc("report.json")
        ddb = emu.client("dynamodb")
        table = d.tables["offboarding"]
        state_item = ddb.get_item(TableName=table, Key={"pk": {"S": f"EXIT#exit-{users}"}, "sk": {"S": "STATE"}})
        user_items = ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :user)",
            ExpressionAttributeValues={":pk": {"S": f"EXIT#exit-{users}"}, ":user": {"S": "USER#"}},
        )["Items"]
        zones = {
            z["Id"].rsplit("/", 1)[-1]: z["Name"].rstrip(".")
            for z in emu.client("route53").list_hosted_zones()["HostedZones"]
        }
        spf_per_name: Counter[str] = Counter()
        for zone_id in zones:
            for s in emu.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
                for r in s.get("ResourceRecords", []) if s["Type"] == "TXT" else []:
                    spf_per_name[s["Name"]] += r["Value"].strip('"').startswith("v=spf1")
        d.deliver()
        exit_events = [
            e for e in d.published if e["source"] == MAILWARDEN_SOURCE and e["detail-type"].startswith("WorkMail")
        ]
        event_bytes = max(
            entry_size({"Source": e["source"], "DetailType": e["detail-type"], "Detail": json.dumps(e["detail"])})
            for e in exit_events
        )
        denied = len(d.access.denials)
        stopped = sum(i.stopped for i in d.invocations)
        longest = max(i.seconds for i in d.invocations if i.function == WORKMAIL_EXIT.name)
        object_sizes = {
            m["user"]: s3.head_object(Bucket=bucket, Key=m["s3Object"].split("/", 3)[3])["ContentLength"]
            for m in manifest["mailboxes"]
            if m["verified"]
        }

    verified = {m["user"] for m in manifest["mailboxes"] if m["verified"]}
    named = {i["entity"] for i in report["incomplete"]}
    emails = {uid: members[uid].email for uid in ids}
    deleted = {uid for uid in ids if members[uid].state == "DELETED"}
    # a user is kept safe when deleted only with a verified export whose object is in S3, or kept (not
    # deleted) and named in the report with the reason; anything else lost mail or went unreported
    safe = {u for u in deleted if u in verified and object_sizes.get(u, 0) > 0}
    safe |= {u for u in ids if u not in deleted and (emails[u] in named or u in named)}
    unverified_deleted = sum(1 for u in sabotaged if u in deleted) + len(deleted - verified)

    jobs = [m for m in manifest["mailboxes"] if m.get("startedAt") and m.get("endedAt")]
    jobs_seconds = max(_epoch(m["endedAt"]) for m in jobs) - min(_epoch(m["startedAt"]) for m in jobs)
    lower = math.ceil(len(manifest["mailboxes"]) / 10) * emu.workmail.export_seconds
    minimum = {
        "ListAliases": 1,
        "GetMailboxDetails": 1,
        "ListMailboxPermissions": 1,
        "StartMailboxExportJob": 1,
        "DescribeMailboxExportJob": 1,
        "DeregisterFromWorkMail": 1,
        "DescribeUser": 1,
        "DeleteUser": 1,
    }
    key, lim = f"exit.org_{users}", f"limits.exit_{users}"
    total = sum(calls.values())
    per_user_ops = sum(calls.get(op, 0) for op in minimum)
    return {
        f"{key}.users": users,
        f"{key}.mailboxes": len(manifest["mailboxes"]),
        f"{key}.status": done["status"],
        f"{key}.outcome": report["outcome"],
        f"{key}.users_deleted": len(deleted),
        f"{key}.users_kept_and_named": len({u for u in ids if u not in deleted} & safe),
        f"{key}.users_lost": users - len(safe),
        f"{key}.sabotaged_exports": {emails[u]: k for u, k in sabotaged.items()},
        f"{key}.unverified_exports": manifest["unverified"],
        f"{key}.unverified_exports_deleted": unverified_deleted,
        f"{key}.organization_deleted": report["organizationDeleted"],
        f"{key}.max_concurrent_exports": peak,
        f"{key}.simulated_hours": round(exported / 3600, 2),
        f"{key}.export_jobs_hours": round(jobs_seconds / 3600, 2),
        f"{key}.lower_bound_hours": round(lower / 3600, 2),
        f"{key}.export_seconds": emu.workmail.export_seconds,
        f"{key}.total_simulated_hours": round(simulated / 3600, 2),
        f"{key}.max_history_events": max(v["events"] for v in stats.values()),
        f"{key}.parent_history_events": stats[arn]["events"],
        f"{key}.max_child_history_events": max(v["events"] for k, v in stats.items() if k != arn),
        f"{key}.executions": len(stats),
        f"{key}.wall_seconds": round(wall, 1),
        f"{key}.workmail_calls": total,
        f"{key}.workmail_calls_per_user": round(total / users, 2),
        f"{key}.workmail_calls_by_operation": dict(sorted(calls.items())),
        f"{key}.workmail_calls_per_user_by_operation": {op: round(calls.get(op, 0) / users, 2) for op in minimum},
        f"{key}.workmail_calls_organization_level": total - per_user_ops,
        f"{key}.workmail_calls_minimum_per_user": sum(minimum.values()),
        f"{key}.workmail_calls_minimum_by_operation": minimum,
        f"{key}.dynamodb_calls_by_operation": dict(sorted(dynamo.items())),
        "exit.dns.changebatches_per_zone": max(batches.values()) if batches else 0,
        "exit.dns.zones_changed": len(batches),
        "exit.dns.spf_records_per_name": max(spf_per_name.values()),
        f"{lim}.history_events_limit": 25_000,
        f"{lim}.max_state_bytes": max(v["max_state_bytes"] for v in stats.values()),
        f"{lim}.state_bytes_limit": STATE_LIMIT,
        f"{lim}.exit_state_item_bytes": item_bytes(state_item["Item"]),
        f"{lim}.max_user_item_bytes": max(item_bytes(i) for i in user_items),
        f"{lim}.item_bytes_limit": ITEM_LIMIT,
        f"{lim}.max_event_bytes": event_bytes,
        f"{lim}.event_bytes_limit": EVENT_LIMIT,
        f"{lim}.cutover_approval_bytes": len(cutover["Message"].encode()),
        f"{lim}.delete_approval_bytes": len(delete["Message"].encode()),
        f"{lim}.approval_bytes_limit": SNS_LIMIT,
        f"{lim}.max_invocation_seconds": round(longest, 1),
        f"{lim}.invocations_stopped_by_timeout": stopped,
        f"{lim}.access_denied": denied,
    }


def inventory_limit(users: int = 1000) -> dict[str, Any]:
    """The inventory of ``users`` users is one Lambda invocation: its virtual duration as the emulator
    charges calls (nothing), and with each WorkMail call taking ASSUMED_CALL_SECONDS; from its calls,
    how many users would pass the 900 s timeout. And the exit's state item with every user protected."""
    free, slow = inventory_seconds(users, 0.0), inventory_seconds(users, ASSUMED_CALL_SECONDS)
    guarded = inventory_seconds(users, 0.0, protect_all=True)
    calls = sum(slow["calls"].values())
    c = Counter(slow["calls"])
    # per user: a ListUsers page share, ListAliases, GetMailboxDetails, ListMailboxPermissions; the rest
    # (groups, resources, domains, the organization) does not grow with the users
    per_user = (
        c["ListUsers"] + c["ListAliases"] - GROUPS + c["GetMailboxDetails"] + c["ListMailboxPermissions"]
    ) / users
    fixed = calls - per_user * users
    timeout = WORKMAIL_EXIT.timeout_seconds
    ms = int(ASSUMED_CALL_SECONDS * 1000)
    key = f"limits.exit_{users}.inventory"
    return {
        f"{key}.status": slow["status"],
        f"{key}.invocations": slow["invocations"],
        f"{key}.virtual_seconds_as_emulated": round(free["seconds"], 1),
        f"{key}.virtual_seconds_at_{ms}ms_per_call": round(slow["seconds"], 1),
        f"{key}.workmail_calls": calls,
        f"{key}.workmail_calls_per_user": round(per_user, 2),
        f"{key}.workmail_calls_by_operation": dict(sorted(slow["calls"].items())),
        f"{key}.function_timeout_seconds": timeout,
        f"{key}.max_ms_per_call_within_timeout": round(1000 * timeout / calls, 1),
        f"{key}.users_over_timeout_at_{ms}ms_per_call": math.floor((timeout / ASSUMED_CALL_SECONDS - fixed) / per_user)
        + 1,
        f"{key}.dry_run_output_bytes": free["output_bytes"],
        f"{key}.state_item_bytes": free["state_item_bytes"],
        f"{key}.state_item_bytes_all_protected": guarded["state_item_bytes"],
        f"{key}.dry_run_output_bytes_all_protected": guarded["output_bytes"],
        f"{key}.item_bytes_limit": ITEM_LIMIT,
    }


def all_figures() -> dict[str, Any]:
    return {**org_exit(), **inventory_limit()}


if __name__ == "__main__":
    n = int(os.environ.get("USERS", "100"))
    print(json.dumps({**org_exit(n), **inventory_limit(n)}, indent=1, default=str))
