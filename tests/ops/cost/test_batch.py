"""Batch scoring's cost per million rows, and the online API's for the same predictions, against
figures worked out by hand from the prices in ops/cost/prices.py."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from infra.config import ENVIRONMENT_NAMES, get_environment
from ops.cost.batch import (
    PART_BYTES,
    BatchSetup,
    BatchWorkload,
    batch_cost,
    batch_setup_from_config,
    compare_batch,
    job_usage,
    online_cost,
    output_requests,
)
from ops.cost.model import LambdaSetup, Workload, compare, setup_from_config
from ops.cost.prices import PRICES
from ops.cost.report import cost_lines
from ops.cost.units import format_dollars

GB = 3538 / 1024  # 3.455078125
DEV = BatchSetup(worker_memory_mb=3538, job_memory_mb=512, architecture="x86_64")


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-15)


def test_prices_of_step_functions_and_s3() -> None:
    assert PRICES.step_functions_per_thousand_transitions == 0.025
    assert PRICES.s3_per_thousand_put_requests == 0.005
    assert PRICES.s3_per_thousand_get_requests == 0.0004


def test_part_size_is_the_sinks() -> None:
    from torchlambda.batch.sinks import PART_BYTES as SINK_PART_BYTES

    assert PART_BYTES == SINK_PART_BYTES == 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("rows", "requests"),
    [
        (1_000, 1),  # 18,240 bytes: one PutObject
        (459_900, 1),  # 8,388,576 bytes: still below a part
        (459_902, 4),  # 8,388,612 bytes: Create, 2 parts (the second 4 bytes), Complete
        (1_000_000, 5),  # 18,240,000 bytes = 2.17 parts: Create, 3 parts, Complete
    ],
)
def test_output_requests(rows: int, requests: int) -> None:
    assert output_requests(rows, 18.24) == requests
    assert output_requests(1, PART_BYTES) == 3  # exactly one part is uploaded as one


def test_a_job_of_one_object() -> None:
    usage = job_usage(DEV, BatchWorkload())
    assert usage.objects == 1
    assert usage.worker_batches == ((1, 1_000_000),)
    assert usage.worker_invocations == 1
    assert usage.state_transitions == 6 + 2  # the parent's six states, one child
    # The object: 5 to write its predictions + its report; the job: validate's LIST, the manifest,
    # the result writer's two files, summarize's LIST and the summary.
    assert usage.s3_put_requests == 5 + 1 + 1 + 1 + 2 + 1 + 1
    assert usage.s3_get_requests == 1 + 4  # the input; the manifest twice, the results' two


# dev, per 1M rows: 1M rows / 800,000 rows/s = 1,250 ms, billed 1,250 ms x 3.455078125 GB.
WORKER_DURATION = 4.31884765625 * 0.0000166667  # $0.0000719809
JOB_DURATION = 1.0 * 0.0000166667  # validate and summarize: 2 x 1 s x 0.5 GB = 1 GB-s
LAMBDA = 0.0000002 + WORKER_DURATION + 0.0000004 + JOB_DURATION  # $0.0000892476


def test_dev_per_million_rows() -> None:
    cost = batch_cost(DEV, BatchWorkload())
    assert cost.jobs == 1
    assert cost.worker_requests == approx(0.0000002)
    assert cost.worker_duration == approx(WORKER_DURATION)
    assert cost.job_requests == approx(0.0000004)  # validate, summarize
    assert cost.job_duration == approx(JOB_DURATION)
    assert cost.lambda_total == approx(LAMBDA)
    assert cost.step_functions == approx(8 * 0.000025)  # $0.0002
    assert cost.s3_requests == approx(12 * 0.000005 + 5 * 0.0000004)  # $0.000062
    assert cost.total == approx(LAMBDA + 0.0002 + 0.000062)
    assert cost.total == pytest.approx(0.0003512476, rel=1e-6)


def test_a_bigger_job_spreads_its_fixed_requests_over_more_rows() -> None:
    cost = batch_cost(DEV, BatchWorkload(rows_per_job=10_000_000))
    usage = cost.usage
    assert usage.objects == usage.worker_invocations == 10
    assert usage.state_transitions == 6 + 10 * 2
    assert usage.s3_put_requests == 10 * (5 + 1) + 1 + 5
    assert usage.s3_get_requests == 10 + 4
    assert cost.jobs == approx(0.1)  # each million rows pays a tenth of the job
    assert cost.step_functions == approx(2.6 * 0.000025)
    assert cost.s3_requests == approx(6.6 * 0.000005 + 1.4 * 0.0000004)
    assert cost.worker_duration == approx(WORKER_DURATION)  # the same rows
    assert cost.job_duration == approx(0.1 * JOB_DURATION)


def test_more_objects_per_job_raise_transitions_requests_and_cost() -> None:
    costs = [
        batch_cost(DEV, BatchWorkload(rows_per_job=10_000_000, rows_per_object=rows))
        for rows in (10_000_000, 1_000_000, 100_000, 10_000)
    ]
    usages = [cost.usage for cost in costs]
    assert [usage.objects for usage in usages] == [1, 10, 100, 1000]
    for fewer, more in itertools.pairwise(costs):
        assert more.usage.state_transitions > fewer.usage.state_transitions
        assert more.usage.s3_put_requests > fewer.usage.s3_put_requests
        assert more.usage.s3_get_requests > fewer.usage.s3_get_requests
        assert more.usage.worker_invocations > fewer.usage.worker_invocations
        assert more.step_functions > fewer.step_functions
        assert more.s3_requests > fewer.s3_requests
        assert more.total > fewer.total


def test_batching_objects_saves_invocations_and_transitions_not_s3_requests() -> None:
    workload = BatchWorkload(rows_per_job=10_000_000)
    one = job_usage(DEV, workload)
    four = job_usage(dataclasses.replace(DEV, max_items_per_batch=4), workload)
    assert four.worker_batches == ((2, 4_000_000), (1, 2_000_000))
    assert four.worker_invocations == 3
    assert four.state_transitions == 6 + 3 * 2
    assert (four.s3_put_requests, four.s3_get_requests) == (
        one.s3_put_requests,
        one.s3_get_requests,
    )


def test_a_smaller_last_object() -> None:
    usage = job_usage(DEV, BatchWorkload(rows_per_job=2_500_000))
    assert usage.objects == 3
    assert usage.worker_batches == ((2, 1_000_000), (1, 500_000))
    # Two objects of 5 + 1 requests; the last, 9,120,000 bytes: Create, 2 parts, Complete + 1.
    assert usage.s3_put_requests == 2 * 6 + 5 + 1 + 5
    batched = job_usage(
        dataclasses.replace(DEV, max_items_per_batch=2), BatchWorkload(rows_per_job=2_500_000)
    )
    assert batched.worker_batches == ((1, 2_000_000), (1, 500_000))


def test_validate_lists_a_page_per_thousand_objects() -> None:
    usage = job_usage(DEV, BatchWorkload(rows_per_job=2_001_000, rows_per_object=1_000))
    assert usage.objects == 2001
    # Each object of 18,240 bytes: one PutObject and its report; three LIST pages.
    assert usage.s3_put_requests == 2001 * 2 + 3 + 5


def test_worker_duration_is_billed_in_whole_milliseconds_per_invocation() -> None:
    # 10 objects of 1,000 rows at 800,000 rows/s: 1.25 ms each, billed 2 ms each.
    cost = batch_cost(DEV, BatchWorkload(rows=10_000, rows_per_job=10_000, rows_per_object=1_000))
    assert cost.worker_duration == approx(10 * 0.002 * GB * 0.0000166667)


def test_arm64_workers_cost_less() -> None:
    arm = batch_cost(dataclasses.replace(DEV, architecture="arm64"), BatchWorkload())
    assert arm.worker_duration == approx(4.31884765625 * 0.0000133334)
    assert arm.total < batch_cost(DEV, BatchWorkload()).total


@pytest.mark.parametrize(
    "changes",
    [{"rows_per_job": 0}, {"rows_per_object": 0}, {"rows": 0}, {"worker_rows_per_second": 0}],
)
def test_workload_refuses_nonsense(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        BatchWorkload(**changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_items_per_batch"):
        BatchSetup(1769, 512, "x86_64", max_items_per_batch=0)


def test_online_api_for_the_same_predictions() -> None:
    # 1M rows in POSTs of 10,000: 100 POSTs of 16 ms at 1,769 MB, on demand.
    cost = online_cost(LambdaSetup(memory_mb=1769, architecture="x86_64"))
    assert cost.api_requests == approx(100 * 0.000001)
    assert cost.lambda_requests == approx(100 * 0.0000002)
    assert cost.lambda_duration == approx(2.7640625 * 0.0000166667)  # 100 x 0.016 s x GB
    assert cost.total == approx(0.0001 + 0.00002 + 2.7640625 * 0.0000166667)
    assert online_cost(LambdaSetup(1769, "x86_64"), rows=15_000).api_requests == approx(2e-6)


def test_online_api_prices_predictions_at_the_on_demand_rate() -> None:
    prod = get_environment("prod")  # provisioned concurrency: its allocation is paid anyway
    cost = online_cost(setup_from_config(prod))
    assert cost.provisioned_allocation == cost.provisioned_duration == 0
    assert cost == online_cost(LambdaSetup(1769, "x86_64"))


def test_batch_settings_are_read_from_the_config() -> None:
    assert batch_setup_from_config(get_environment("dev")) == DEV


def test_compare_batch_for_dev() -> None:
    comparison = compare_batch(get_environment("dev"))
    assert comparison.online_posts == 100
    assert comparison.batch.total == pytest.approx(0.0003512476, rel=1e-6)
    assert comparison.online.total == pytest.approx(0.0001660678, rel=1e-6)


def report(name: str) -> list[str]:
    config = get_environment(name)
    return cost_lines(config, compare(setup_from_config(config), Workload(10e6, 20)))


@pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
def test_report_prices_batch_beside_online_for_each_environment(name: str) -> None:
    lines = report(name)
    batch = [line for line in lines if line.startswith("batch job, per 1M rows: $")]
    online = [
        line
        for line in lines
        if line.startswith("online API for the same 1M predictions in POSTs of 10,000: $")
    ]
    assert len(batch) == len(online) == 1
    assert "(Lambda $" in batch[0]
    assert ", Step Functions $" in batch[0]
    assert ", S3 $" in batch[0]
    # The monthly table is still there, its total line first of those starting "total".
    assert next(line for line in lines if line.startswith("total"))


def test_dev_report_lines() -> None:
    lines = report("dev")
    assert (
        "batch job, per 1M rows: $0.000351 (Lambda $0.0000892, Step Functions $0.000200, "
        "S3 $0.0000620)"
    ) in lines
    assert (
        "  each job: objects 1, worker invocations 1, state transitions 8, "
        "S3 requests 12 PUT/LIST + 5 GET"
    ) in lines
    assert (
        "online API for the same 1M predictions in POSTs of 10,000: $0.000166 "
        "(HTTP API $0.000100, Lambda $0.0000661)"
    ) in lines
    assert "  100 POSTs of 16 ms, on demand" in lines


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "$0"),
        (0.000327264, "$0.000327"),
        (0.0000652636, "$0.0000653"),
        (0.0000999999, "$0.000100"),
        (0.0002, "$0.000200"),
        (0.05, "$0.0500"),
        (1.5, "$1.50"),
        (1234.5, "$1,234.50"),
    ],
)
def test_format_dollars(amount: float, text: str) -> None:
    assert format_dollars(amount) == text
