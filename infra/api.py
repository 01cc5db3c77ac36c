"""The REST APIs' common shape: regional, throttled per stage, traced, access-logged without query
strings or bodies (approval links carry signatures; MAIL FROM requests carry bearer tokens)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from .config import StackConfig
from .functions import retained_log_group
from .nag import acknowledge

STAGE = "prod"


def logged_rest_api(
    scope: Construct, construct_id: str, *, description: str, config: StackConfig, account_logging_role: bool
) -> apigw.RestApi:
    """``account_logging_role``: create API Gateway's account-wide CloudWatch role (one API per
    account region needs it; the others must not, or they fight over the account setting)."""
    access_logs = retained_log_group(
        scope, f"{construct_id}AccessLogs", name=None, retention_days=config.log_retention_days
    )
    api = apigw.RestApi(
        scope,
        construct_id,
        description=description,
        endpoint_types=[apigw.EndpointType.REGIONAL],
        cloud_watch_role=account_logging_role,
        cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if account_logging_role else None,
        deploy_options=apigw.StageOptions(
            stage_name=STAGE,
            throttling_rate_limit=config.api_throttle_rate,
            throttling_burst_limit=config.api_throttle_burst,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,  # never log requests: they carry signatures and tokens
            metrics_enabled=True,
            tracing_enabled=True,
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=False,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=False,
            ),
        ),
    )
    acknowledge(
        api,
        "APIG3",
        "Stage throttling (mailwarden:apiThrottleRate/Burst) bounds this low-volume API; attach a WAF web ACL to "
        "the stage if your organization requires one.",
        children=True,
    )
    if account_logging_role:
        acknowledge(
            api,
            "IAM4",
            "API Gateway's account-level CloudWatch role uses the AWS-managed "
            "AmazonAPIGatewayPushToCloudWatchLogs policy, as AWS documents for execution logging.",
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            children=True,
        )
    return api
