"""Where the pipeline keeps its artifacts (the source, the cloud assembly) and its build logs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.retention import log_group, removal_policy
from infra.settings.retention import RetentionSettings

# Every run uploads its own source zip and cloud assembly, and a run lasts days at most (an
# approval times out after 7): older artifacts serve nothing.
ARTIFACT_DAYS = 30


class PipelineArtifacts(Construct):
    """A KMS-encrypted, TLS-only artifact bucket with server access logs, and one log group for
    every CodeBuild project of the pipeline.

    The customer managed key serves two ends: CodeBuild projects bound to the pipeline encrypt
    their output with the artifact bucket's key, and a deployment into another account can be
    granted that key (AWS's own S3 key cannot be shared across accounts).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, retention: RetentionSettings
    ) -> None:
        super().__init__(scope, construct_id)
        removal = removal_policy(retention)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the delivery pipeline's artifacts",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # SSE-S3: S3 server access logging cannot deliver to a bucket encrypted with SSE-KMS.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(max(retention.log_retention_days, 30)))
            ],
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            removal_policy=removal,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(ARTIFACT_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        self.build_logs: logs.LogGroup = log_group(self, "BuildLogs", retention)
