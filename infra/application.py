"""Assembles the CDK app: which environments to synthesize, their stacks, and the cdk-nag gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import APP_NAME, ENVIRONMENTS, EnvironmentConfig, get_environment
from infra.stacks.artifacts_stack import ArtifactsStack
from infra.stacks.serving_stack import ServingStack
from infra.stacks.training_stack import TrainingStack


def select_environments(name: str | None) -> list[EnvironmentConfig]:
    """All environments, or the one named by `-c env=NAME` (unknown names raise ConfigError)."""
    if name is None:
        return list(ENVIRONMENTS.values())
    return [get_environment(name)]


@dataclass(frozen=True)
class EnvironmentStacks:
    artifacts: ArtifactsStack
    training: TrainingStack
    serving: ServingStack

    def items(self) -> list[tuple[str, cdk.Stack]]:
        """(component, stack) pairs; components are the keys of config.STACK_OUTPUTS."""
        return [
            ("Artifacts", self.artifacts),
            ("Training", self.training),
            ("Serving", self.serving),
        ]


def add_environment(
    app: cdk.App, config: EnvironmentConfig, *, default_account: str | None
) -> EnvironmentStacks:
    common: dict[str, Any] = {
        "config": config,
        "env": cdk.Environment(account=config.account or default_account, region=config.region),
        "termination_protection": config.is_production,
    }
    artifacts = ArtifactsStack(
        app,
        config.stack_name("Artifacts"),
        description=f"Model artifacts bucket ({config.name})",
        **common,
    )
    training = TrainingStack(
        app,
        config.stack_name("Training"),
        description=f"Model training on CodeBuild in a PyTorch DLC ({config.name})",
        **common,
    )
    serving = ServingStack(
        app,
        config.stack_name("Serving"),
        description=f"Model inference: Lambda alias behind an HTTP API ({config.name})",
        **common,
    )
    training.add_stack_dependency(artifacts, "trains from and publishes to the artifacts bucket")
    stacks = EnvironmentStacks(artifacts=artifacts, training=training, serving=serving)
    for _, stack in stacks.items():
        cdk.Tags.of(stack).add("project", APP_NAME)
        cdk.Tags.of(stack).add("environment", config.name)
    return stacks


def attach_nag(app: cdk.App) -> None:
    """Fail synthesis on any unacknowledged AwsSolutions or Serverless finding."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
