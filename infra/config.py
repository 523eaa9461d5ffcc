"""Typed, validated settings for each deployment environment.

One frozen ``EnvironmentConfig`` per environment. Every rule is checked when the object is
built, and each broken rule becomes one line that says what is wrong and what to do, so a bad
setting fails ``cdk synth`` (and the tests) instead of a deploy. No ``aws_cdk`` import here: ops
tools and tests read this module cheaply.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from infra import dlc

Architecture = Literal["x86_64", "arm64"]
ApiAuth = Literal["none", "iam"]
TrainingCompute = Literal["small", "medium", "large", "gpu"]

ENVIRONMENT_NAMES = ("dev", "staging", "prod")
PRODUCTION = "prod"
APP_NAME = "TorchLambda"
# Stacks of one environment, and the outputs each one publishes (the contract with ops/).
STACK_OUTPUTS: dict[str, tuple[str, ...]] = {
    "Artifacts": ("ArtifactsBucketName",),
    "Training": ("TrainingProjectName",),
    "Serving": ("ApiUrl", "FunctionName", "AliasArn", "DashboardUrl"),
}

# Limits of the services, with where they come from.
MAX_FUNCTION_TIMEOUT_S = 28  # HTTP API integration timeout is at most 29 s and must exceed it.
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # fmt: skip
ACCOUNT_PATTERN = re.compile(r"\d{12}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ORIGIN_PATTERN = re.compile(r"\*|https?://[A-Za-z0-9.-]+(:\d{1,5})?")


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
class FixedProvisionedConcurrency:
    """A constant number of pre-initialized execution environments on the alias."""

    count: int


@dataclass(frozen=True)
class ScheduledCapacity:
    """A time window with its own auto-scaling bounds (e.g. business hours)."""

    name: str
    cron: str  # Application Auto Scaling cron: "cron(0 8 ? * MON-FRI *)"
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class AutoScaledProvisionedConcurrency:
    """Target tracking on LambdaProvisionedConcurrencyUtilization between min and max."""

    min_capacity: int
    max_capacity: int
    target_utilization: float = 0.7
    schedules: tuple[ScheduledCapacity, ...] = ()


ProvisionedConcurrency = FixedProvisionedConcurrency | AutoScaledProvisionedConcurrency | None


@dataclass(frozen=True)
class Throttling:
    rate_limit: float  # steady-state requests per second
    burst_limit: int


@dataclass(frozen=True)
class AllAtOnce:
    """Shift all traffic to a new version at once (CodeDeploy still records and can roll back)."""


@dataclass(frozen=True)
class Canary:
    """Send `percentage` of traffic to the new version for `minutes`, then the rest."""

    percentage: int
    minutes: int


DeploymentStrategy = AllAtOnce | Canary


@dataclass(frozen=True)
class ImageChoice:
    """A DLC image from the catalog and the registry to pull it from."""

    name: str = dlc.DEFAULT_CPU_IMAGE
    registry: dlc.Registry = "public"
    # Set to a reason to knowingly use an image past its end of patch (no more security fixes).
    allow_past_end_of_patch: str | None = None

    @property
    def spec(self) -> dlc.DlcImageSpec:
        return dlc.lookup(self.name)

    def uri(self, region: str) -> str:
        return dlc.image_uri(self.name, self.registry, region)


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    account: str | None = None
    region: str = "us-west-2"
    # 1,769 MB is one full vCPU: the model runs single-threaded, more memory buys nothing.
    memory_mb: int = 1769
    timeout_seconds: int = 10
    architecture: Architecture = "x86_64"
    reserved_concurrency: int | None = None
    provisioned_concurrency: ProvisionedConcurrency = None
    throttling: Throttling = Throttling(rate_limit=10, burst_limit=20)
    api_auth: ApiAuth = "none"
    cors_origins: tuple[str, ...] = ()
    deployment: DeploymentStrategy = AllAtOnce()
    log_retention_days: int = 7
    retain_stateful_resources: bool = False
    alarm_email: str | None = None
    inference_image: ImageChoice = ImageChoice()
    training_image: ImageChoice = ImageChoice()
    training_compute: TrainingCompute = "small"
    training_data_key: str = "data/train.csv"
    # The default dataset's noise variance is 4 (the best possible MSE); 6 refuses a broken fit.
    max_validation_mse: float = 6.0
    torch_threads: int = 1
    today: dt.date = field(default_factory=dt.date.today, compare=False, repr=False)

    def __post_init__(self) -> None:
        faults = list(_faults(self))
        if faults:
            raise ConfigError("\n".join(f"{self.name}: {fault}" for fault in faults))

    @property
    def is_production(self) -> bool:
        return self.name == PRODUCTION

    def stack_name(self, component: str) -> str:
        """CloudFormation stack name, `<App>-<Component>-<env>`."""
        return f"{APP_NAME}-{component}-{self.name}"

    @property
    def provisioned_floor(self) -> int:
        """Execution environments kept warm at all times (what is paid for while idle)."""
        pc = self.provisioned_concurrency
        if isinstance(pc, FixedProvisionedConcurrency):
            return pc.count
        if isinstance(pc, AutoScaledProvisionedConcurrency):
            return pc.min_capacity
        return 0


def _faults(c: EnvironmentConfig) -> Iterator[str]:  # noqa: C901, PLR0912 - a flat list of rules
    if c.name not in ENVIRONMENT_NAMES:
        yield f"unknown environment name; use one of {', '.join(ENVIRONMENT_NAMES)}"
    if c.account is not None and not ACCOUNT_PATTERN.fullmatch(c.account):
        yield f"account {c.account!r} is malformed; an AWS account id is exactly 12 digits"
    if c.region not in known_regions():
        yield f"unknown region {c.region!r}; use an AWS region name such as us-west-2"
    if not MIN_MEMORY_MB <= c.memory_mb <= MAX_MEMORY_MB:
        yield f"memory_mb={c.memory_mb} is outside Lambda's {MIN_MEMORY_MB}..{MAX_MEMORY_MB}"
    if not 1 <= c.timeout_seconds <= MAX_FUNCTION_TIMEOUT_S:
        yield (
            f"timeout_seconds={c.timeout_seconds} must be 1..{MAX_FUNCTION_TIMEOUT_S}: the HTTP "
            "API integration times out at 29 s at most (30 s hard limit) and must outlast it"
        )
    if c.reserved_concurrency is not None and c.reserved_concurrency < 1:
        yield f"reserved_concurrency={c.reserved_concurrency} must be >= 1 (or None for unreserved)"
    yield from _provisioned_faults(c)
    t = c.throttling
    if not (t.rate_limit > 0 and t.burst_limit >= t.rate_limit):
        yield (
            f"throttling rate={t.rate_limit} burst={t.burst_limit}: need burst >= rate > 0 "
            "(burst is the bucket the rate refills)"
        )
    if c.api_auth not in ("none", "iam"):
        yield f"api_auth={c.api_auth!r}; use 'none' or 'iam'"
    for origin in c.cors_origins:
        if not ORIGIN_PATTERN.fullmatch(origin):
            yield f"CORS origin {origin!r} is not '*' or scheme://host[:port]"
    if isinstance(c.deployment, Canary):
        if not 1 <= c.deployment.percentage <= 99:
            yield f"canary percentage={c.deployment.percentage} must be 1..99"
        if not 1 <= c.deployment.minutes <= 2880:
            yield f"canary minutes={c.deployment.minutes} must be 1..2880 (CodeDeploy's limit)"
    if c.log_retention_days not in LOG_RETENTION_DAYS:
        yield (
            f"log_retention_days={c.log_retention_days} is not a CloudWatch Logs value; "
            f"pick one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    if c.is_production and not c.retain_stateful_resources:
        yield "prod must retain stateful resources: set retain_stateful_resources=True"
    if c.alarm_email is not None and not EMAIL_PATTERN.fullmatch(c.alarm_email):
        yield f"alarm_email {c.alarm_email!r} is not an e-mail address"
    yield from _image_faults(c)
    if not c.training_data_key.startswith("data/"):
        yield f"training_data_key {c.training_data_key!r} must live under data/ in the bucket"
    if not c.max_validation_mse > 0:
        yield f"max_validation_mse={c.max_validation_mse} must be > 0"
    if not 1 <= c.torch_threads <= 6:
        yield f"torch_threads={c.torch_threads} must be 1..6 (Lambda has at most 6 vCPUs)"


def _provisioned_faults(c: EnvironmentConfig) -> Iterator[str]:
    pc = c.provisioned_concurrency
    if isinstance(pc, FixedProvisionedConcurrency):
        if pc.count < 1:
            yield f"provisioned concurrency {pc.count} must be >= 1 (use None for on-demand only)"
        ceiling = pc.count
    elif isinstance(pc, AutoScaledProvisionedConcurrency):
        if pc.min_capacity < 1:
            yield f"auto-scaling min_capacity={pc.min_capacity} must be >= 1"
        if pc.min_capacity > pc.max_capacity:
            yield f"auto-scaling min_capacity={pc.min_capacity} > max_capacity={pc.max_capacity}"
        if not 0 < pc.target_utilization < 1:
            yield f"auto-scaling target_utilization={pc.target_utilization} must be in (0, 1)"
        for s in pc.schedules:
            if not 0 <= s.min_capacity <= s.max_capacity <= pc.max_capacity:
                yield (
                    f"schedule {s.name!r}: need 0 <= min ({s.min_capacity}) <= max "
                    f"({s.max_capacity}) <= max_capacity ({pc.max_capacity})"
                )
            if not re.fullmatch(r"(cron|rate|at)\(.+\)", s.cron):
                yield f"schedule {s.name!r}: {s.cron!r} is not cron(...), rate(...) or at(...)"
        ceiling = pc.max_capacity
    else:
        return
    if c.reserved_concurrency is not None and ceiling > c.reserved_concurrency:
        yield (
            f"provisioned concurrency {ceiling} exceeds reserved_concurrency="
            f"{c.reserved_concurrency}; raise the reservation or lower the provisioned count"
        )


def _image_faults(c: EnvironmentConfig) -> Iterator[str]:
    for role, choice, accelerator in (
        ("inference_image", c.inference_image, "cpu"),
        ("training_image", c.training_image, "gpu" if c.training_compute == "gpu" else "cpu"),
    ):
        try:
            spec = choice.spec
        except dlc.UnknownImageError as error:
            yield f"{role}: {error}"
            continue
        if spec.accelerator != accelerator:
            yield f"{role} {spec.name} is a {spec.accelerator} image; this role needs {accelerator}"
        if choice.registry == "public" and not spec.public:
            yield f"{role} {spec.name} is not on public ECR; use registry='private'"
        if spec.past_end_of_patch(c.today) and not choice.allow_past_end_of_patch:
            yield (
                f"{role} {spec.name} passed its end of patch on {spec.end_of_patch}; pick a "
                "supported image or set allow_past_end_of_patch to the reason"
            )
    if c.training_compute == "gpu" and c.training_image.registry != "private":
        yield "training_compute='gpu' needs training_image registry='private' (GPU DLCs)"
    inference = c.inference_image
    try:
        arches = inference.spec.architectures
    except dlc.UnknownImageError:
        return
    if c.architecture not in arches:
        yield (
            f"architecture={c.architecture} but {inference.name} has no {c.architecture} variant "
            f"(only {', '.join(arches)})"
        )


DEV = EnvironmentConfig(
    name="dev",
    cors_origins=("http://localhost:3000",),
)

STAGING = EnvironmentConfig(
    name="staging",
    reserved_concurrency=20,
    provisioned_concurrency=FixedProvisionedConcurrency(count=1),
    throttling=Throttling(rate_limit=50, burst_limit=100),
    api_auth="iam",
    log_retention_days=30,
    retain_stateful_resources=True,
)

PROD = EnvironmentConfig(
    name="prod",
    reserved_concurrency=100,
    provisioned_concurrency=AutoScaledProvisionedConcurrency(
        min_capacity=2, max_capacity=20, target_utilization=0.7
    ),
    throttling=Throttling(rate_limit=500, burst_limit=1000),
    api_auth="iam",
    deployment=Canary(percentage=10, minutes=5),
    log_retention_days=365,
    retain_stateful_resources=True,
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
