"""WorkMail offboarding: where mailboxes are exported (KMS key, bucket, the role WorkMail assumes)
and what the two WorkMail functions may do (per action, on this account's organizations)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .functions import MailwardenFunction
from .nag import acknowledge

EXPORT_PREFIX = "mailbox-exports"
DOCUMENTS_PREFIX = "decommissions"  # plans and reports the workflow steps keep (mailwarden.workmail.offboarding)
EXIT_PREFIX = "exits"  # an organization exit's inventory, manifest, plans and report (mailwarden.workmail.exit)

READS = [
    "DescribeOrganization",
    "DescribeUser",
    "DescribeGroup",
    "DescribeResource",
    "ListUsers",
    "ListGroups",
    "ListGroupMembers",
    "ListGroupsForEntity",
    "ListMailboxPermissions",
    "ListAliases",
    "ListResources",
    "ListResourceDelegates",
    "ListMailboxExportJobs",
    "DescribeMailboxExportJob",
]
OFFBOARD_WRITES = [
    "StartMailboxExportJob",
    "DisassociateMemberFromGroup",
    "DeleteMailboxPermissions",
    "DisassociateDelegateFromResource",
    "DeregisterFromWorkMail",
    "DeleteUser",
]
EXIT_READS = ["GetMailboxDetails", "ListMailDomains", "GetMailDomain"]
EXIT_WRITES = [
    "StartMailboxExportJob",
    "DeregisterFromWorkMail",
    "DeleteUser",
    "DeleteGroup",
    "DeleteResource",
    "DeregisterMailDomain",
    "DeleteOrganization",
]
RESTORE_WRITES = [
    "RegisterToWorkMail",
    "CreateAlias",
    "AssociateMemberToGroup",
    "PutMailboxPermissions",
    "AssociateDelegateToResource",
]


class MailboxExports(Construct):
    """A customer-managed KMS key (rotated), a private SSE-KMS bucket (TLS only, versioned, access
    logged, kept on stack deletion) and a role only ``export.workmail.amazonaws.com`` may assume,
    for this account, that can write archives under ``mailbox-exports/`` and nothing else."""

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            description="Mailwarden mailbox exports",
            removal_policy=RemovalPolicy.RETAIN,
        )
        logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(retention_days))],
        )
        acknowledge(logs, "S1", "This is the access-log bucket of the export bucket; logging it again would recurse.")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=logs,
            server_access_logs_prefix="exports/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "export.workmail.amazonaws.com",
                conditions={"StringEquals": {"sts:ExternalId": stack.account}},
            ),
            description="Assumed by WorkMail to write mailbox exports (StartMailboxExportJob)",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects(f"{EXPORT_PREFIX}/*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetBucketPolicyStatus"], resources=[self.bucket.bucket_arn])
        )
        self.key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        acknowledge(
            self.role,
            "IAM5",
            "Archive names are chosen by WorkMail at export time: writes are limited to the mailbox-exports/ "
            "prefix of the one export bucket.",
            {"regex": "/^Resource::<.*Bucket.*\\.Arn>/mailbox-exports/\\*$/g"},
            children=True,
        )


def grant_documents(
    exports: MailboxExports,
    role: iam.IRole,
    actions: list[str],
    key_actions: list[str],
    prefix: str = DOCUMENTS_PREFIX,
) -> None:
    """``s3:<actions>`` on the workflows' documents (``<prefix>/*`` of the export bucket: decommissions
    or exits) and the bucket key's ``key_actions`` (the bucket encrypts with the export key)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[f"s3:{a}" for a in actions], resources=[exports.bucket.arn_for_objects(f"{prefix}/*")]
        )
    )
    if key_actions:
        role.add_to_principal_policy(iam.PolicyStatement(actions=key_actions, resources=[exports.key.key_arn]))
    acknowledge(
        role,
        "IAM5",
        f"Documents are named by request id at run time: access is limited to the {prefix}/ prefix of the one "
        "export bucket.",
        {"regex": f"/^Resource::<.*Bucket.*\\.Arn>/{prefix}/\\*$/g"},
        children=True,
    )


def organizations(scope: Construct) -> str:
    return Stack.of(scope).format_arn(service="workmail", resource="organization", resource_name="*")


def grant_workmail(fn: MailwardenFunction, actions: list[str]) -> None:
    """WorkMail actions on this account's and region's organizations (created outside the stack,
    named by id in each request: the organization ARN is the narrowest resource WorkMail offers)."""
    fn.role.add_to_policy(
        iam.PolicyStatement(actions=[f"workmail:{a}" for a in actions], resources=[organizations(fn)])
    )
    acknowledge(
        fn.role,
        "IAM5",
        "WorkMail organizations are not created by this stack and are named in each request; actions are listed"
        " one by one and limited to this account's and region's organizations.",
        {"regex": "/^Resource::arn:<AWS::Partition>:workmail:.*:organization/\\*$/g"},
        children=True,
    )
