"""Typed, validated settings for each deployment environment.

One frozen ``EnvironmentConfig`` per environment: where it deploys, and one section per capability
(``infra.settings``). Every rule is checked when the object is built, and each broken rule becomes
one line that says what is wrong and what to do, so a bad setting fails ``cdk synth`` (and the
tests) instead of a deploy. No ``aws_cdk`` import here: ops tools and tests read this module
cheaply.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from infra.settings.alerting import AlertingSettings
from infra.settings.api import ApiSettings, Throttling
from infra.settings.batch import BatchSettings
from infra.settings.delivery import DeliverySettings
from infra.settings.experiment import Experiment, NoExperiment
from infra.settings.function import FunctionSettings
from infra.settings.lifecycle import LifecycleSettings
from infra.settings.model_source import (
    ASSUMED_READ_MB_S,
    INIT_OVERHEAD_S,
    ON_DEMAND_INIT_LIMIT_S,
    RUNTIME_MEMORY_MB,
    TMP_HEADROOM_MB,
    ImageSource,
    ModelSource,
    S3Source,
    memory_needed_mb,
)
from infra.settings.provisioned import (
    AutoScaledProvisionedConcurrency,
    FixedProvisionedConcurrency,
    OnDemand,
    ProvisionedConcurrency,
)
from infra.settings.retention import RetentionSettings
from infra.settings.rollout import AllAtOnce, Canary, DeploymentStrategy
from infra.settings.training import TrainingSettings

ENVIRONMENT_NAMES = ("dev", "staging", "prod")
PRODUCTION = "prod"
APP_NAME = "TorchLambda"
ACCOUNT_PATTERN = re.compile(r"\d{12}")
# Lambda's default concurrent executions per account and region, and what it keeps unreserved:
# a reservation that leaves fewer than 100 for every other function is refused.
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100


class ConfigError(ValueError):
    """One or more settings are invalid; the message has one line per fault."""


@cache
def known_regions() -> frozenset[str]:
    """Every region in botocore's bundled endpoint data (offline; all partitions)."""
    import botocore.session  # Local import: only validation needs it.

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("lambda", partition_name=partition)
    )


