"""What the model's source costs, against figures worked out by hand from ops/cost/prices.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, EnvironmentConfig, get_environment
from infra.settings.model_source import EfsSource, NewVpc, S3Source
from ops.cost.model import LambdaSetup, ProvisionedCapacity, Workload, lambda_cost
from ops.cost.model import setup_from_config as serving_setup
from ops.cost.model_source import (
    Inits,
    SourceOption,
    SourceWorkload,
    alternative_options,
    compare_sources,
    configured_option,
    configured_size_mb,
    ephemeral_storage_cost,
    least_ephemeral_storage_mb,
    s3_requests_per_init,
    source_cost,
    source_workload,
)
from ops.cost.prices import PRICES
from ops.errors import OpsError

MONTH_S = 720 * 3600  # 2,592,000 s
SHA256 = "ab" * 32
# prod at 10M requests of 20 ms: 200,000 busy seconds, the floor of 2 provisioned environments
# allocated all month, re-initialized every 4 h: 2 x 180 = 360 inits.
PROD = SourceWorkload(busy_seconds=200_000, provisioned_environments=2, inits=Inits(360, 0))
GB2 = 2048.0


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def serving(config: EnvironmentConfig, requests: float, duration_ms: float = 20) -> SourceWorkload:
    cost = lambda_cost(serving_setup(config), Workload(requests, duration_ms))
    return source_workload(cost, requests)


def with_source(name: str, source: S3Source | EfsSource, **function: Any) -> EnvironmentConfig:
    config = get_environment(name)
    return dataclasses.replace(
        config,
        model_source=source,
        function=dataclasses.replace(config.function, **function),
    )


def test_prices_of_the_model_sources() -> None:
    assert PRICES.lambda_ephemeral_storage_gb_s == 0.0000000309
    assert PRICES.lambda_free_ephemeral_storage_mb == 512
    assert PRICES.s3_storage_gb_month == 0.023
    assert PRICES.s3_per_thousand_get_requests == 0.0004
    assert PRICES.efs_storage_gb_month == 0.30
    assert PRICES.efs_throughput["elastic"].read_per_gb == 0.03
    assert PRICES.efs_throughput["elastic"].write_per_gb == 0.06
    assert PRICES.efs_throughput["bursting"].read_per_gb == 0
    assert PRICES.efs_throughput["bursting"].write_per_gb == 0
    assert PRICES.ecr_storage_gb_month == 0.10
    assert PRICES.vpc_s3_gateway_endpoint_per_hour == 0


def test_prod_inits_are_its_provisioned_floor_re_initialized() -> None:
    workload = serving(get_environment("prod"), 10e6)
    assert workload == PROD
    assert workload.inits.per_month == 360


def test_on_demand_inits_one_environment_every_four_hours_under_steady_traffic() -> None:
    inits = serving(get_environment("dev"), 10e6).inits  # concurrency 0.077: one environment
    assert (inits.provisioned_re_inits, inits.on_demand_cold_starts) == (0, 180)


def test_cold_starts_never_outnumber_requests() -> None:
    assert serving(get_environment("dev"), 100).inits.per_month == 100
    assert serving(get_environment("dev"), 0).inits.per_month == 0  # no traffic, no inits
    assert serving(get_environment("prod"), 0).inits.per_month == 360  # allocated anyway


def test_overflow_beyond_provisioned_concurrency_cold_starts_on_demand() -> None:
    # Average concurrency 2 on one fixed provisioned environment: one more runs on demand.
    setup = LambdaSetup(
        1024, "x86_64", ProvisionedCapacity(floor=1, ceiling=1, target_utilization=1)
    )
    requests = 2 * MONTH_S  # of 1 s each
    workload = source_workload(lambda_cost(setup, Workload(requests, 1000)), requests)
    assert workload.busy_seconds == approx(2 * MONTH_S)
    assert workload.provisioned_environments == 1
    assert workload.inits == Inits(provisioned_re_inits=180, on_demand_cold_starts=180)


def test_given_inits_replace_the_estimate() -> None:
    cost = lambda_cost(serving_setup(get_environment("prod")), Workload(10e6, 20))
    inits = source_workload(cost, 10e6, given_inits=0).inits
    assert inits.provisioned_re_inits == 360  # still estimated, for the report
    assert inits.per_month == 0


@pytest.mark.parametrize(
    ("ephemeral_mb", "workload", "dollars"),
    [
        (512, PROD, 0.0),  # the free allowance
        (1536, SourceWorkload(1e6, 0, Inits(0, 0)), 1e6 * 0.0000000309),  # 1 GB x 1M s
        # Provisioned: its allocated month too, 1 GB x (1M + 2,592,000) s.
        (1536, SourceWorkload(1e6, 1, Inits(0, 0)), 3.592e6 * 0.0000000309),
        # prod, 2,112 MB: 1.5625 GB x (200,000 + 2 x 2,592,000) s.
        (2112, PROD, 1.5625 * 5_384_000 * 0.0000000309),
    ],
)
def test_ephemeral_storage_beyond_the_free_512_mb(
    ephemeral_mb: int, workload: SourceWorkload, dollars: float
) -> None:
    assert ephemeral_storage_cost(ephemeral_mb, workload) == approx(dollars)


@pytest.mark.parametrize(("size_mb", "requests"), [(1, 3), (8, 3), (8.01, 4), (GB2, 256 + 2)])
def test_s3_requests_per_init_are_8_mib_parts_a_head_and_the_card(
    size_mb: float, requests: int
) -> None:
    assert s3_requests_per_init(size_mb) == requests


def test_image_costs_its_layer_in_ecr() -> None:
    cost = source_cost(SourceOption("image", GB2, 512), PROD)
    assert cost.image_storage == approx(0.20)  # 2 GB x $0.10
    assert cost.total == approx(0.20)
    assert cost.ephemeral_storage == cost.s3_requests == cost.efs_reads == cost.copy_write == 0


S3_TMP = 1.5625 * 5_384_000 * 0.0000000309  # 8,412,500 GB-s: $0.25994625
S3_GETS = 360 * 258 * 0.0000004  # $0.037152


def test_s3_costs_storage_gets_at_each_init_and_its_tmp() -> None:
    cost = source_cost(SourceOption("s3", GB2, 2112), PROD)
    assert cost.s3_storage == approx(2 * 0.023)
    assert cost.s3_requests == approx(S3_GETS)
    assert cost.ephemeral_storage == approx(S3_TMP)
    assert cost.total == approx(0.046 + S3_GETS + S3_TMP)
    assert cost.total == pytest.approx(0.34309825, rel=1e-9)
    assert cost.image_storage == cost.efs_storage == cost.copy_write == 0


def test_efs_elastic_reads_the_model_at_each_init_and_writes_it_once() -> None:
    cost = source_cost(SourceOption("efs", GB2, 512), PROD)
    assert cost.efs_storage == approx(0.60)  # 2 GB x $0.30
    assert cost.efs_reads == approx(360 * 2 * 0.03)  # $21.60
    assert cost.copy_write == approx(2 * 0.06)
    assert cost.s3_gateway_endpoint == 0
    assert cost.total == approx(22.20)  # the copy is one-off: not in the monthly total


def test_efs_bursting_bills_storage_alone() -> None:
    cost = source_cost(SourceOption("efs", GB2, 512, efs_throughput="bursting"), PROD)
    assert cost.efs_reads == cost.copy_write == 0
    assert cost.total == approx(0.60)


def test_no_inits_read_nothing() -> None:
    idle = dataclasses.replace(PROD, inits=Inits(360, 0, given=0))
    assert source_cost(SourceOption("s3", GB2, 2112), idle).s3_requests == 0
    assert source_cost(SourceOption("efs", GB2, 512), idle).efs_reads == 0


@pytest.mark.parametrize(
    ("kind", "size_mb", "least"),
    [
        ("image", GB2, 512),
        ("efs", GB2, 512),
        ("s3", 100, 512),
        ("s3", GB2, 2112),
        ("s3", 2047.5, 2112),
    ],
)
def test_least_ephemeral_storage(kind: str, size_mb: float, least: int) -> None:
    assert least_ephemeral_storage_mb(kind, size_mb) == least  # type: ignore[arg-type]


def test_least_ephemeral_storage_is_what_the_config_accepts() -> None:
    source = S3Source("build-7", SHA256, 1000.0)
    least = least_ephemeral_storage_mb("s3", 1000.0)
    assert least == 1064
    with_source("prod", source, ephemeral_storage_mb=least)
    with pytest.raises(ConfigError, match="ephemeral_storage_mb >= 1064"):
        with_source("prod", source, ephemeral_storage_mb=least - 1)


def test_too_slow_for_on_demand_is_what_the_config_refuses() -> None:
    # 4 s of init + 300 MB at 50 MB/s = 10 s: at the limit, not past it.
    assert not SourceOption("s3", 300, 512).too_slow_for_on_demand
    assert SourceOption("s3", 301, 512).too_slow_for_on_demand
    assert not SourceOption("image", 9000, 512).too_slow_for_on_demand  # no rate assumed
    with_source("dev", S3Source("build-7", SHA256, 300.0), ephemeral_storage_mb=512)
    with pytest.raises(ConfigError, match="past on-demand init"):
        with_source("dev", S3Source("build-7", SHA256, 301.0), ephemeral_storage_mb=512)


def test_init_read_at_the_assumed_rates() -> None:
    assert SourceOption("s3", GB2, 2112).init_read_seconds == approx(40.96)  # 50 MB/s
    assert SourceOption("efs", GB2, 512).init_read_seconds == approx(20.48)  # 100 MB/s
    assert SourceOption("image", GB2, 512).init_read_seconds is None


EFS_BURSTING = EfsSource("build-7", SHA256, 1000.0, network=NewVpc(), throughput="bursting")


def test_options_from_the_config() -> None:
    config = with_source("prod", EFS_BURSTING, ephemeral_storage_mb=1024)
    assert configured_option(config, 1000.0) == SourceOption("efs", 1000.0, 1024, "bursting")
    assert [(o.label, o.ephemeral_storage_mb) for o in alternative_options(config, GB2)] == [
        ("image", 512),
        ("s3", 2112),
        ("efs (bursting)", 512),  # the configured throughput
    ]
    image = get_environment("prod")
    assert [o.label for o in alternative_options(image, GB2)] == ["image", "s3", "efs (elastic)"]


def test_configured_size(tmp_path: Path) -> None:
    weights = tmp_path / "model.pth"
    weights.write_bytes(bytes(3 << 20))
    assert configured_size_mb(get_environment("prod"), weights) == 3.0
    assert configured_size_mb(with_source("prod", EFS_BURSTING), weights) == 1000.0  # as set
    with pytest.raises(OpsError, match=r"train one \(make train\) or fetch one"):
        configured_size_mb(get_environment("prod"), tmp_path / "missing.pth")


def test_compare_sources_prices_the_configured_size_and_the_compared_one() -> None:
    config = with_source("prod", EFS_BURSTING)
    sources = compare_sources(config, PROD, model_size_mb=1000.0, comparison_size_mb=GB2)
    assert sources.configured.option == SourceOption("efs", 1000.0, 512, "bursting")
    assert sources.configured.total == approx(1000 / 1024 * 0.30)
    assert [cost.total for cost in sources.alternatives] == [
        approx(0.20),
        approx(0.046 + S3_GETS + S3_TMP),
        approx(0.60),
    ]


def test_the_comparison_flags_sizes_on_demand_init_cannot_load() -> None:
    # The comparison prices sizes the config would refuse on demand: the report says so instead.
    dev = get_environment("dev")
    assert dev.provisioned.floor == 0
    sources = compare_sources(dev, serving(dev, 10e6), 1.0, GB2)
    assert [cost.option.too_slow_for_on_demand for cost in sources.alternatives] == [
        False,
        True,
        True,
    ]
