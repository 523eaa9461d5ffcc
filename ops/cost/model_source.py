"""What the model's source adds to the monthly bill: baked into the image, S3 at init, or EFS.

Pure functions of a source (its kind, the model's size, the function's /tmp) and of the serving
workload as a source sees it: the invocation seconds and provisioned environments that /tmp is
billed on, and the inits, each of which reads the whole model. ``ops.cost.model`` prices serving
itself, the same whichever source; this prices only what the source adds (docs/cost.md, "Where the
model comes from"). The one reader of files: the image's weights' size on disk.

Inits are not in any bill we can read offline, so they are estimated: every execution environment,
provisioned or on demand, is recycled periodically (AWS's pricing page says so of provisioned
ones and publishes no interval), so each one kept busy or allocated all month inits once every
``REINIT_HOURS``; on-demand environments are the overflow's concurrency rounded up, and never
init more often than requests arrive. Steady traffic, as in the serving model: peaky traffic
scales out and inits more, so pass a measured count (`INITS=`, from the REPORT lines'
`Init Duration`) where you have one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from infra.config import EnvironmentConfig
from infra.model_version import MODEL_DIR
from infra.settings.function import MAX_MEMORY_MB, MIN_EPHEMERAL_MB
from infra.settings.model_source import (
    ASSUMED_READ_MB_S,
    INIT_OVERHEAD_S,
    ON_DEMAND_INIT_LIMIT_S,
    RUNTIME_MEMORY_MB,
    TMP_HEADROOM_MB,
    EfsSource,
    EfsThroughput,
    ImageSource,
)
from ops.cost.model import MB_PER_GB, MonthlyCost
from ops.cost.prices import PRICES, Prices
from ops.errors import OpsError
from torchlambda.contract import MODEL_SOURCES, WEIGHTS_FILE, ModelSourceKind

# Assumed: one init per environment every this many hours (AWS publishes no figure).
REINIT_HOURS = 4.0
# An S3 init downloads the weights in ranged GETs of boto3's default transfer chunk (8 MiB), and
# makes two requests besides: the weights' HeadObject and the card's GetObject (GET-priced both).
S3_PART_MB = 8.0
S3_REQUESTS_BESIDES_PARTS = 2
# The largest model any source can serve: Lambda's memory must hold it beside the runtime.
LARGEST_MODEL_MB = MAX_MEMORY_MB - RUNTIME_MEMORY_MB
BYTES_PER_MB = 1 << 20
BAKED_WEIGHTS = MODEL_DIR / WEIGHTS_FILE  # what the image bakes in


@dataclass(frozen=True)
class SourceOption:
    """One way to serve a model of `size_mb`: where it comes from, and the /tmp it is given."""

    kind: ModelSourceKind
    size_mb: float
    ephemeral_storage_mb: int
    efs_throughput: EfsThroughput = "elastic"  # read only where kind is efs

    @property
    def label(self) -> str:
        return f"efs ({self.efs_throughput})" if self.kind == "efs" else self.kind

    @property
    def read_mb_s(self) -> float | None:
        """The assumed rate init reads the model at; None for the image, which comes with the
        image's own start and has no rate assumed."""
        return ASSUMED_READ_MB_S.get(self.kind)

    @property
    def init_read_seconds(self) -> float | None:
        rate = self.read_mb_s
        return None if rate is None else self.size_mb / rate

    @property
    def too_slow_for_on_demand(self) -> bool:
        """Init would pass on-demand's limit: the rule infra/config.py enforces when no
        provisioned environment runs init ahead of traffic."""
        seconds = self.init_read_seconds
        return seconds is not None and INIT_OVERHEAD_S + seconds > ON_DEMAND_INIT_LIMIT_S


@dataclass(frozen=True)
class Inits:
    """Model loads a month: estimated from the workload, unless given."""

    provisioned_re_inits: float
    on_demand_cold_starts: float
    given: float | None = None

    @property
    def per_month(self) -> float:
        if self.given is not None:
            return self.given
        return self.provisioned_re_inits + self.on_demand_cold_starts


@dataclass(frozen=True)
class SourceWorkload:
    """The serving workload as a model source sees it."""

    busy_seconds: float  # billed invocation seconds a month, every invocation
    provisioned_environments: float  # mean kept allocated over the month
    inits: Inits


@dataclass(frozen=True)
class SourceCost:
    """What one source adds to the bill, in dollars, line by line."""

    option: SourceOption
    ephemeral_storage: float = 0.0
    image_storage: float = 0.0
    s3_storage: float = 0.0
    s3_requests: float = 0.0
    efs_storage: float = 0.0
    efs_reads: float = 0.0
    s3_gateway_endpoint: float = 0.0
    copy_write: float = 0.0  # once each time a build is copied onto EFS: not in `total`

    @property
    def total(self) -> float:
        """Per month."""
        return (
            self.ephemeral_storage
            + self.image_storage
            + self.s3_storage
            + self.s3_requests
            + self.efs_storage
            + self.efs_reads
            + self.s3_gateway_endpoint
        )


