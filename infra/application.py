"""Assembles the CDK app: which environments to synthesize, one stage each, and the cdk-nag gate."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import ENVIRONMENTS, ConfigError, EnvironmentConfig, get_environment
from infra.delivery.pipeline_stack import DeliveryStack
from infra.settings.delivery import DeliverySettings
from infra.settings.model_source import BuildOverride
from infra.stage import EnvironmentStage

# Context keys naming the published build an S3 or EFS environment serves (`-c key=value`).
MODEL_BUILD_CONTEXT = "model_build"
MODEL_SHA256_CONTEXT = "model_sha256"
MODEL_SIZE_CONTEXT = "model_size_mb"
# `-c delivery=1`: the delivery pipeline's stack instead of the environments' stages.
DELIVERY_CONTEXT = "delivery"


def build_override(context: Callable[[str], object]) -> BuildOverride | None:
    """The build given as context, if any: build id and sha256 together, the size optional."""
    build, sha256, size = (
        context(key) for key in (MODEL_BUILD_CONTEXT, MODEL_SHA256_CONTEXT, MODEL_SIZE_CONTEXT)
    )
    if build is None and sha256 is None and size is None:
        return None
    if build is None or sha256 is None:
        raise ConfigError(
            f"-c {MODEL_BUILD_CONTEXT}=... and -c {MODEL_SHA256_CONTEXT}=... go together: a "
            "build is served only pinned to its weights' sha256"
        )
    try:
        size_mb = None if size is None else float(str(size))
    except ValueError:
        raise ConfigError(f"-c {MODEL_SIZE_CONTEXT}={size!r} is not a number of MB") from None
    return BuildOverride(build_id=str(build), sha256=str(sha256), size_mb=size_mb)


def select_environments(
    name: str | None, build: BuildOverride | None = None
) -> list[EnvironmentConfig]:
    """All environments, or the one named by `-c env=NAME` (unknown names raise ConfigError),
    serving `build` where given (one environment only: a build belongs to one)."""
    if name is None:
        if build is not None:
            raise ConfigError(
                f"-c {MODEL_BUILD_CONTEXT}=... needs -c env=NAME: a build is published for "
                "one environment"
            )
        return list(ENVIRONMENTS.values())
    config = get_environment(name)
    if build is None:
        return [config]
    try:
        source = build.apply(config.model_source)
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None
    return [dataclasses.replace(config, model_source=source)]


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


# ---- The delivery pipeline (`-c delivery=1`) ------------------------------------------------


def select_delivery(
    context: Callable[[str], object],
    configured: DeliverySettings | None,
    environments: Sequence[EnvironmentConfig] | None = None,
) -> DeliverySettings | None:
    """The configured pipeline when `-c delivery=1` asks for it, checked against the
    environments it ships (all of them, in order); None without the flag."""
    flag = context(DELIVERY_CONTEXT)
    if flag is None or str(flag).lower() in ("0", "false"):
        return None
    if str(flag).lower() not in ("1", "true"):
        raise ConfigError(
            f"-c {DELIVERY_CONTEXT}={flag}: use -c {DELIVERY_CONTEXT}=1 for the delivery pipeline"
        )
    chosen = [
        key
        for key in ("env", MODEL_BUILD_CONTEXT, MODEL_SHA256_CONTEXT, MODEL_SIZE_CONTEXT)
        if context(key) is not None
    ]
    if chosen:
        raise ConfigError(
            f"-c {DELIVERY_CONTEXT}=1 ships every environment as infra/config.py sets it: drop "
            + " and ".join(f"-c {key}" for key in chosen)
        )
    if configured is None:
        raise ConfigError(
            f"-c {DELIVERY_CONTEXT}=1 but no delivery pipeline is configured: set DELIVERY = "
            "DeliverySettings(account=..., region=..., connection_arn=..., "
            "repository='owner/name') in infra/config.py"
        )
    faults = [
        *configured.faults(),
        *configured.environment_faults(environments or list(ENVIRONMENTS.values())),
    ]
    if faults:
        raise ConfigError("\n".join(faults))
    return configured


def build_delivery_app(
    app: cdk.App,
    delivery: DeliverySettings,
    environments: Sequence[EnvironmentConfig] | None = None,
) -> DeliveryStack:
    """The delivery stack, the app's one top-level stack, behind the cdk-nag gate: its waves
    deploy one stage per environment in order (into the pipeline's account where an environment
    names none)."""
    stages = [
        EnvironmentStage(app, config=config, default_account=delivery.account)
        for config in environments or ENVIRONMENTS.values()
    ]
    stack = DeliveryStack(app, delivery=delivery, stages=stages)
    attach_nag(app)
    return stack


def attach_nag(app: cdk.App) -> None:
    """Fail synthesis on any unacknowledged AwsSolutions or Serverless finding.

    Registered on the app, the packs check every stack of every nested stage: CDK hands an app's
    plugins all the stacks of its assembly, nested ones included, and cdk-nag walks the whole tree.
    """
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
