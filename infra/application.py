"""Assembles the CDK app: which environments to synthesize, one stage each, and the cdk-nag gate."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import ENVIRONMENTS, EnvironmentConfig, get_environment
from infra.stage import EnvironmentStage


def select_environments(name: str | None) -> list[EnvironmentConfig]:
    """All environments, or the one named by `-c env=NAME` (unknown names raise ConfigError)."""
    if name is None:
        return list(ENVIRONMENTS.values())
    return [get_environment(name)]


def build_app(
    app: cdk.App, environments: Iterable[EnvironmentConfig], *, default_account: str | None
) -> list[EnvironmentStage]:
    """One stage per environment, every one of them behind the cdk-nag gate."""
    stages = [
        EnvironmentStage(app, config=config, default_account=default_account)
        for config in environments
    ]
    attach_nag(app)
    return stages


def attach_nag(app: cdk.App) -> None:
    """Fail synthesis on any unacknowledged AwsSolutions or Serverless finding.

    Registered on the app, the packs check every stack of every nested stage: CDK hands an app's
    plugins all the stacks of its assembly, nested ones included, and cdk-nag walks the whole tree.
    """
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
