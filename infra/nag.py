"""cdk-nag acknowledgements: every one names the rule, says why, and (where the rule reports
resources or policies) which ones it covers."""

from __future__ import annotations

from typing import Any

from cdk_nag import NagSuppressions
from constructs import IConstruct


def acknowledge(
    construct: IConstruct,
    rule: str,
    reason: str,
    *applies_to: str | dict[str, str],
    children: bool = False,
) -> None:
    """Acknowledge ``AwsSolutions-<rule>`` on ``construct`` (and its children) with ``reason``;
    ``applies_to``: the findings covered (``"Resource::*"`` or ``{"regex": ...}``), default all."""
    entry: dict[str, Any] = {"id": f"AwsSolutions-{rule}", "reason": reason}
    if applies_to:
        entry["appliesTo"] = list(applies_to)
    NagSuppressions.add_resource_suppressions(construct, [entry], apply_to_children=children)
