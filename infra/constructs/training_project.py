"""Cloud training: a CodeBuild project that runs training/buildspec.yml inside the PyTorch DLC."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra import dlc
from infra.constructs.model_artifacts import bucket_arn_text
from infra.constructs.retention import log_group
from infra.settings.retention import RetentionSettings
from infra.settings.training import TrainingSettings
from torchlambda import contract

REPO_ROOT = Path(__file__).resolve().parents[2]
# The source zip holds exactly what training needs, at the same paths as in the repository:
# the training package, the tooling it shares with ops, and of the runtime package what it
# shares with the inference image (the contract, the model definition, build ids and S3's
# conditional writes).
SOURCE_EXCLUDES = [
    "*",
    ".*",
    "!training",
    "!training/**",
    "!tooling",
    "!tooling/**",
    "!lambda_image",
    "!lambda_image/app",
    "!lambda_image/app/torchlambda",
    "!lambda_image/app/torchlambda/__init__.py",
    "!lambda_image/app/torchlambda/contract.py",
    "!lambda_image/app/torchlambda/build_ids.py",
    "!lambda_image/app/torchlambda/s3_conditional.py",
    "!lambda_image/app/torchlambda/predictor",
    "!lambda_image/app/torchlambda/predictor/**",
    "training/data",  # data comes from the bucket's data/ prefix
    "training/benchmarks",
    "**/__pycache__",
    "**/.*",
]
COMPUTE = {
    "small": codebuild.ComputeType.SMALL,
    "medium": codebuild.ComputeType.MEDIUM,
    "large": codebuild.ComputeType.LARGE,
    "gpu": codebuild.ComputeType.LARGE,  # GPU containers come on LARGE only
}
TIMEOUT = Duration.minutes(60)


class TrainingProject(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        training: TrainingSettings,
        retention: RetentionSettings,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.source = s3_assets.Asset(self, "Source", path=str(REPO_ROOT), exclude=SOURCE_EXCLUDES)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts training build artifacts and logs ({environment_name})",
            enable_key_rotation=True,
        )
        self.log_group = log_group(self, "Logs", retention)
        self.model_prefix = contract.environment_models_prefix(environment_name)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Service role of the training project ({environment_name})",
        )
        self.project = codebuild.Project(
            self,
            "Project",
            description=(
                f"Trains the model in the PyTorch DLC and publishes it ({environment_name})"
            ),
            source=codebuild.Source.s3(bucket=self.source.bucket, path=self.source.s3_object_key),
            build_spec=codebuild.BuildSpec.from_source_filename("training/buildspec.yml"),
            environment=codebuild.BuildEnvironment(
                build_image=self._build_image(training),
                compute_type=COMPUTE[training.compute],
            ),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value)
                for name, value in {
                    "ARTIFACTS_BUCKET": bucket.bucket_name,
                    "ENVIRONMENT_NAME": environment_name,
                    "TRAINING_DATA_KEY": training.data_key,
                    "MAX_VALIDATION_MSE": str(training.max_validation_mse),
                }.items()
            },
            encryption_key=self.key,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
            ),
            timeout=TIMEOUT,
            queued_timeout=Duration.minutes(30),
            # The project's own grants are broader than a build needs (the whole CDK asset bucket,
            # a default log group it never writes to, report groups it has none of): they are
            # dropped, and _grant_build_access writes out each statement the role gets instead.
            role=self.role.without_policy_updates(),
        )
        self._grant_build_access()
        self._grant_artifact_access(bucket, environment_name)
        self._acknowledge_findings(environment_name)

    def _build_image(self, training: TrainingSettings) -> codebuild.IBuildImage:
        image = training.image
        spec = image.spec
        stack = Stack.of(self)
        if image.registry == "public":
            return codebuild.LinuxBuildImage.from_docker_registry(image.uri(stack.region))
        account = dlc.dlc_registry_account(stack.region)
        repository = ecr.Repository.from_repository_attributes(
            self,
            "DlcRepository",
            repository_arn=stack.format_arn(
                service="ecr", account=account, resource="repository", resource_name=spec.repository
            ),
            repository_name=spec.repository,
        )
        # Pulled with the project's service role: read on this one repository.
        repository.grant_pull(self.role)
        if spec.accelerator == "gpu":
            return codebuild.LinuxGpuBuildImage.aws_deep_learning_containers_image(
                spec.repository, spec.tag, account
            )
        return codebuild.LinuxBuildImage.from_ecr_repository(repository, spec.tag)

    def _grant_build_access(self) -> None:
        """What CodeBuild itself does with the role: fetch the source, write logs, use the key."""
        # CodeBuild's documented needs for an S3 source: GetObject/GetObjectVersion on the archive,
        # and GetBucketAcl/GetBucketLocation on its bucket (it checks the bucket's owner and
        # region). No listing: the archive's key is known.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.source.bucket.arn_for_objects(self.source.s3_object_key)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketAcl", "s3:GetBucketLocation"],
                resources=[self.source.bucket.bucket_arn],
            )
        )
        # Streams in the stack's own log group (CreateLogStream, PutLogEvents): no CreateLogGroup.
        self.log_group.grant_write(self.role)
        self.key.grant_encrypt_decrypt(self.role)

    def _grant_artifact_access(self, bucket: s3.IBucket, environment_name: str) -> None:
        """Read training data, add this environment's models: nothing else in the bucket."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{contract.DATA_PREFIX}*")],
            )
        )
        # Listing these prefixes only; publish reads the pointer's ETag from a listing.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={
                    "StringLike": {
                        "s3:prefix": [f"{contract.DATA_PREFIX}*", f"{self.model_prefix}*"]
                    }
                },
            )
        )
        # Create-only: a build can add objects but never replace another build's.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{self.model_prefix}*")],
                conditions={"StringEquals": {"s3:if-none-match": "*"}},
            )
        )
        # The pointer alone may also be replaced, and only with If-Match on the ETag publish read:
        # two builds racing to move it cannot silently overwrite each other.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{self.model_prefix}{contract.POINTER_FILE}")],
                conditions={"Null": {"s3:if-match": "false"}},
            )
        )

        # Create-only still lets a first object appear: training must never name a champion
        # (only the retrain workflow's promoter or `make promote` may).
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(contract.champion_key(environment_name))],
            )
        )

    def _acknowledge_findings(self, environment_name: str) -> None:
        Validations.of(self.project).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CB5",
                reason="The build image is the AWS Deep Learning Container on purpose: training "
                "runs on the same PyTorch build the inference image is based on.",
            )
        )
        bucket_arn = bucket_arn_text(self, environment_name)
        findings = {
            "Action::kms:GenerateDataKey*": "CDK grant on this project's own encryption key only.",
            "Action::kms:ReEncrypt*": "CDK grant on this project's own encryption key only.",
            f"Resource::{bucket_arn}/{contract.DATA_PREFIX}*": (
                "Reads training data: any object under data/, named by whoever uploads it."
            ),
            f"Resource::{bucket_arn}/{self.model_prefix}*": (
                "Creates models under this environment's prefix only (If-None-Match: never "
                "replaces an object); build ids exist at run time."
            ),
        }
        policy = self.role.node.find_child("DefaultPolicy")
        for finding, reason in findings.items():
            Validations.of(policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )
