"""Monthly cost of serving the model: pure functions of the setup, the workload and the prices.

Traffic is taken as steady over the month, so the average concurrency follows Little's law
(requests per second x seconds per request). Provisioned concurrency (PC) is allocated all month at
the auto-scaling floor, scales up towards ``average / target utilization`` up to its ceiling, and
serves every request it has room for; the overflow runs on demand. Peaky traffic costs more.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from infra.config import EnvironmentConfig
from ops.cost.prices import PRICES, Prices

MB_PER_GB = 1024  # Lambda bills memory in GB of 1,024 MB


@dataclass(frozen=True)
class ProvisionedCapacity:
    floor: int
    ceiling: int
    target_utilization: float  # 1.0 for a fixed count: it never scales


@dataclass(frozen=True)
class LambdaSetup:
    memory_mb: int
    architecture: str
    provisioned: ProvisionedCapacity | None = None

    def without_provisioned_concurrency(self) -> LambdaSetup:
        return LambdaSetup(memory_mb=self.memory_mb, architecture=self.architecture)


@dataclass(frozen=True)
class Workload:
    monthly_requests: float
    duration_ms: float  # average billed duration of one warm invocation


@dataclass(frozen=True)
class MonthlyCost:
    """One option's monthly bill, in dollars, line by line."""

    lambda_requests: float = 0.0
    lambda_duration: float = 0.0
    provisioned_allocation: float = 0.0
    provisioned_duration: float = 0.0
    api_requests: float = 0.0
    instance: float = 0.0
    average_concurrency: float = 0.0
    provisioned_allocated: float = 0.0  # mean environments kept warm over the month

    @property
    def total(self) -> float:
        return (
            self.lambda_requests
            + self.lambda_duration
            + self.provisioned_allocation
            + self.provisioned_duration
            + self.api_requests
            + self.instance
        )


def setup_from_config(config: EnvironmentConfig) -> LambdaSetup:
    pc = config.provisioned
    capacity = (
        ProvisionedCapacity(
            floor=pc.floor,
            ceiling=pc.ceiling,
            target_utilization=pc.target_utilization or 1.0,  # none: a fixed count never scales
        )
        if pc.ceiling
        else None
    )
    function = config.function
    return LambdaSetup(
        memory_mb=function.memory_mb, architecture=function.architecture, provisioned=capacity
    )


def http_api_cost(requests: float, prices: Prices = PRICES) -> float:
    """HTTP API requests, tiered: the first tier's price up to its volume, the lower one beyond."""
    first = min(requests, prices.http_api_first_tier_requests)
    beyond = max(0.0, requests - prices.http_api_first_tier_requests)
    return (
        first * prices.http_api_per_million_first_tier + beyond * prices.http_api_per_million_beyond
    ) / 1e6


def lambda_cost(setup: LambdaSetup, workload: Workload, prices: Prices = PRICES) -> MonthlyCost:
    """Lambda behind the HTTP API: requests, duration, and provisioned concurrency if configured."""
    arch = prices.lambda_architectures[setup.architecture]
    gigabytes = setup.memory_mb / MB_PER_GB
    # Lambda rounds each invocation's duration up to the next millisecond.
    billed_seconds = math.ceil(workload.duration_ms) / 1000
    busy_gb_s = workload.monthly_requests * billed_seconds * gigabytes
    concurrency = workload.monthly_requests * billed_seconds / prices.seconds_per_month

    allocated = 0.0
    served_by_pc = 0.0  # share of the invocations that run on provisioned environments
    if setup.provisioned is not None:
        pc = setup.provisioned
        allocated = min(max(concurrency / pc.target_utilization, pc.floor), pc.ceiling)
        served_by_pc = 1.0 if concurrency <= allocated else allocated / concurrency

    return MonthlyCost(
        lambda_requests=workload.monthly_requests * prices.lambda_per_million_requests / 1e6,
        lambda_duration=busy_gb_s * (1 - served_by_pc) * arch.duration_gb_s,
        provisioned_allocation=allocated
        * gigabytes
        * prices.seconds_per_month
        * arch.provisioned_allocation_gb_s,
        provisioned_duration=busy_gb_s * served_by_pc * arch.provisioned_duration_gb_s,
        api_requests=http_api_cost(workload.monthly_requests, prices),
        average_concurrency=concurrency,
        provisioned_allocated=allocated,
    )


def instance_cost(prices: Prices = PRICES) -> MonthlyCost:
    """The always-on instance: a flat bill whatever the volume (its capacity is not modelled)."""
    return MonthlyCost(instance=prices.instance_per_hour * prices.hours_per_month)


def first_crossing(
    difference: Callable[[float], float],
    low: float = 1.0,
    high: float = 1e12,
    steps: int = 240,
) -> float | None:
    """Smallest volume in [low, high] where `difference` is >= 0 (`low` if it already is), or None.

    Costs are piecewise linear but not always monotone against each other, so scan a log grid for
    the first sign change, then bisect inside that bracket.
    """
    ratio = (high / low) ** (1 / steps)
    grid = [low * ratio**i for i in range(steps + 1)]
    if difference(grid[0]) >= 0:
        return low
    for left, right in itertools.pairwise(grid):
        if difference(right) >= 0:
            return _bisect(difference, left, right)
    return None


def _bisect(difference: Callable[[float], float], below: float, above: float) -> float:
    """Narrow [below, above] (difference < 0 at below, >= 0 at above) to float precision."""
    for _ in range(100):
        middle = (below + above) / 2
        if difference(middle) >= 0:
            above = middle
        else:
            below = middle
    return above


@dataclass(frozen=True)
class Comparison:
    """Everything `make cost` reports for one environment and workload."""

    workload: Workload
    configured: MonthlyCost
    on_demand: MonthlyCost
    instance: MonthlyCost
    # Monthly request volumes where one option starts to cost as much as another.
    configured_meets_instance: float | None
    on_demand_meets_instance: float | None
    provisioned_pays_off: float | None  # the config becomes cheaper than on-demand only


def compare(setup: LambdaSetup, workload: Workload, prices: Prices = PRICES) -> Comparison:
    on_demand_setup = setup.without_provisioned_concurrency()
    instance = instance_cost(prices)

    def total(option: LambdaSetup, requests: float) -> float:
        return lambda_cost(option, Workload(requests, workload.duration_ms), prices).total

    return Comparison(
        workload=workload,
        configured=lambda_cost(setup, workload, prices),
        on_demand=lambda_cost(on_demand_setup, workload, prices),
        instance=instance,
        configured_meets_instance=first_crossing(lambda r: total(setup, r) - instance.total),
        on_demand_meets_instance=first_crossing(
            lambda r: total(on_demand_setup, r) - instance.total
        ),
        provisioned_pays_off=(
            None
            if setup.provisioned is None
            else first_crossing(lambda r: total(on_demand_setup, r) - total(setup, r))
        ),
    )


def cost_curve(
    setup: LambdaSetup, duration_ms: float, volumes: Sequence[float], prices: Prices = PRICES
) -> list[float]:
    """Monthly totals of `setup` at each monthly request volume (for the plot)."""
    return [lambda_cost(setup, Workload(v, duration_ms), prices).total for v in volumes]
