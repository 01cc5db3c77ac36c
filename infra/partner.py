"""Least-privilege access to Partner Central connection preferences: the two actions Mailwarden
uses, on the connection-preferences ARN of each catalog the policy lists, nothing else."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from .functions import MailwardenFunction

ACTIONS = ["partnercentral:GetConnectionPreferences", "partnercentral:UpdateConnectionPreferences"]


def connection_preferences_arn(fn: MailwardenFunction, region: str, catalog: str) -> str:
    stack = Stack.of(fn)
    return f"arn:{stack.partition}:partnercentral:{region}:{stack.account}:catalog/{catalog}/connection-preferences"


def grant_partner(fn: MailwardenFunction, region: str, catalogs: list[str]) -> None:
    """Nothing is granted while the policy lists no catalog (the function then reads nothing)."""
    if catalogs:
        arns = [connection_preferences_arn(fn, region, c) for c in catalogs]
        fn.role.add_to_policy(iam.PolicyStatement(actions=ACTIONS, resources=arns))
