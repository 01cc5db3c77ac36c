"""Least-privilege access to Partner Central connection preferences: the two actions Mailwarden
uses, for the catalogs the policy lists, nothing else.

The Service Authorization Reference lists no resource type for partnercentral:GetConnectionPreferences
and UpdateConnectionPreferences, only the ``partnercentral:Catalog`` condition key: a grant on catalog
ARNs never matches (AccessDenied on the first call). The grant is therefore ``Resource: "*"``,
scoped by ``StringEquals partnercentral:Catalog`` to the listed catalogs.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from .functions import MailwardenFunction
from .nag import acknowledge

ACTIONS = ["partnercentral:GetConnectionPreferences", "partnercentral:UpdateConnectionPreferences"]


def grant_partner(fn: MailwardenFunction, catalogs: list[str]) -> None:
    """Nothing is granted while the policy lists no catalog (the function then reads nothing)."""
    if not catalogs:
        return
    fn.role.add_to_policy(
        iam.PolicyStatement(
            actions=ACTIONS,
            resources=["*"],
            conditions={"StringEquals": {"partnercentral:Catalog": sorted(catalogs)}},
        )
    )
    acknowledge(
        fn.role,
        "IAM5",
        "partnercentral:Get/UpdateConnectionPreferences support no resource-level permissions (Service "
        "Authorization Reference): '*', limited by the partnercentral:Catalog condition to the catalogs the "
        "policy lists.",
        "Resource::*",
        children=True,
    )
