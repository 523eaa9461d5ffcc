"""The inference function: a Lambda container image built on a PyTorch DLC, and its `live` alias.

The HTTP API must invoke the alias, never the function ($LATEST): provisioned concurrency lives on
the alias, and traffic that bypasses it pays on-demand cold starts while the warm capacity idles.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.challenger import ServedExperiment
from infra.constructs.image import architecture, image_code
from infra.constructs.model_binding import ModelBinding
from infra.constructs.names import name_before_stages
from infra.constructs.retention import log_group
from infra.settings.function import FunctionSettings
from infra.settings.provisioned import ProvisionedConcurrency
from infra.settings.retention import RetentionSettings
from torchlambda import contract


class InferenceFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        function: FunctionSettings,
        provisioned: ProvisionedConcurrency,
        retention: RetentionSettings,
        base_image_uri: str,
        model: ModelBinding,
        experiment: ServedExperiment | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", retention)
        self.role = self._execution_role()
        # The gateway in front must wait longer than this (see HttpApi).
        self.timeout = Duration.seconds(function.timeout_seconds)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description=f"PyTorch model inference ({environment_name})",
            code=image_code(function, base_image_uri=base_image_uri),
            architecture=architecture(function),
            memory_size=function.memory_mb,
            timeout=self.timeout,
            reserved_concurrent_executions=function.reserved_concurrency,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            # Lambda records each invocation's trace itself: the image has no X-Ray SDK.
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **model.environment(),
                # None without an experiment: such a function reads only its champion.
                **(experiment.environment() if experiment else {}),
                contract.ENV_SERVICE_NAME: contract.SERVICE_NAME,
                contract.ENV_METRIC_NAMESPACE: contract.METRIC_NAMESPACE,
            },
            **model.function_props(self.role),
        )
        model.grant_read(self.role)
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=contract.ALIAS_NAME,
            version=self.function.current_version,
            provisioned_concurrent_executions=provisioned.floor or None,
        )
        self._auto_scale(provisioned)
        self._acknowledge_findings()

    def _execution_role(self) -> iam.Role:
        """Its own logs (the CDK adds X-Ray for tracing); the model binding adds what reading the
        model takes."""
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

    def _auto_scale(self, provisioned: ProvisionedConcurrency) -> None:
        target = provisioned.target_utilization
        if target is None:
            return  # nothing to track: the alias keeps its floor
        scaling = self.alias.add_auto_scaling(
            min_capacity=provisioned.floor, max_capacity=provisioned.ceiling
        )
        scaling.scale_on_utilization(
            utilization_target=target,
            # Its name is a replacement property: keep the one the deployed policy has.
            policy_name=name_before_stages(self.alias, "AliasScaling", "Target", "Tracking"),
        )
        for schedule in provisioned.schedules:
            scaling.scale_on_schedule(
                schedule.name,
                schedule=appscaling.Schedule.expression(schedule.cron),
                min_capacity=schedule.min_capacity,
                max_capacity=schedule.max_capacity,
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