@dataclass(frozen=True)
class EnvironmentConfig:
    """One environment: where it deploys, and one section per capability it configures."""

    name: str
    account: str | None = None
    region: str = "us-west-2"
    function: FunctionSettings = field(default_factory=FunctionSettings)
    provisioned: ProvisionedConcurrency = field(default_factory=OnDemand)
    api: ApiSettings = field(default_factory=ApiSettings)
    rollout: DeploymentStrategy = field(default_factory=AllAtOnce)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    alerting: AlertingSettings = field(default_factory=AlertingSettings)
    batch: BatchSettings = field(default_factory=BatchSettings)
    model_source: ModelSource = field(default_factory=ImageSource)
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    # Its challenger is read from lambda_image/challenger at synth (infra.challenger).
    experiment: Experiment = field(default_factory=NoExperiment)
    today: dt.date = field(default_factory=dt.date.today, compare=False, repr=False)

    def __post_init__(self) -> None:
        faults = list(self._faults())
        if faults:
            raise ConfigError("\n".join(f"{self.name}: {fault}" for fault in faults))

    @property
    def is_production(self) -> bool:
        return self.name == PRODUCTION

    @property
    def stage_id(self) -> str:
        """Its cdk.Stage: the CDK CLI names its stacks `<stage_id>/<Component>`."""
        return self.name

    def stack_name(self, component: str) -> str:
        """CloudFormation stack name, `<App>-<Component>-<env>`."""
        return f"{APP_NAME}-{component}-{self.name}"

    def _faults(self) -> Iterator[str]:
        yield from self._placement_faults()
        yield from self.function.faults(self.today)
        yield from self.provisioned.faults()
        yield from self._concurrency_faults()
        yield from self.api.faults()
        yield from self.rollout.faults()
        yield from self.retention.faults()
        if self.is_production and not self.retention.retain_stateful_resources:
            yield "prod must retain stateful resources: set retain_stateful_resources=True"
        yield from self.alerting.faults()
        yield from self.training.faults(self.today)
        yield from self.batch.faults()
        yield from self.lifecycle.faults()
        yield from self._reservation_faults()
        yield from self.model_source.faults()
        yield from self._model_size_faults()
        yield from self.experiment.faults()

    def _placement_faults(self) -> Iterator[str]:
        if self.name not in ENVIRONMENT_NAMES:
            yield f"unknown environment name; use one of {', '.join(ENVIRONMENT_NAMES)}"
        if self.account is not None and not ACCOUNT_PATTERN.fullmatch(self.account):
            yield f"account {self.account!r} is malformed; an AWS account id is exactly 12 digits"
        if self.region not in known_regions():
            yield f"unknown region {self.region!r}; use an AWS region name such as us-west-2"

    def _concurrency_faults(self) -> Iterator[str]:
        """Provisioned environments count against the function's reservation."""
        reserved = self.function.reserved_concurrency
        if reserved is not None and self.provisioned.ceiling > reserved:
            yield (
                f"provisioned concurrency {self.provisioned.ceiling} exceeds "
                f"reserved_concurrency={reserved}; raise the reservation or lower the "
                "provisioned count"
            )

    def _reservation_faults(self) -> Iterator[str]:
        """The inference function's and the batch workers' reservations share the account's pool."""
        inference = self.function.reserved_concurrency or 0
        reserved = inference + self.batch.worker_reserved_concurrency
        if ACCOUNT_CONCURRENCY - reserved < UNRESERVED_MINIMUM:
            yield (
                f"reserved_concurrency={inference} + batch worker_reserved_concurrency="
                f"{self.batch.worker_reserved_concurrency} = {reserved} leaves fewer than "
                f"{UNRESERVED_MINIMUM} of the account's default {ACCOUNT_CONCURRENCY} concurrent "
                "executions unreserved, which Lambda refuses: lower either reservation (or "
                f"raise the account's quota and ACCOUNT_CONCURRENCY with it)"
            )

    def _model_size_faults(self) -> Iterator[str]:
        """A published build must fit /tmp (s3), memory, and the init it is loaded in."""
        source = self.model_source
        if isinstance(source, ImageSource):
            return  # its size is whatever the image holds: nothing to size at synth
        size = source.size_mb
        if isinstance(source, S3Source):
            needed = math.ceil(size + TMP_HEADROOM_MB)
            if self.function.ephemeral_storage_mb < needed:
                yield (
                    f"ephemeral_storage_mb={self.function.ephemeral_storage_mb} cannot hold the "
                    f"{size:,.0f} MB model plus {TMP_HEADROOM_MB} MB of headroom in /tmp: set "
                    f"function ephemeral_storage_mb >= {needed}"
                )
        needed = memory_needed_mb(size)
        for setting, memory in (
            ("function memory_mb", self.function.memory_mb),
            ("batch worker_memory_mb", self.batch.worker_memory_mb),
        ):
            if memory < needed:
                yield (
                    f"{setting}={memory} cannot hold the {size:,.0f} MB model and the "
                    f"{RUNTIME_MEMORY_MB} MB runtime: set it >= {needed}"
                )
        rate = ASSUMED_READ_MB_S[source.kind]
        seconds = INIT_OVERHEAD_S + size / rate
        if self.provisioned.floor == 0 and seconds > ON_DEMAND_INIT_LIMIT_S:
            yield (
                f"the {size:,.0f} MB model takes about {seconds:.0f} s to load from "
                f"{source.kind} (assumed {rate:.0f} MB/s plus {INIT_OVERHEAD_S:.0f} s of init), "
                f"past on-demand init's {ON_DEMAND_INIT_LIMIT_S:.0f} s: turn provisioned "
                "concurrency on, or serve a smaller model"
            )


DEV = EnvironmentConfig(
    name="dev",
    api=ApiSettings(cors_origins=("http://localhost:3000",)),
    # New training data retrains dev; the delivery pipeline ships what dev promotes.
    lifecycle=LifecycleSettings(retrain_on_new_data=True),
)

STAGING = EnvironmentConfig(
    name="staging",
    function=FunctionSettings(reserved_concurrency=20),
    provisioned=FixedProvisionedConcurrency(count=1),
    api=ApiSettings(throttling=Throttling(rate_limit=50, burst_limit=100), auth="iam"),
    retention=RetentionSettings(log_retention_days=30, retain_stateful_resources=True),
    batch=BatchSettings(worker_reserved_concurrency=20, max_concurrency=16),
)

PROD = EnvironmentConfig(
    name="prod",
    function=FunctionSettings(reserved_concurrency=100),
    provisioned=AutoScaledProvisionedConcurrency(
        min_capacity=2, max_capacity=20, target_utilization=0.7
    ),
    api=ApiSettings(throttling=Throttling(rate_limit=500, burst_limit=1000), auth="iam"),
    rollout=Canary(percentage=10, minutes=5),
    retention=RetentionSettings(log_retention_days=365, retain_stateful_resources=True),
    batch=BatchSettings(worker_reserved_concurrency=100, max_concurrency=80),
)

ENVIRONMENTS: dict[str, EnvironmentConfig] = {c.name: c for c in (DEV, STAGING, PROD)}


def get_environment(name: str) -> EnvironmentConfig:
    """The named environment's settings, or one line listing the valid names."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown environment {name!r}; valid names: {', '.join(ENVIRONMENTS)}"
        ) from None


# The delivery pipeline (`make synth-delivery`, docs/lifecycle.md): none until a CodeConnections
# connection is authorized; e.g. DeliverySettings(account="123456789012", region="us-west-2",
# connection_arn="arn:aws:codeconnections:...", repository="owner/name", branch="main").
DELIVERY: DeliverySettings | None = None
