"""What offboarding reads and keeps: the user, a snapshot of everything it removes, requests."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

RESTORE_WINDOW_DAYS = 30  # WorkMail keeps a deregistered mailbox this long (FACTS.md)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str | None
    display_name: str
    state: str  # ENABLED | DISABLED | DELETED
    role: str  # USER | RESOURCE | SYSTEM_USER
    disabled_at: str | None = None  # ISO timestamp of DeregisterFromWorkMail


@dataclass(frozen=True)
class Grant:
    grantee_id: str
    grantee_type: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """Everything offboarding removes, taken before the first change (restore re-applies it)."""

    request_id: str
    organization_id: str
    user: User
    aliases: tuple[str, ...] = ()
    groups: tuple[tuple[str, str], ...] = ()  # (group id, name)
    grants: tuple[Grant, ...] = ()  # permissions others hold on this mailbox
    delegations: tuple[tuple[str, str], ...] = ()  # (resource id, name) this user is a delegate of
    taken_at: str = ""
    export: bool = True
    requested_by: str = ""
    reason: str = ""
    approved_by: str | None = None  # set for a decommission batch (one approval covers every user)

    @property
    def subject(self) -> str:
        return subject(self.organization_id, self.user.id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        return cls(
            **{
                **d,
                "user": User(**d["user"]),
                "aliases": tuple(d.get("aliases", ())),
                "groups": tuple(tuple(g) for g in d.get("groups", ())),
                "grants": tuple(
                    Grant(g["grantee_id"], g["grantee_type"], tuple(g["permissions"])) for g in d.get("grants", ())
                ),
                "delegations": tuple(tuple(r) for r in d.get("delegations", ())),
            }
        )

    def plan(self) -> list[dict[str, str]]:
        """What offboarding does, in order: action, target, from where."""
        u = self.user
        who = u.email or u.name
        steps: list[dict[str, str]] = [
            {"step": "snapshot", "action": "record what will be removed", "where": "audit trail"}
        ]
        if self.export:
            steps.append({"step": "export", "action": f"export the mailbox of {who}", "where": "S3 (KMS-encrypted)"})
        steps += [
            {"step": "strip", "action": f"remove {who} from group {name}", "where": gid} for gid, name in self.groups
        ]
        steps += [
            {
                "step": "strip",
                "action": f"revoke {'/'.join(g.permissions)} of {g.grantee_type.lower()} {g.grantee_id} on the mailbox",
                "where": u.id,
            }
            for g in self.grants
        ]
        steps += [
            {"step": "strip", "action": f"remove {who} as a delegate of resource {name}", "where": rid}
            for rid, name in self.delegations
        ]
        steps += [
            {"step": "deregister", "action": f"deregister {who} (mail stops; kept 30 days)", "where": u.id},
            {"step": "approve", "action": "wait for a human approval to delete", "where": "approvals"},
            {"step": "delete", "action": f"delete {who} (permanent)", "where": u.id},
        ]
        return steps


def subject(organization_id: str, user_id: str) -> str:
    """The audit-trail subject of a WorkMail user."""
    return f"workmail:{organization_id}/{user_id}"


def client_token(request_id: str, user_id: str) -> str:
    """StartMailboxExportJob's ClientToken: a retried start returns the same job."""
    return hashlib.sha256(f"{request_id}/{user_id}".encode()).hexdigest()[:64]


_ORG = r"^m-[0-9a-f]{32}$"  # WorkMail's OrganizationId shape
# WorkMail's EntityIdentifier shape (DescribeUser's UserId, DeleteUser's, RegisterToWorkMail's
# EntityId...): 1-256 of these characters. The model's pattern is not anchored (Smithy patterns are
# not); the whole value is matched here, since WorkMail refuses an identifier with any other
# character (``InvalidParameterException``). tests/unit/test_workmail_requests.py checks both
# against botocore's model.
ENTITY_IDENTIFIER = r"[a-zA-Z0-9._%+@-]+"
ENTITY_IDENTIFIER_MAX = 256
_ENTITY = re.compile(ENTITY_IDENTIFIER)


def check_entity_identifier(value: str) -> str:
    if not _ENTITY.fullmatch(value):
        bad = list(dict.fromkeys(c for c in value if not _ENTITY.fullmatch(c)))
        raise ValueError(
            "a WorkMail user id, user name or email address has only letters a-z A-Z, digits and . _ % + @ - "
            f"(WorkMail's EntityIdentifier); this one has {' '.join(repr(c) for c in bad[:5])}"
        )
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    organization_id: str = Field(alias="organizationId", pattern=_ORG)
    requested_by: str = Field(alias="requestedBy", min_length=1, max_length=256)
    reason: str = Field(min_length=1, max_length=1000)
    request_id: str | None = Field(None, alias="requestId", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    dry_run: bool = Field(False, alias="dryRun")


class OffboardRequest(_Request):
    """``WorkMail Offboarding Requested``: ``user`` is a user id or an email address."""

    user: str = Field(min_length=1, max_length=ENTITY_IDENTIFIER_MAX)
    export: bool | None = None  # None: the policy's exportByDefault

    _user = field_validator("user")(check_entity_identifier)


class RestoreRequest(_Request):
    """``WorkMail Restore Requested``: re-register a deregistered user and re-apply its snapshot."""

    user: str = Field(min_length=1, max_length=ENTITY_IDENTIFIER_MAX)

    _user = field_validator("user")(check_entity_identifier)


class DecommissionRequest(_Request):
    """``WorkMail Decommission Requested``: offboard every user of the organization."""

    export: bool | None = None
