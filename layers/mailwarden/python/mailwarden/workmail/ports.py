"""What offboarding needs from the outside world (adapters in ``mailwarden.aws``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .model import Grant, Snapshot, User


class Directory(Protocol):
    def organization(self, org: str) -> str: ...
    def user(self, org: str, ident: str) -> User: ...
    def kind_of(self, org: str, ident: str) -> str | None: ...
    def users(self, org: str) -> Iterator[User]: ...
    def groups(self, org: str) -> list[tuple[str, str]]: ...
    def members(self, org: str, group: str) -> list[str]: ...
    def groups_of(self, org: str, entity: str) -> list[tuple[str, str]]: ...
    def grants_on(self, org: str, mailbox: str) -> list[Grant]: ...
    def aliases(self, org: str, entity: str) -> list[str]: ...
    def delegations_of(self, org: str, entity: str) -> list[tuple[str, str]]: ...
    def remove_from_group(self, org: str, group: str, member: str) -> bool: ...
    def revoke(self, org: str, mailbox: str, grantee: str) -> bool: ...
    def undelegate(self, org: str, resource: str, entity: str) -> bool: ...
    def deregister(self, org: str, entity: str) -> bool: ...
    def delete_user(self, org: str, user: str) -> bool: ...
    def register(self, org: str, entity: str, email: str) -> bool: ...
    def add_alias(self, org: str, entity: str, alias: str) -> None: ...
    def add_to_group(self, org: str, group: str, member: str) -> None: ...
    def grant(self, org: str, mailbox: str, grant: Grant) -> None: ...
    def delegate(self, org: str, resource: str, entity: str) -> None: ...
    def start_export(self, org: str, entity: str, *, token: str, target: dict[str, str], description: str) -> str: ...
    def exports_of(self, org: str, entity: str) -> list[dict[str, Any]]: ...
    def export(self, org: str, job_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Claim:
    """Which offboarding request holds a user (at most one in flight per user), since when."""

    request_id: str
    since: float


class Store(Protocol):
    def snapshot(self, request_id: str) -> Snapshot | None: ...
    def keep(self, snapshot: Snapshot) -> Snapshot: ...
    def remember(self, snapshot: Snapshot) -> None: ...
    def restored(self, snapshot: Snapshot) -> None: ...
    def latest(self, organization_id: str, user_id: str) -> Snapshot | None: ...
    def claim(self, organization_id: str, user_id: str, request_id: str, *, replacing: str | None = None) -> Claim: ...
    def decommission(self, decommission_id: str) -> dict[str, Any] | None: ...
    def set_decommission(self, decommission_id: str, state: dict[str, Any]) -> None: ...
    def record_member(self, decommission_id: str, user_id: str, result: dict[str, Any]) -> None: ...
    def members(self, decommission_id: str) -> dict[str, dict[str, Any]]: ...


class Documents(Protocol):
    """JSON documents a workflow reads and people keep (plans, reports), under one bucket."""

    bucket: str

    def put(self, key: str, document: Any) -> None: ...
    def get(self, key: str) -> Any: ...


class Audit(Protocol):
    def record(
        self, subject: str, what: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]
    ) -> None: ...


class Events(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None: ...


@dataclass(frozen=True)
class MailDomain:
    """One mail domain of an organization (``GetMailDomain``): the records WorkMail needs in DNS."""

    name: str
    default: bool  # the organization's default domain (DeregisterMailDomain refuses it)
    test: bool  # the <alias>.awsapps.com test domain WorkMail manages itself (never in the customer's DNS)
    records: tuple[tuple[str, str, str], ...] = ()  # (type, hostname, value) as GetMailDomain lists them
    ownership: str = ""  # OwnershipVerificationStatus: PENDING | VERIFIED | FAILED
    dkim: str = ""  # DkimVerificationStatus


@dataclass(frozen=True)
class Resource:
    """A WorkMail resource (room or equipment) with its delegates and booking options."""

    id: str
    name: str
    email: str | None
    type: str  # ROOM | EQUIPMENT
    state: str  # ENABLED | DISABLED | DELETED
    booking: dict[str, Any]  # DescribeResource BookingOptions (AutoAcceptRequests, ...)
    delegates: tuple[tuple[str, str], ...] = ()  # (entity id, USER | GROUP)


class ExitDirectory(Directory, Protocol):
    """What an organization exit needs from WorkMail beyond offboarding (``WorkMailDirectory``).

    Deletes answer ``True`` when they changed something, ``False`` when it was gone already (a
    retried step); anything else is a domain error (``Conflict`` for MailDomainInUse /
    EntityState, ``NotFound``, ``UnknownOrganization``)."""

    def mailbox_bytes(self, org: str, user: str) -> int | None:
        """GetMailboxDetails' MailboxSize (megabytes) in bytes; ``None`` when the user has no
        mailbox (not registered / deleted)."""
        ...

    def mail_domains(self, org: str) -> list[MailDomain]: ...  # ListMailDomains, then GetMailDomain each
    def resources(self, org: str) -> list[Resource]: ...  # ListResources + DescribeResource + delegates
    def delete_group(self, org: str, group: str) -> bool: ...  # DeregisterFromWorkMail first when ENABLED
    def delete_resource(self, org: str, resource: str) -> bool: ...  # likewise
    def deregister_domain(self, org: str, domain: str) -> bool: ...
    def delete_organization(self, org: str, *, token: str) -> bool:
        """DeleteOrganization(DeleteDirectory=True, ForceDelete=False): WorkMail refuses while a user
        is enabled (``Conflict``)."""
        ...


class Objects(Protocol):
    """Objects in S3 as written by others (mailbox exports): the size, or ``None`` if absent."""

    def size(self, bucket: str, key: str) -> int | None: ...


class Dns(Protocol):
    """Route 53 as the MAIL FROM publisher uses it (``aws.mailfrom.Route53Dns``)."""

    def zone_for(self, domain: str) -> Any: ...  # Zone(id, name) | None
    def record_sets(self, zone: Any, name: str) -> list[Any]: ...  # RecordSet at exactly ``name``
    def change(self, zone: Any, changes: Any, comment: str) -> str: ...  # change id; StaleRecords on a race
    def insync(self, change_id: str) -> bool: ...


class ExitStore(Protocol):
    """An organization exit's state (one document, merged by ``update_exit``) and its per-user
    results (export verification, deletion), in the offboarding table."""

    def exit_state(self, exit_id: str) -> dict[str, Any] | None: ...
    def update_exit(self, exit_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...  # the state after
    def record_exit_user(self, exit_id: str, user_id: str, result: dict[str, Any]) -> None: ...  # merged
    def exit_user(self, exit_id: str, user_id: str) -> dict[str, Any]: ...  # {} before its first result
    def exit_users(self, exit_id: str) -> dict[str, dict[str, Any]]: ...
    def claim_organization(self, org: str, exit_id: str, *, replacing: str | None = None) -> Claim: ...


class Executions(Protocol):
    def stop(self, execution_arn: str, cause: str) -> bool: ...  # False: it was not running


class Text(Protocol):
    """Documents that are not JSON (the inventory's CSV files), under the documents' bucket."""

    def put_text(self, key: str, text: str, content_type: str) -> None: ...
