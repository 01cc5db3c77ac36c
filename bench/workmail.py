"""WorkMail offboarding on the emulator: AWS calls per user vs the minimum for that user's
memberships, and a 1,000-user organization decommission on the virtual clock."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from mailwarden.contracts.names import IDENTITY_SOURCE, OperatorDetailType

from local.deployment import LocalDeployment
from local.emulator import emulated_aws

GROUPS, GRANTS, DELEGATIONS, RESOURCES = 3, 2, 2, 5


def _org(d: LocalDeployment, alias: str, users: int) -> tuple[str, Any, list[str]]:
    org = d.emu.control.add_organization(alias, f"{alias}.example.com")
    ids = d.emu.control.add_users(org, *[f"u{i:04d}" for i in range(users)])
    return org, d.emu.client("workmail"), list(ids.values())


def _request(d: LocalDeployment, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return dict(d.request(IDENTITY_SOURCE, detail_type, detail, "workmail_trigger")[0])


def per_user() -> dict[str, Any]:
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        org, wm, ids = _org(d, "acme", 4)
        leaver = ids[0]
        for g in range(GROUPS):
            gid = wm.create_group(OrganizationId=org, Name=f"g{g}")["GroupId"]
            wm.associate_member_to_group(OrganizationId=org, GroupId=gid, MemberId=leaver)
        for p in range(GRANTS):
            wm.put_mailbox_permissions(
                OrganizationId=org, EntityId=leaver, GranteeId=ids[p + 1], PermissionValues=["FULL_ACCESS"]
            )
        for r in range(RESOURCES):
            rid = wm.create_resource(OrganizationId=org, Name=f"room{r}", Type="ROOM")["ResourceId"]
            if r < DELEGATIONS:
                wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=rid, EntityId=leaver)
        before = Counter(emu.calls)
        detail = {"organizationId": org, "user": leaver, "requestedBy": "hr@acme", "reason": "leaver", "export": True}
        started = _request(d, OperatorDetailType.OFFBOARD_REQUESTED, detail)
        d.approve_by_link(started["execution"])
        assert d.finished(started["execution"])["status"] == "SUCCEEDED"
        calls = {k[9:]: v for k, v in (Counter(emu.calls) - before).items() if k.startswith("workmail.")}
    total = sum(calls.values())
    # Reads: DescribeUser, ListGroupsForEntity, ListMailboxPermissions, ListAliases, ListResources (1 page),
    # ListResourceDelegates per resource; export: Start + 1 Describe; writes: one per membership, grant and
    # delegation, Deregister, the DescribeUser that confirms DISABLED, DeleteUser.
    minimum = 5 + RESOURCES + 2 + GROUPS + GRANTS + DELEGATIONS + 3
    return {
        "workmail.per_user.calls": total,
        "workmail.per_user.minimum": minimum,
        "workmail.per_user.ratio": round(total / minimum, 3),
        "workmail.per_user.export_polls": calls.get("DescribeMailboxExportJob", 0),
        "workmail.per_user.describe_user": calls.get("DescribeUser", 0),
        "workmail.per_user.writes": sum(v for k, v in calls.items() if not k.startswith(("Describe", "List"))),
        "workmail.per_user.memberships": f"{GROUPS} groups, {GRANTS} grants, {DELEGATIONS} delegations, "
        f"{RESOURCES} resources in the org",
    }


def decommission(users: int = 1000) -> dict[str, Any]:
    """A decommission of ``users`` users with mailbox exports, through its trigger, its approval and its
    workflow (a Distributed Map: one child execution per user): every platform limit enforced."""
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        org, _, _ = _org(d, "bigcorp", users)
        before = Counter(emu.calls)
        detail = {"organizationId": org, "requestedBy": "it@bigcorp", "reason": "WorkMail ends 2027-03-31"}
        started = _request(d, OperatorDetailType.DECOMMISSION_REQUESTED, detail)
        d.approve_by_link(started["execution"])
        t0, wall = emu.clock.time(), time.perf_counter()
        done = d.finished(started["execution"], timeout=3600)
        simulated = emu.clock.time() - t0
        wall = time.perf_counter() - wall
        states = Counter(m.state for m in emu.workmail.orgs[org].members.values())
        calls = sum(v for k, v in (Counter(emu.calls) - before).items() if k.startswith("workmail."))
        peak = emu.control.max_concurrent_exports(org)
        stats = emu.stepfunctions.stats()
        summary = json.loads(done.get("output") or "{}").get("summary", {}).get("result", {})
        stopped = sum(i.stopped for i in d.invocations)
        denied = len(d.access.denials)
    lower = -(-users // 10) * 300 / 3600
    history = max(v["events"] for v in stats.values())
    figures = {
        "workmail.decommission.users": users,
        "workmail.decommission.status": done["status"],
        "workmail.decommission.deleted": states["DELETED"],
        "workmail.decommission.users_lost": users - states["DELETED"],
        "workmail.decommission.max_concurrent_exports": peak,
        "workmail.decommission.simulated_hours": round(simulated / 3600, 2),
        "workmail.decommission.lower_bound_hours": round(lower, 2),
        "workmail.decommission.workmail_calls_per_user": round(calls / users, 2),
        "workmail.decommission.wall_seconds": round(wall, 1),
    }
    key = f"limits.decommission_{users}"
    return {
        **figures,
        f"{key}.status": done["status"],
        f"{key}.users_deleted": states["DELETED"],
        f"{key}.users_lost": users - states["DELETED"],
        f"{key}.users_named_in_summary": sum(summary.get("outcomes", {}).values()),
        f"{key}.max_history_events": history,
        f"{key}.history_events_limit": 25_000,
        f"{key}.parent_history_events": stats[started["execution"]]["events"],
        f"{key}.executions": len(stats),
        f"{key}.max_state_bytes": max(v["max_state_bytes"] for v in stats.values()),
        f"{key}.state_bytes_limit": 262_144,
        f"{key}.simulated_hours": round(simulated / 3600, 2),
        f"{key}.lower_bound_hours": round(lower, 2),
        f"{key}.max_concurrent_exports": peak,
        f"{key}.invocations_stopped_by_timeout": stopped,
        f"{key}.access_denied": denied,
    }


def all_figures() -> dict[str, Any]:
    return {**per_user(), **decommission()}


if __name__ == "__main__":
    print(json.dumps(per_user(), indent=1))
    print(json.dumps(decommission(int(os.environ.get("USERS", "100"))), indent=1))