def source_workload(
    serving: MonthlyCost,
    monthly_requests: float,
    given_inits: float | None = None,
    prices: Prices = PRICES,
) -> SourceWorkload:
    """From the configuration's serving cost (`ops.cost.model.lambda_cost`) for the workload."""
    provisioned = serving.provisioned_allocated
    concurrency = serving.average_concurrency
    on_demand_concurrency = max(0.0, concurrency - provisioned)  # the overflow provisioned misses
    on_demand_requests = (
        monthly_requests * on_demand_concurrency / concurrency if concurrency else 0.0
    )
    lifetimes = prices.hours_per_month / REINIT_HOURS
    return SourceWorkload(
        busy_seconds=concurrency * prices.seconds_per_month,
        provisioned_environments=provisioned,
        inits=Inits(
            provisioned_re_inits=provisioned * lifetimes,
            on_demand_cold_starts=min(
                on_demand_requests, math.ceil(on_demand_concurrency) * lifetimes
            ),
            given=given_inits,
        ),
    )


def ephemeral_storage_cost(
    ephemeral_storage_mb: int, workload: SourceWorkload, prices: Prices = PRICES
) -> float:
    """/tmp beyond the free allowance, on every invocation's billed duration and, like memory,
    on provisioned environments' allocated time (an assumption: docs/cost.md)."""
    extra_gb = max(0, ephemeral_storage_mb - prices.lambda_free_ephemeral_storage_mb) / MB_PER_GB
    seconds = workload.busy_seconds + workload.provisioned_environments * prices.seconds_per_month
    return extra_gb * seconds * prices.lambda_ephemeral_storage_gb_s


def s3_requests_per_init(size_mb: float) -> int:
    return math.ceil(size_mb / S3_PART_MB) + S3_REQUESTS_BESIDES_PARTS


def source_cost(
    option: SourceOption, workload: SourceWorkload, prices: Prices = PRICES
) -> SourceCost:
    gigabytes = option.size_mb / MB_PER_GB
    inits = workload.inits.per_month
    ephemeral = ephemeral_storage_cost(option.ephemeral_storage_mb, workload, prices)
    if option.kind == "image":
        # The model's layer in ECR: the image without it is the same for every source.
        return SourceCost(option, ephemeral, image_storage=gigabytes * prices.ecr_storage_gb_month)
    if option.kind == "s3":
        # S3 to Lambda in one region transfers for free: only the GETs are billed.
        requests = inits * s3_requests_per_init(option.size_mb)
        return SourceCost(
            option,
            ephemeral,
            s3_storage=gigabytes * prices.s3_storage_gb_month,
            s3_requests=requests * prices.s3_per_thousand_get_requests / 1000,
        )
    throughput = prices.efs_throughput[option.efs_throughput]
    return SourceCost(
        option,
        ephemeral,
        efs_storage=gigabytes * prices.efs_storage_gb_month,  # one copy on the environment's
        efs_reads=inits * gigabytes * throughput.read_per_gb,
        s3_gateway_endpoint=prices.hours_per_month * prices.vpc_s3_gateway_endpoint_per_hour,
        copy_write=gigabytes * throughput.write_per_gb,
    )


def least_ephemeral_storage_mb(kind: ModelSourceKind, size_mb: float) -> int:
    """The /tmp a source needs: the minimum, or for s3 the weights and their headroom (the rule
    infra/config.py enforces)."""
    if kind != "s3":
        return MIN_EPHEMERAL_MB
    return max(MIN_EPHEMERAL_MB, math.ceil(size_mb + TMP_HEADROOM_MB))


def configured_option(config: EnvironmentConfig, size_mb: float) -> SourceOption:
    source = config.model_source
    return SourceOption(
        kind=source.kind,
        size_mb=size_mb,
        ephemeral_storage_mb=config.function.ephemeral_storage_mb,
        efs_throughput=source.throughput if isinstance(source, EfsSource) else "elastic",
    )


def alternative_options(config: EnvironmentConfig, size_mb: float) -> tuple[SourceOption, ...]:
    """Every source for a model of `size_mb`, each with the least /tmp it needs; EFS at the
    configured throughput where EFS is configured."""
    throughput = configured_option(config, size_mb).efs_throughput
    return tuple(
        SourceOption(kind, size_mb, least_ephemeral_storage_mb(kind, size_mb), throughput)
        for kind in MODEL_SOURCES
    )


def configured_size_mb(config: EnvironmentConfig, baked_weights: Path = BAKED_WEIGHTS) -> float:
    """The configured build's size, or for the image the weights it would bake in."""
    source = config.model_source
    if not isinstance(source, ImageSource):
        return source.size_mb
    try:
        return baked_weights.stat().st_size / BYTES_PER_MB
    except FileNotFoundError:
        raise OpsError(
            f"no {baked_weights} to size the model the image bakes in: train one (make train) "
            f"or fetch one (make fetch-model ENV={config.name})"
        ) from None


@dataclass(frozen=True)
class SourceComparison:
    """Everything `make cost` reports on the model's source for one environment."""

    workload: SourceWorkload
    configured: SourceCost
    alternatives: tuple[SourceCost, ...]  # image, s3, efs, for the comparison's size


def compare_sources(
    config: EnvironmentConfig,
    workload: SourceWorkload,
    model_size_mb: float,
    comparison_size_mb: float,
    prices: Prices = PRICES,
) -> SourceComparison:
    return SourceComparison(
        workload=workload,
        configured=source_cost(configured_option(config, model_size_mb), workload, prices),
        alternatives=tuple(
            source_cost(option, workload, prices)
            for option in alternative_options(config, comparison_size_mb)
        ),
    )
