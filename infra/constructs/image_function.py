"""A function of the image with its own entry point, log group and role (docs/architecture.md).

The batch worker, the batch job function and the EFS model copy function are each the inference
image with another CMD: this builds one, with a role that may only write to its own log group
(the CDK adds X-Ray's two actions for tracing), and acknowledges what every such function shares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.image import architecture, image_code
from infra.constructs.retention import log_group
from infra.settings.function import FunctionSettings
from infra.settings.retention import RetentionSettings

XRAY_ONLY = (
    "Only for xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
    "resource-level permissions."
)


class ImageFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        cmd: str,
        function: FunctionSettings,
        base_image_uri: str,
        memory_mb: int,
        timeout_seconds: int,
        reserved_concurrency: int | None,
        retention: RetentionSettings,
        environment: Mapping[str, str],
        dlq_reason: str,
        props_for_role: Callable[[iam.Role], Mapping[str, Any]] | None = None,
    ) -> None:
        """`dlq_reason` says why nothing is queued; `props_for_role` adds the function's own
        properties (a model's /tmp, VPC and mount), granting its role what they take."""
        super().__init__(scope, construct_id)
        self.log_group: logs.LogGroup = log_group(self, "Logs", retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {description}",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description=description,
            code=image_code(function, base_image_uri=base_image_uri, cmd=[cmd]),
            architecture=architecture(function),
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            environment=dict(environment),
            **(props_for_role(self.role) if props_for_role else {}),
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(id="Serverless-LambdaDLQ", reason=dlq_reason)
        )

    def acknowledge_findings(self, findings: Mapping[str, str]) -> None:
        """AwsSolutions-IAM5 findings on the role's policy, each with its reason."""
        policy = self.role.node.find_child("DefaultPolicy")
        for finding, reason in {"Resource::*": XRAY_ONLY, **findings}.items():
            Validations.of(policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )
