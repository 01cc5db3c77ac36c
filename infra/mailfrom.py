"""MAIL FROM: seed 002's REST API (API Gateway -> the API function), the watcher's schedule, and
the SES / Route 53 permissions, scoped to identities and hosted zones where the service allows."""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct
from mailwarden.contracts.apis import (
    INTEGRATION_TIMEOUT_MS,
    RATE_LIMITED,
    RETRY_AFTER_SECONDS,
    mail_from_fault,
    mail_from_unknown_operation,
)

from .api import STAGE, logged_rest_api
from .config import StackConfig
from .functions import MailwardenFunction
from .nag import acknowledge


class MailFromApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, fn: MailwardenFunction) -> None:
        super().__init__(scope, construct_id)
        self.api = logged_rest_api(
            self,
            "Api",
            description="Mailwarden MAIL FROM API (seed 002): PUT /mail-from-attributes, GET "
            "/mail-from-attributes/{identity}; bearer JWT verified by the function",
            config=config,
            account_logging_role=False,  # the approval link API owns the account's logging role
        )
        integration = apigw.LambdaIntegration(fn.function, proxy=True, timeout=Duration.millis(INTEGRATION_TIMEOUT_MS))
        root = self.api.root.add_resource("mail-from-attributes")
        root.add_method("PUT", integration)
        root.add_resource("{identity}").add_method(
            "GET", integration, request_parameters={"method.request.path.identity": True}
        )
        # What API Gateway answers itself (stage throttling, its own faults) gets seed 002's shapes too.
        self.api.add_gateway_response(
            "Throttled",
            type=apigw.ResponseType.THROTTLED,
            status_code="429",
            templates={"application/json": json.dumps(RATE_LIMITED)},
            response_headers={"Retry-After": f"'{RETRY_AFTER_SECONDS}'"},
        )
        self.api.add_gateway_response(
            "Faults",
            type=apigw.ResponseType.DEFAULT_5_XX,
            templates={"application/json": json.dumps(mail_from_fault())},
        )
        self.api.add_gateway_response(  # a method or path the API does not define
            "UnknownOperation",
            type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            status_code="403",
            templates={"application/json": json.dumps(mail_from_unknown_operation())},
        )
        acknowledge(
            self.api,
            "APIG4",
            "Callers present a bearer JWT that the function verifies against the configured issuer's JWKS (signature, "
            "issuer, expiry, audience, scope) so that refusals carry seed 002's exact 401/403 bodies, which an API "
            "Gateway authorizer cannot produce.",
            children=True,
        )
        acknowledge(
            self.api, "COG4", "Any OIDC issuer (Cognito included) is accepted through JWKS; see APIG4.", children=True
        )
        acknowledge(
            self.api,
            "APIG2",
            "The function validates every body and path parameter (pydantic) and answers seed 002's 400 shape with "
            "the causes; an API Gateway validator would answer its own shape.",
            children=True,
        )

    @property
    def url(self) -> str:
        stack = Stack.of(self)
        return f"https://{self.api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{STAGE}/"


def grant_mail_from(fn: MailwardenFunction, hosted_zone_ids: list[str]) -> None:
    """SES identity read and MAIL FROM write on this account's identities; Route 53 on the
    configured hosted zones (all the account's zones when none are configured)."""
    stack = Stack.of(fn)
    identities = stack.format_arn(service="ses", resource="identity", resource_name="*")
    ses_actions = ["ses:GetEmailIdentity", "ses:PutEmailIdentityMailFromAttributes"]
    fn.role.add_to_policy(iam.PolicyStatement(actions=ses_actions, resources=[identities]))
    grant_route53(fn, hosted_zone_ids)
    acknowledge(
        fn.role,
        "IAM5",
        "SES identities are named at run time (any identity of this account and region; MAIL FROM write only); "
        "Route 53 change ids are generated per change; ListHostedZones has no resource-level permissions; "
        "hosted zones are all of the account's unless mailwarden:hostedZoneIds lists them.",
        children=True,
    )


def grant_route53(fn: MailwardenFunction, hosted_zone_ids: list[str]) -> None:
    """Read and change records in the configured hosted zones (all the account's zones when none are
    configured), follow the changes, and list zones (the MAIL FROM API and watcher, the exit)."""
    stack = Stack.of(fn)
    zones = [f"arn:{stack.partition}:route53:::hostedzone/{z}" for z in hosted_zone_ids] or [
        f"arn:{stack.partition}:route53:::hostedzone/*"
    ]
    fn.role.add_to_policy(
        iam.PolicyStatement(
            actions=["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"],
            resources=zones,
        )
    )
    fn.role.add_to_policy(
        iam.PolicyStatement(actions=["route53:GetChange"], resources=[f"arn:{stack.partition}:route53:::change/*"])
    )
    # ListHostedZones supports no resource-level permission (Route 53 service authorization reference).
    fn.role.add_to_policy(iam.PolicyStatement(actions=["route53:ListHostedZones"], resources=["*"]))
    acknowledge(
        fn.role,
        "IAM5",
        "Route 53 change ids are generated per change; ListHostedZones has no resource-level permissions; "
        "hosted zones are all of the account's unless mailwarden:hostedZoneIds lists them.",
        children=True,
    )
