"""Cloud training: a CodeBuild project that runs training/buildspec.yml inside the PyTorch DLC."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Stack, Token, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra import dlc
from infra.config import EnvironmentConfig
from infra.constructs.model_artifacts import artifacts_bucket_name
from infra.constructs.retention import log_group

REPO_ROOT = Path(__file__).resolve().parents[2]
# The source zip holds exactly what training needs, at the same paths as in the repository:
# the training package and the model definition it shares with the inference image.
SOURCE_EXCLUDES = [
    "*",
    ".*",
    "!training",
    "!training/**",
    "!lambda_image",
    "!lambda_image/app",
    "!lambda_image/app/predictor",
    "!lambda_image/app/predictor/**",
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
        config: EnvironmentConfig,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.source = s3_assets.Asset(self, "Source", path=str(REPO_ROOT), exclude=SOURCE_EXCLUDES)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts training build artifacts and logs ({config.name})",
            enable_key_rotation=True,
        )
        self.log_group = log_group(self, "Logs", config)
        self.model_prefix = f"models/{config.name}/"
        self.project = codebuild.Project(
            self,
            "Project",
            description=f"Trains the model in the PyTorch DLC and publishes it ({config.name})",
            source=codebuild.Source.s3(bucket=self.source.bucket, path=self.source.s3_object_key),
            build_spec=codebuild.BuildSpec.from_source_filename("training/buildspec.yml"),
            environment=codebuild.BuildEnvironment(
                build_image=self._build_image(config),
                compute_type=COMPUTE[config.training_compute],
            ),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value)
                for name, value in {
                    "ARTIFACTS_BUCKET": bucket.bucket_name,
                    "ENVIRONMENT_NAME": config.name,
                    "TRAINING_DATA_KEY": config.training_data_key,
                    "MAX_VALIDATION_MSE": str(config.max_validation_mse),
                }.items()
            },
            encryption_key=self.key,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
            ),
            timeout=TIMEOUT,
            queued_timeout=Duration.minutes(30),
        )
        self._grant_artifact_access(bucket)
        self._acknowledge_findings(config)

    def _build_image(self, config: EnvironmentConfig) -> codebuild.IBuildImage:
        image = config.training_image
        spec = image.spec
        if image.registry == "public":
            return codebuild.LinuxBuildImage.from_docker_registry(image.uri(config.region))
        account = dlc.dlc_registry_account(config.region)
        if spec.accelerator == "gpu":
            return codebuild.LinuxGpuBuildImage.aws_deep_learning_containers_image(
                spec.repository, spec.tag, account
            )
        repository = ecr.Repository.from_repository_attributes(
            self,
            "DlcRepository",
            repository_arn=Stack.of(self).format_arn(
                service="ecr", account=account, resource="repository", resource_name=spec.repository
            ),
            repository_name=spec.repository,
        )
        # Pulled with the project's service role (the CDK grants it read on this repository).
        return codebuild.LinuxBuildImage.from_ecr_repository(repository, spec.tag)

    def _grant_artifact_access(self, bucket: s3.IBucket) -> None:
        """Read training data, write this environment's models: nothing else in the bucket."""
        role = self.project.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects("data/*")]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["data/*", f"{self.model_prefix}*"]}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{self.model_prefix}*")],
            )
        )

    def _acknowledge_findings(self, config: EnvironmentConfig) -> None:
        Validations.of(self.project).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CB5",
                reason="The build image is the AWS Deep Learning Container on purpose: training "
                "runs on the same PyTorch build the inference image is based on.",
            )
        )
        stack = Stack.of(self)
        project = stack.resolve(stack.get_logical_id(self.project.node.default_child))  # type: ignore[arg-type]
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        arn_prefix = f"arn:{stack.partition}:{{service}}:{config.region}:{account}"
        logs_arn = arn_prefix.format(service="logs")
        # cdk-nag names pseudo parameters this way in its finding ids.
        bucket_name = artifacts_bucket_name(config, "<AWS::AccountId>", "<AWS::Region>")
        bucket_arn_text = f"arn:{stack.partition}:s3:::{bucket_name}"
        findings = {
            "Action::kms:GenerateDataKey*": "CDK grant on this project's own encryption key only.",
            "Action::kms:ReEncrypt*": "CDK grant on this project's own encryption key only.",
            "Action::s3:GetBucket*": "Read-only grant of the CDK's S3 source binding, scoped to "
            "the one source archive in the CDK asset bucket.",
            "Action::s3:GetObject*": "Read-only grant of the CDK's S3 source binding, scoped to "
            "the one source archive in the CDK asset bucket.",
            "Action::s3:List*": "Read-only grant of the CDK's S3 source binding, scoped to "
            "the one source archive in the CDK asset bucket.",
            f"Resource::{arn_prefix.format(service='codebuild')}:report-group/<{project}>-*": (
                "CodeBuild's default grant, limited to report groups named after this project."
            ),
            f"Resource::{logs_arn}:log-group:/aws/codebuild/<{project}>:*": (
                "CodeBuild's default log group of this project; its streams are named per build."
            ),
            f"Resource::{bucket_arn_text}/data/*": (
                "Reads training data: any object under data/, named by whoever uploads it."
            ),
            f"Resource::{bucket_arn_text}/{self.model_prefix}*": (
                "Writes models under this environment's prefix only; build ids exist at run time."
            ),
        }
        policy = self.project.role.node.find_child("DefaultPolicy")  # type: ignore[union-attr]
        for finding, reason in findings.items():
            Validations.of(policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )
