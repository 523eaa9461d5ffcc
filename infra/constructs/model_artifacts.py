"""The artifacts bucket: training data in, trained models out (layout in the README)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import APP_NAME
from infra.constructs.retention import (
    AUTO_DELETE_PROVIDER_ID,
    removal_policy,
    retain_provider_logs,
)
from infra.settings.retention import RetentionSettings

# Old model versions stay recoverable for a while after being overwritten or deleted.
NONCURRENT_VERSION_DAYS = 90
NONCURRENT_VERSIONS_KEPT = 10
INCOMPLETE_UPLOAD_DAYS = 7
# Access logs are versioned so that a deleted log stays recoverable for this long.
ACCESS_LOG_NONCURRENT_DAYS = 30


BUCKET_NAME_FORMAT = APP_NAME.lower() + "-artifacts-{env}-{account}-{region}"


def artifacts_bucket_name(
    environment: str, account: str = Aws.ACCOUNT_ID, region: str = Aws.REGION
) -> str:
    """A fixed, globally unique name: other stacks refer to the bucket without cross-stack
    exports, and the bucket is never replaced by accident (its data outlives every deploy)."""
    return BUCKET_NAME_FORMAT.format(env=environment, account=account, region=region)


def bucket_arn_text(scope: Construct, environment_name: str) -> str:
    """The artifacts bucket's ARN as cdk-nag writes it in a finding id."""
    name = artifacts_bucket_name(environment_name, "<AWS::AccountId>", "<AWS::Region>")
    return f"arn:{Stack.of(scope).partition}:s3:::{name}"


class ModelArtifacts(Construct):
    """Versioned, encrypted, TLS-only bucket with server access logs to a dedicated log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        retention: RetentionSettings,
        events_to_eventbridge: bool = False,
    ) -> None:
        """`events_to_eventbridge`: S3 sends the bucket's object events to the default bus (the
        retrain workflow's data trigger listens there)."""
        super().__init__(scope, construct_id)
        access_log_days = max(retention.log_retention_days, 30)

        def secure_bucket(bucket_id: str, **props: Any) -> s3.Bucket:
            # SSE-S3: S3 server access logging cannot deliver to a bucket encrypted with SSE-KMS.
            return s3.Bucket(
                self,
                bucket_id,
                encryption=s3.BucketEncryption.S3_MANAGED,
                enforce_ssl=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                removal_policy=removal_policy(retention),
                auto_delete_objects=not retention.retain_stateful_resources,
                **props,
            )

        self.access_logs = secure_bucket(
            "AccessLogs",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(access_log_days),
                    noncurrent_version_expiration=Duration.days(ACCESS_LOG_NONCURRENT_DAYS),
                ),
                # Expiring a log leaves a delete marker; once its old version is gone, drop it too.
                s3.LifecycleRule(expired_object_delete_marker=True),
            ],
        )

        self.bucket = secure_bucket(
            "Bucket",
            bucket_name=bucket_name,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    noncurrent_versions_to_retain=NONCURRENT_VERSIONS_KEPT,
                    abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
                )
            ],
        )
        if events_to_eventbridge:
            # On the resource itself: the L2's event_bridge_enabled deploys a custom-resource
            # Lambda function to do what CloudFormation does natively.
            cfn_bucket = self.bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
        retain_provider_logs(self, retention, AUTO_DELETE_PROVIDER_ID, "AutoDeleteObjectsLogs")
