"""The approval mechanism's AWS resources: the two SNS topics (KMS, TLS only), one email
subscription per approver (filtered to that approver's messages), the HMAC signing secret, and
the link API (API Gateway, throttled, logged without query strings).

The callback resumes the waiting tasks (states:SendTaskSuccess/Failure): the Service Authorization
Reference lists no resource type and no condition key for them, so only ``Resource: "*"`` matches
(a grant on the state machine ARNs is AccessDenied); the unguessable task token is the capability.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from mailwarden.contracts.topics import APPROVAL_DECISIONS, APPROVAL_REQUESTS, APPROVER_ATTRIBUTE, TOPICS

from .api import STAGE, logged_rest_api
from .config import StackConfig
from .nag import acknowledge
from .queues import dead_letter_queue


class Approvals(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.key = kms.Key(
            self,
            "Key",
            description="Mailwarden approvals: SNS topics and the link-signing secret",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.topics = {t.name: self._topic(t.name, t.description) for t in TOPICS}
        self.requests_topic = self.topics[APPROVAL_REQUESTS.name]
        self.decisions_topic = self.topics[APPROVAL_DECISIONS.name]
        for email in config.approver_emails:
            self.requests_topic.add_subscription(
                subs.EmailSubscription(
                    email,
                    filter_policy={APPROVER_ATTRIBUTE: sns.SubscriptionFilter.string_filter(allowlist=[email.lower()])},
                )
            )
        self.secret = secretsmanager.Secret(
            self,
            "SigningKey",
            description="HMAC key that signs approval links and decisions (AWSCURRENT signs; AWSPREVIOUS still "
            "verifies, so rotating does not break links already sent)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.secret,
            "SMG4",
            "Rotate with `aws secretsmanager put-secret-value` (any random 64 chars); verification accepts "
            "AWSCURRENT and AWSPREVIOUS, so links in flight survive one rotation. A rotation Lambda would add "
            "nothing for an HMAC key.",
        )
        self.api = self._api()

    def _topic(self, name: str, description: str) -> sns.Topic:
        construct_id = "".join(p.title() for p in name.split("-")) + "Topic"
        return sns.Topic(
            self, construct_id, display_name=f"Mailwarden {name}"[:100], master_key=self.key, enforce_ssl=True
        )

    def _api(self) -> apigw.RestApi:
        return logged_rest_api(
            self,
            "LinkApi",
            description="Mailwarden approval links: GET shows a confirmation page, POST decides",
            config=self.config,
            account_logging_role=True,
        )

    # ------------------------------------------------------------------ wiring

    def connect(
        self,
        *,
        request_fn: lambda_.IFunction,
        callback_fn: lambda_.IFunction,
    ) -> None:
        """Grant the two functions exactly what they use and attach the callback to both doors."""
        validator = self.api.add_request_validator(
            "LinkValidator", validate_request_parameters=True, validate_request_body=True
        )
        resource = self.api.root.add_resource("approvals").add_resource("{id}")
        integration = apigw.LambdaIntegration(callback_fn, proxy=True)
        required = {"method.request.path.id": True}
        resource.add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={
                **required,
                **{f"method.request.querystring.{q}": True for q in ("decision", "approver", "expires", "sig")},
            },
        )
        resource.add_method("POST", integration, request_validator=validator, request_parameters=required)
        acknowledge(
            self.api,
            "APIG4",
            "Approval links are capability URLs: every request carries an HMAC signature bound to the request "
            "id, decision, approver and expiry, verified by the function; approvers have no AWS or Cognito "
            "identity to authorize with.",
            children=True,
        )
        acknowledge(
            self.api, "COG4", "No Cognito user pool: authorization is the HMAC-signed link (see APIG4).", children=True
        )
        self.decisions_topic.add_subscription(
            subs.LambdaSubscription(callback_fn, dead_letter_queue=self._delivery_dlq())
        )

        for fn in (request_fn, callback_fn):
            self.secret.grant_read(fn)
        assert request_fn.role is not None and callback_fn.role is not None
        self.grant_publish(request_fn.role, self.requests_topic)
        callback_fn.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"])
        )
        acknowledge(
            callback_fn.role,
            "IAM5",
            "states:SendTaskSuccess/SendTaskFailure support no resource-level permissions and no condition keys "
            "(Service Authorization Reference): only '*' matches. The task token, unguessable and known only to "
            "the approval record, is what limits them to the task waiting for this decision.",
            "Resource::*",
            children=True,
        )

    def grant_publish(self, role: iam.IRole, topic: sns.ITopic) -> None:
        """sns:Publish on one of these topics, and the key SNS encrypts it with. Explicit rather than
        grant_publish, which adds kms:GenerateDataKey* (a wildcard action). PublishBatch is authorized
        by sns:Publish; SNS encrypts with the key on the publisher's behalf."""
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )

    def allow_alarms(self) -> None:
        """CloudWatch alarms publish to the (KMS-encrypted) operations topic with this key."""
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:GenerateDataKey", "kms:Decrypt")

    def _delivery_dlq(self) -> sqs.Queue:
        """Where SNS parks decisions it could not deliver to the callback. Encrypted with this
        construct's key: SNS cannot write to queues under the AWS-managed SQS key."""
        self.key.grant(iam.ServicePrincipal("sns.amazonaws.com"), "kms:GenerateDataKey", "kms:Decrypt")
        queue = dead_letter_queue(self, "DecisionDeliveryDlq", what="SNS redrive for decisions", key=self.key)
        return queue

    @property
    def base_url(self) -> str:
        """The stage URL built from the API id alone: ``api.url`` would make every function that
        sends links depend on the deployment, and so on the callback and the state machines."""
        stack = Stack.of(self)
        return f"https://{self.api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{STAGE}/"

    @property
    def timeout(self) -> Duration:
        return Duration.hours(self.config.approval_timeout_hours)
