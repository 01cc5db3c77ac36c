"""SESv2 reputation-entity adapter: entities, findings (recommendations), tags and the two writes.

Reads use the list APIs at their largest page size (100): ListReputationEntities returns the
whole entity, so a reconcile never needs GetReputationEntity. Every ClientError becomes a domain
error (``translate``); the client is paced by ``clients.PACED`` so throttling never reaches a run.

Every error the operations' models list is handled: TooManyRequests -> ``Throttled``;
GetReputationEntity / ListTagsForResource / ListRecommendations NotFound -> nothing there. The two
updates model TooManyRequests, BadRequest and Conflict only: ConflictException -> ``UpdateInProgress``
(another update of the entity is being applied: retried); BadRequestException (or a NotFound, should
AWS send one) on an entity GetReputationEntity no longer finds -> ``NotFound``, else ``Rejected``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ..errors import NotFound, Rejected, UpdateInProgress
from ..reputation.engine import Finding
from ..reputation.model import EntityState
from .errors import code_of, translate

PAGE = 100
T = TypeVar("T")


def entity_from_wire(item: dict[str, Any]) -> EntityState:
    customer = item.get("CustomerManagedStatus", {})
    ses = item.get("AwsSesManagedStatus", {})
    return EntityState(
        reference=item["ReputationEntityReference"],
        policy=item.get("ReputationManagementPolicy", ""),
        customer_status=customer.get("Status", "ENABLED"),
        ses_status=ses.get("Status", "ENABLED"),
        aggregate=item.get("SendingStatusAggregate", "ENABLED"),
        impact=item.get("ReputationImpact"),
        customer_updated=customer.get("LastUpdatedTimestamp"),
        ses_cause=ses.get("Cause"),
    )


def finding_from_wire(item: dict[str, Any]) -> Finding:
    return Finding(
        resource=item.get("ResourceArn", ""),
        type=item.get("Type", ""),
        impact=item.get("Impact", "LOW"),
        status=item.get("Status", "OPEN"),
        updated=item.get("LastUpdatedTimestamp") or item["CreatedTimestamp"],
        description=item.get("Description", ""),
    )


class SesReputation:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(**kwargs)
        except ClientError as exc:
            raise translate(exc) from exc

    def get(self, reference: str) -> EntityState | None:
        try:
            out = self._call(
                self.client.get_reputation_entity, ReputationEntityType="RESOURCE", ReputationEntityReference=reference
            )
        except NotFound:
            return None
        return entity_from_wire(out["ReputationEntity"])

    def list_entities(self, next_token: str | None) -> tuple[list[EntityState], str | None]:
        kwargs: dict[str, Any] = {"Filter": {"ENTITY_TYPE": "RESOURCE"}, "PageSize": PAGE}
        if next_token:
            kwargs["NextToken"] = next_token
        out = self._call(self.client.list_reputation_entities, **kwargs)
        return [entity_from_wire(e) for e in out.get("ReputationEntities", [])], out.get("NextToken") or None

    def _recommendations_page(self, flt: dict[str, str], token: str | None) -> tuple[list[Finding], str | None]:
        kwargs: dict[str, Any] = {"Filter": flt, "PageSize": PAGE, **({"NextToken": token} if token else {})}
        try:
            out = self._call(self.client.list_recommendations, **kwargs)
        except NotFound:  # modelled for ListRecommendations: nothing recommended for that filter
            return [], None
        return [finding_from_wire(r) for r in out.get("Recommendations", [])], out.get("NextToken") or None

    def _recommendations(self, flt: dict[str, str]) -> Iterator[Finding]:
        token: str | None = None
        while True:
            page, token = self._recommendations_page(flt, token)
            yield from page
            if not token:
                return

    def open_findings_page(self, token: str | None) -> tuple[list[Finding], str | None]:
        """One page (up to 100) of the account's OPEN findings, and the token of the next one."""
        return self._recommendations_page({"STATUS": "OPEN"}, token)

    def open_findings(self) -> dict[str, list[Finding]]:
        """Every OPEN finding, by entity (all pages)."""
        by_entity: dict[str, list[Finding]] = defaultdict(list)
        for f in self._recommendations({"STATUS": "OPEN"}):
            by_entity[f.resource].append(f)
        return dict(by_entity)

    def findings(self, reference: str) -> list[Finding]:
        return list(self._recommendations({"RESOURCE_ARN": reference}))

    def tags(self, reference: str) -> dict[str, str]:
        try:
            out = self._call(self.client.list_tags_for_resource, ResourceArn=reference)
        except NotFound:
            return {}
        return {t["Key"]: t["Value"] for t in out.get("Tags", [])}

    def set_customer_status(self, reference: str, status: str) -> None:
        self._write(self.client.update_reputation_entity_customer_managed_status, reference, SendingStatus=status)

    def set_policy(self, reference: str, tier: str) -> None:
        region = self.client.meta.region_name
        policy = f"arn:aws:ses:{region}:aws:reputation-policy/{tier}"
        self._write(self.client.update_reputation_entity_policy, reference, ReputationEntityPolicy=policy)

    def _write(self, fn: Callable[..., Any], reference: str, **kwargs: Any) -> None:
        try:
            fn(ReputationEntityType="RESOURCE", ReputationEntityReference=reference, **kwargs)
        except ClientError as exc:
            code, message = code_of(exc), exc.response.get("Error", {}).get("Message", "")
            what = f"{fn.__name__} on {reference}"
            if code == "ConflictException":
                raise UpdateInProgress(f"{what}: SES is applying another update of the entity: {message}") from exc
            if code in ("BadRequestException", "NotFoundException"):
                if self.get(reference) is None:
                    raise NotFound(f"{what}: the reputation entity no longer exists ({code})") from exc
                raise Rejected(f"{what}: SES refused it ({code}): {message}") from exc
            raise translate(exc) from exc
