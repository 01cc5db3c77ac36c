"""SESv2 reputation-entity adapter."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..errors import NotFound
from ..reputation.model import EntityState
from .errors import translate


def entity_from_wire(item: dict[str, Any]) -> EntityState:
    return EntityState(
        reference=item["ReputationEntityReference"],
        policy=item.get("ReputationManagementPolicy", ""),
        customer_status=item.get("CustomerManagedStatus", {}).get("Status", "ENABLED"),
        ses_status=item.get("AwsSesManagedStatus", {}).get("Status", "ENABLED"),
        aggregate=item.get("SendingStatusAggregate", "ENABLED"),
        impact=item.get("ReputationImpact"),
    )


class SesReputation:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, reference: str) -> EntityState | None:
        try:
            out = self.client.get_reputation_entity(
                ReputationEntityType="RESOURCE", ReputationEntityReference=reference
            )
        except ClientError as exc:
            error = translate(exc)
            if isinstance(error, NotFound):
                return None
            raise error from exc
        return entity_from_wire(out["ReputationEntity"])
