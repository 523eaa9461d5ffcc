"""Safe rollout of new versions: CodeDeploy shifts the `live` alias and rolls back on alarm."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.settings.rollout import DeploymentStrategy


class DeploymentConfigs:
    """Builds the CodeDeploy configuration a strategy asks for (a settings.rollout builder)."""

    def __init__(self, scope: Construct) -> None:
        self._scope = scope

    def all_at_once(self) -> codedeploy.ILambdaDeploymentConfig:
        return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE

    def canary(self, *, percentage: int, minutes: int) -> codedeploy.ILambdaDeploymentConfig:
        return codedeploy.LambdaDeploymentConfig(
            self._scope,
            "Canary",
            traffic_routing=codedeploy.TimeBasedCanaryTrafficRouting(
                interval=Duration.minutes(minutes), percentage=percentage
            ),
        )


class Rollout(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        strategy: DeploymentStrategy,
        alias: lambda_.Alias,
        alarms: Sequence[cw.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "DeploymentGroup",
            alias=alias,
            deployment_config=strategy.build(DeploymentConfigs(self)),
            alarms=list(alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        Validations.of(self.deployment_group.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSCodeDeployRoleForLambdaLimited]",
                reason="AWS's narrowed managed policy for CodeDeploy on Lambda: shifts alias "
                "weights and reads the rollback alarms; tracks API changes AWS makes for it.",
            )
        )
