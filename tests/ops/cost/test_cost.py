"""The cost model against figures worked out by hand from the prices in ops/cost/prices.py."""

from __future__ import annotations

import pytest

from infra.config import get_environment
from ops.cost.model import (
    LambdaSetup,
    ProvisionedCapacity,
    Workload,
    compare,
    first_crossing,
    http_api_cost,
    instance_cost,
    lambda_cost,
    setup_from_config,
)

MONTH_S = 720 * 3600  # 2,592,000 s
ON_DEMAND_1GB = LambdaSetup(memory_mb=1024, architecture="x86_64")


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def test_http_api_is_tiered_at_300_million() -> None:
    assert http_api_cost(10e6) == approx(10.00)
    assert http_api_cost(400e6) == approx(300 * 1.00 + 100 * 0.90)


def test_on_demand_x86() -> None:
    # 1M requests x 0.1 s x 1 GB = 100,000 GB-s.
    cost = lambda_cost(ON_DEMAND_1GB, Workload(1e6, 100))
    assert cost.lambda_requests == approx(0.20)
    assert cost.lambda_duration == approx(100_000 * 0.0000166667)  # 1.66667
    assert cost.api_requests == approx(1.00)
    assert cost.provisioned_allocation == cost.provisioned_duration == 0
    assert cost.total == approx(0.20 + 1.66667 + 1.00)


def test_arm64_duration_is_cheaper() -> None:
    arm = LambdaSetup(memory_mb=1024, architecture="arm64")
    assert lambda_cost(arm, Workload(1e6, 100)).lambda_duration == approx(1.33334)


def test_duration_is_billed_in_whole_milliseconds() -> None:
    assert lambda_cost(ON_DEMAND_1GB, Workload(1e6, 99.2)) == lambda_cost(
        ON_DEMAND_1GB, Workload(1e6, 100)
    )


def test_idle_provisioned_concurrency_costs_its_allocation() -> None:
    # One 2 GB environment all month: 2 GB x 2,592,000 s x $0.0000041667.
    setup = LambdaSetup(
        2048, "x86_64", ProvisionedCapacity(floor=1, ceiling=1, target_utilization=1)
    )
    cost = lambda_cost(setup, Workload(0, 20))
    assert cost.provisioned_allocation == approx(21.6001728)
    assert cost.total == approx(21.6001728)


def test_traffic_beyond_fixed_provisioned_concurrency_spills_to_on_demand() -> None:
    # 5,184,000 requests of 1 s = average concurrency 2 on one provisioned environment: half each.
    setup = LambdaSetup(
        1024, "x86_64", ProvisionedCapacity(floor=1, ceiling=1, target_utilization=1)
    )
    cost = lambda_cost(setup, Workload(2 * MONTH_S, 1000))
    assert cost.average_concurrency == approx(2.0)
    assert cost.provisioned_allocation == approx(10.8000864)  # 2,592,000 GB-s x 0.0000041667
    assert cost.provisioned_duration == approx(25.1999424)  # 2,592,000 GB-s x 0.0000097222
    assert cost.lambda_duration == approx(43.2000864)  # 2,592,000 GB-s x 0.0000166667
    assert cost.lambda_requests == approx(5.184 * 0.20)
    assert cost.api_requests == approx(5.184)


@pytest.mark.parametrize(
    ("concurrency", "allocated", "served_share"),
    [(0.5, 2, 1.0), (4, 8, 1.0), (30, 20, 20 / 30)],  # floor, concurrency / 0.5, ceiling
)
def test_auto_scaling_between_floor_and_ceiling(
    concurrency: float, allocated: float, served_share: float
) -> None:
    setup = LambdaSetup(
        1024, "x86_64", ProvisionedCapacity(floor=2, ceiling=20, target_utilization=0.5)
    )
    cost = lambda_cost(setup, Workload(concurrency * MONTH_S, 1000))
    busy_gb_s = concurrency * MONTH_S
    assert cost.provisioned_allocated == approx(allocated)
    assert cost.provisioned_duration == approx(busy_gb_s * served_share * 0.0000097222)
    assert cost.lambda_duration == approx(busy_gb_s * (1 - served_share) * 0.0000166667)


def test_instance_is_720_hours_of_m6i_large() -> None:
    assert instance_cost().total == approx(69.12)


def test_prod_as_configured_at_ten_million_requests() -> None:
    prod = get_environment("prod")
    setup = setup_from_config(prod)
    assert setup.provisioned == ProvisionedCapacity(floor=2, ceiling=20, target_utilization=0.7)
    comparison = compare(setup, Workload(10e6, 20))
    # 1,769 MB = 1.7275390625 GB; floor 2 -> 8,955,562.5 GB-s allocated; 345,507.8125 GB-s busy.
    assert comparison.configured.provisioned_allocation == approx(37.31514226875)
    assert comparison.configured.provisioned_duration == approx(3.3590960546875)
    assert comparison.configured.total == approx(37.31514226875 + 3.3590960546875 + 2.0 + 10.0)
    assert comparison.on_demand.total == approx(5.75847505859375 + 2.0 + 10.0)
    assert comparison.instance.total == approx(69.12)


def test_break_even_volumes() -> None:
    comparison = compare(ON_DEMAND_1GB, Workload(1e6, 100))
    # $69.12 / ($0.20 + $1.00 per million + 0.1 GB-s x $0.0000166667) per request.
    assert comparison.on_demand_meets_instance == pytest.approx(69.12 / 2.86667e-6, rel=1e-9)
    assert comparison.configured_meets_instance == comparison.on_demand_meets_instance
    assert comparison.provisioned_pays_off is None  # nothing provisioned


def test_provisioned_concurrency_pays_off_where_its_duration_discount_covers_the_allocation() -> (
    None
):
    setup = LambdaSetup(
        1024, "x86_64", ProvisionedCapacity(floor=1, ceiling=1, target_utilization=1)
    )
    comparison = compare(setup, Workload(1e6, 100))
    # Allocation $10.8000864 / saving (0.0000166667 - 0.0000097222) x 0.1 GB-s per request.
    expected = 10.8000864 / (0.0000069445 * 0.1)
    assert comparison.provisioned_pays_off == pytest.approx(expected, rel=1e-9)


def test_first_crossing_edges() -> None:
    assert first_crossing(lambda volume: 1.0) == 1.0  # already above at the lowest volume
    assert first_crossing(lambda volume: -1.0) is None  # never
    assert first_crossing(lambda volume: volume - 5e6) == pytest.approx(5e6, rel=1e-12)
