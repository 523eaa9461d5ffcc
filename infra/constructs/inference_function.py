"""The inference function: a Lambda container image built on a PyTorch DLC, and its `live` alias.

The HTTP API must invoke the alias, never the function ($LATEST): provisioned concurrency lives on
the alias, and traffic that bypasses it pays on-demand cold starts while the warm capacity idles.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import (
    AutoScaledProvisionedConcurrency,
    EnvironmentConfig,
    FixedProvisionedConcurrency,
)
from infra.constructs.retention import log_group
from torchlambda import contract

IMAGE_CONTEXT = Path(__file__).resolve().parents[2] / "lambda_image"


class InferenceFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", config)
        self.role = self._execution_role()
        arm = config.architecture == "arm64"
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description=f"PyTorch model inference ({config.name})",
            code=lambda_.DockerImageCode.from_image_asset(
                str(IMAGE_CONTEXT),
                build_args={"BASE_IMAGE": config.inference_image.uri(config.region)},
                platform=ecr_assets.Platform.LINUX_ARM64
                if arm
                else ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.ARM_64 if arm else lambda_.Architecture.X86_64,
            memory_size=config.memory_mb,
            timeout=Duration.seconds(config.timeout_seconds),
            reserved_concurrent_executions=config.reserved_concurrency,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                contract.ENV_MODEL_DIR: str(contract.MODEL_DIR_IN_IMAGE),
                contract.ENV_TORCH_THREADS: str(config.torch_threads),
                **{name: str(config.torch_threads) for name in contract.LIBRARY_THREAD_VARIABLES},
                contract.ENV_SERVICE_NAME: contract.SERVICE_NAME,
                contract.ENV_METRIC_NAMESPACE: contract.METRIC_NAMESPACE,
                # Lambda's active tracing records every invocation without the X-Ray SDK; the
                # handler's own subsegments would add ~0.25 s of imports to each cold start.
                contract.ENV_TRACE_DISABLED: "true",
            },
        )
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=contract.ALIAS_NAME,
            version=self.function.current_version,
            provisioned_concurrent_executions=config.provisioned_floor or None,
        )
        self.scaling = self._auto_scale(config)
        self._acknowledge_findings()

    def _execution_role(self) -> iam.Role:
        """Only what the function does: write its own logs (the CDK adds X-Ray for tracing)."""
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the inference function",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        return role

    def _auto_scale(self, config: EnvironmentConfig) -> appscaling.ScalableTarget | None:
        pc = config.provisioned_concurrency
        if not isinstance(pc, AutoScaledProvisionedConcurrency):
            assert pc is None or isinstance(pc, FixedProvisionedConcurrency)
            return None
        scaling = self.alias.add_auto_scaling(
            min_capacity=pc.min_capacity, max_capacity=pc.max_capacity
        )
        scaling.scale_on_utilization(utilization_target=pc.target_utilization)
        for schedule in pc.schedules:
            scaling.scale_on_schedule(
                schedule.name,
                schedule=appscaling.Schedule.expression(schedule.cron),
                min_capacity=schedule.min_capacity,
                max_capacity=schedule.max_capacity,
            )
        # The alias's own ScalableTarget construct; exposed for tests and dashboards.
        return next(
            child
            for child in self.alias.node.find_all()
            if isinstance(child, appscaling.ScalableTarget)
        )

    def _acknowledge_findings(self) -> None:
        policy = self.role.node.find_child("DefaultPolicy")
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Only for xray:PutTraceSegments and xray:PutTelemetryRecords, which "
                "support no resource-level permissions.",
            )
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="Serverless-LambdaDLQ",
                reason="Invoked synchronously by the HTTP API only; a failed request returns an "
                "error to its caller, there is no asynchronous event to park in a queue.",
            )
        )
