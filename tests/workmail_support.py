"""An organization to offboard from, built through real boto3 calls to the emulated WorkMail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.contracts.names import MAILWARDEN_SOURCE, OPERATOR_SOURCE, MailwardenDetailType, OperatorDetailType

from local.deployment import LocalDeployment

REQUESTER = "hr-system@example.com"


@dataclass
class Org:
    deployment: LocalDeployment
    id: str
    domain: str
    users: dict[str, str] = field(default_factory=dict)  # name -> id
    groups: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)

    @property
    def wm(self) -> Any:
        return self.deployment.emu.client("workmail")

    def email(self, name: str) -> str:
        return f"{name}@{self.domain}"

    def user(self, name: str, *, role: str | None = None) -> str:
        uid = self.wm.create_user(OrganizationId=self.id, Name=name, DisplayName=name.title(), Password="Pa55w0rd!x")
        uid = uid["UserId"]
        self.wm.register_to_work_mail(OrganizationId=self.id, EntityId=uid, Email=self.email(name))
        if role:
            self.deployment.emu.workmail.orgs[self.id].members[uid].role = role
        self.users[name] = uid
        return str(uid)

    def group(self, name: str, *members: str) -> str:
        gid = self.wm.create_group(OrganizationId=self.id, Name=name)["GroupId"]
        self.wm.register_to_work_mail(OrganizationId=self.id, EntityId=gid, Email=self.email(name))
        for m in members:
            self.wm.associate_member_to_group(OrganizationId=self.id, GroupId=gid, MemberId=self.users[m])
        self.groups[name] = gid
        return str(gid)

    def resource(self, name: str, *delegates: str) -> str:
        rid = self.wm.create_resource(OrganizationId=self.id, Name=name, Type="ROOM")["ResourceId"]
        for d in delegates:
            self.wm.associate_delegate_to_resource(OrganizationId=self.id, ResourceId=rid, EntityId=self.users[d])
        self.resources[name] = rid
        return str(rid)

    def grant(self, mailbox: str, grantee: str, *perms: str) -> None:
        self.wm.put_mailbox_permissions(
            OrganizationId=self.id,
            EntityId=self.users[mailbox],
            GranteeId=self.users[grantee],
            PermissionValues=list(perms or ("FULL_ACCESS",)),
        )

    def alias(self, name: str, alias: str) -> None:
        self.wm.create_alias(OrganizationId=self.id, EntityId=self.users[name], Alias=self.email(alias))

    def describe(self, name: str) -> dict[str, Any]:
        return dict(self.wm.describe_user(OrganizationId=self.id, UserId=self.users[name]))

    def state(self, name: str) -> str:
        return str(self.deployment.emu.workmail.orgs[self.id].members[self.users[name]].state)

    def access(self, name: str) -> dict[str, Any]:
        """Everything ``name`` has access to / is reachable by (emulator state, no API calls)."""
        o = self.deployment.emu.workmail.orgs[self.id]
        uid = self.users[name]
        return {
            "groups": sorted(g for g, members in o.groups.items() if uid in members),
            "grants": sorted(o.permissions.get(uid, {})),
            "delegations": sorted(r for r, d in o.delegates.items() if uid in d),
            "aliases": sorted(o.aliases.get(uid, [])),
        }


def acme(deployment: LocalDeployment) -> Org:
    """Leaver "alice": in 2 groups, 2 grants on her mailbox, delegate of a room, an alias."""
    org_id = deployment.emu.control.add_organization("acme", "acme.example.com")
    org = Org(deployment, org_id, "acme.example.com")
    for name in ("alice", "bob", "carol", "administrator"):
        org.user(name)
    org.group("sales", "alice", "bob")
    org.group("all-staff", "alice", "bob", "carol")
    org.group("workmail-admins", "carol")
    org.resource("room-1", "alice", "bob")
    org.resource("room-2", "bob")
    org.grant("alice", "bob", "FULL_ACCESS", "SEND_AS")
    org.grant("alice", "carol", "SEND_ON_BEHALF")
    org.alias("alice", "alice.smith")
    return org


def offboard(
    deployment: LocalDeployment, org: Org | str, user: str, *, export: bool | None = True, **extra: Any
) -> list[Any]:
    """Put an offboarding request on the Mailwarden bus and deliver it; the trigger's results."""
    org_id = org.id if isinstance(org, Org) else org
    detail = {"organizationId": org_id, "user": user, "requestedBy": REQUESTER, "reason": "leaver", **extra}
    if export is not None:
        detail["export"] = export
    return request(deployment, OperatorDetailType.OFFBOARD_REQUESTED, detail)


def request(deployment: LocalDeployment, detail_type: str, detail: dict[str, Any]) -> list[Any]:
    return deployment.request(OPERATOR_SOURCE, detail_type, detail, "workmail_trigger")


def outcomes(deployment: LocalDeployment) -> list[str]:
    """The ``outcome`` of every WorkMail Offboarding event published so far, in order."""
    deployment.deliver()
    return [
        e["detail"]["outcome"]
        for e in deployment.published
        if e["source"] == MAILWARDEN_SOURCE and e["detail-type"] == MailwardenDetailType.WORKMAIL_OFFBOARDING
    ]


def audit(deployment: LocalDeployment, org: Org, name: str) -> list[dict[str, Any]]:
    from mailwarden.aws.audit import DynamoAuditTrail
    from mailwarden.workmail.model import subject

    trail = DynamoAuditTrail(deployment.emu.client("dynamodb"), deployment.tables["audit"], deployment.emu.clock)
    return trail.entries(subject(org.id, org.users[name]))


def exports(deployment: LocalDeployment) -> list[str]:
    """Keys of the mailbox archives in the export bucket."""
    out = deployment.emu.client("s3").list_objects_v2(Bucket=deployment.export_bucket)
    return [o["Key"] for o in out.get("Contents", [])]


def executions(deployment: LocalDeployment, workflow: str = "workmail-offboard") -> list[dict[str, Any]]:
    sfn = deployment.emu.client("stepfunctions")
    return list(sfn.list_executions(stateMachineArn=deployment.state_machines[workflow])["executions"])
