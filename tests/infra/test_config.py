"""Every configuration rule rejects its failing case with one actionable line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from typing import Any

import pytest

from infra.config import (
    ACCOUNT_CONCURRENCY,
    DEV,
    ENVIRONMENTS,
    PROD,
    STAGING,
    UNRESERVED_MINIMUM,
    ConfigError,
    EnvironmentConfig,
    get_environment,
)
from infra.settings.alerting import AlertingSettings
from infra.settings.api import Throttling
from infra.settings.batch import BatchSettings
from infra.settings.images import ImageChoice
from infra.settings.provisioned import (
    AutoScaledProvisionedConcurrency,
    FixedProvisionedConcurrency,
    OnDemand,
    ScheduledCapacity,
)
from infra.settings.rollout import AllAtOnce, Canary


def rejected(match: str, base: EnvironmentConfig = DEV, **sections: Any) -> ConfigError:
    """Replacing whole sections of `base` fails with one line that matches `match`."""
    with pytest.raises(ConfigError, match=match) as caught:
        dataclasses.replace(base, **sections)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{base.name}: ")
    return caught.value


def function(**changes: Any) -> dict[str, Any]:
    return {"function": dataclasses.replace(DEV.function, **changes)}


def api(**changes: Any) -> dict[str, Any]:
    return {"api": dataclasses.replace(DEV.api, **changes)}


def training(**changes: Any) -> dict[str, Any]:
    return {"training": dataclasses.replace(DEV.training, **changes)}


def batch(**changes: Any) -> dict[str, Any]:
    return {"batch": dataclasses.replace(DEV.batch, **changes)}


def test_defaults_are_valid_and_distinct() -> None:
    assert set(ENVIRONMENTS) == {"dev", "staging", "prod"}
    assert [c.name for c in ENVIRONMENTS.values()] == ["dev", "staging", "prod"]


def test_dev_pays_nothing_while_idle() -> None:
    assert DEV.provisioned == OnDemand()
    assert DEV.provisioned.floor == DEV.provisioned.ceiling == 0
    assert not DEV.retention.retain_stateful_resources


def test_prod_scales_warm_capacity_rolls_out_by_canary_and_requires_iam() -> None:
    assert PROD.provisioned.floor >= 1
    assert PROD.provisioned.ceiling > PROD.provisioned.floor
    assert PROD.provisioned.target_utilization == 0.7
    assert PROD.rollout == Canary(percentage=10, minutes=5)
    assert PROD.api.auth == "iam"
    assert PROD.retention.retain_stateful_resources
    assert STAGING.provisioned.floor == STAGING.provisioned.ceiling == 1


def test_each_provisioned_concurrency_choice_describes_itself() -> None:
    """What the table, the infrastructure and the cost model read instead of asking the type."""
    fixed = FixedProvisionedConcurrency(3)
    scaled = AutoScaledProvisionedConcurrency(2, 20, target_utilization=0.7)
    assert (OnDemand().floor, OnDemand().ceiling, OnDemand().target_utilization) == (0, 0, None)
    assert (fixed.floor, fixed.ceiling, fixed.target_utilization) == (3, 3, None)
    assert (scaled.floor, scaled.ceiling, scaled.target_utilization) == (2, 20, 0.7)
    assert [c.description for c in (OnDemand(), fixed, scaled)] == [
        "none (on demand)",
        "3 (fixed)",
        "2..20 at 70% utilization",
    ]


class Recorder:
    """A rollout builder that says which step it was asked for."""

    def all_at_once(self) -> str:
        return "all at once"

    def canary(self, *, percentage: int, minutes: int) -> str:
        return f"canary {percentage} {minutes}"


def test_each_rollout_strategy_builds_itself() -> None:
    assert AllAtOnce().build(Recorder()) == "all at once"
    assert Canary(percentage=10, minutes=5).build(Recorder()) == "canary 10 5"
    assert [s.description for s in (AllAtOnce(), PROD.rollout)] == [
        "all at once",
        "canary 10% for 5 min",
    ]


@pytest.mark.parametrize("timeout", [0, 29, 30, 900])
def test_timeout_must_stay_below_the_http_api_integration_limit(timeout: int) -> None:
    rejected("HTTP API integration", **function(timeout_seconds=timeout))


def test_longest_allowed_timeout_is_accepted() -> None:
    config = dataclasses.replace(DEV, **function(timeout_seconds=28))
    assert config.function.timeout_seconds == 28


def test_provisioned_must_not_exceed_reserved() -> None:
    rejected(
        "exceeds reserved_concurrency=2",
        **function(reserved_concurrency=2),
        provisioned=FixedProvisionedConcurrency(3),
    )


def test_auto_scaling_maximum_must_not_exceed_reserved() -> None:
    rejected(
        "exceeds reserved_concurrency=5",
        **function(reserved_concurrency=5),
        provisioned=AutoScaledProvisionedConcurrency(min_capacity=1, max_capacity=6),
    )


def test_fixed_provisioned_count_must_be_positive() -> None:
    rejected("must be >= 1", provisioned=FixedProvisionedConcurrency(0))


def test_auto_scaling_min_must_not_exceed_max() -> None:
    rejected(
        "min_capacity=5 > max_capacity=2",
        provisioned=AutoScaledProvisionedConcurrency(min_capacity=5, max_capacity=2),
    )


@pytest.mark.parametrize("target", [0.0, 1.0, 1.5, -0.1])
def test_auto_scaling_target_must_be_a_fraction(target: float) -> None:
    rejected(
        "target_utilization",
        provisioned=AutoScaledProvisionedConcurrency(1, 2, target_utilization=target),
    )


def test_schedule_bounds_must_fit_the_scaling_range() -> None:
    schedule = ScheduledCapacity("peak", "cron(0 8 ? * MON-FRI *)", min_capacity=5, max_capacity=50)
    rejected(
        "schedule 'peak'",
        provisioned=AutoScaledProvisionedConcurrency(1, 10, schedules=(schedule,)),
    )


def test_schedule_expression_must_be_cron_rate_or_at() -> None:
    schedule = ScheduledCapacity("peak", "0 8 * * *", min_capacity=1, max_capacity=2)
    rejected(
        "is not cron",
        provisioned=AutoScaledProvisionedConcurrency(1, 10, schedules=(schedule,)),
    )


@pytest.mark.parametrize("memory", [127, 10_241, 0])
def test_memory_must_be_within_lambda_limits(memory: int) -> None:
    rejected("outside Lambda's 128..10240", **function(memory_mb=memory))


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (100, 50)])
def test_burst_must_cover_a_positive_rate(rate: float, burst: int) -> None:
    rejected(
        "need burst >= rate > 0",
        **api(throttling=Throttling(rate_limit=rate, burst_limit=burst)),
    )


def test_prod_must_retain_stateful_resources() -> None:
    rejected(
        "prod must retain stateful resources",
        base=PROD,
        retention=dataclasses.replace(PROD.retention, retain_stateful_resources=False),
    )


@pytest.mark.parametrize("region", ["us-west-9", "mars-1", "US-WEST-2", ""])
def test_unknown_region_is_rejected(region: str) -> None:
    rejected("unknown region", region=region)


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "ap-southeast-2"])
def test_real_regions_are_accepted(region: str) -> None:
    assert dataclasses.replace(DEV, region=region).region == region


@pytest.mark.parametrize(
    "account", ["12345678901", "1234567890123", "abcdefghijkl", "1234-5678-9012"]
)
def test_malformed_account_is_rejected(account: str) -> None:
    rejected("exactly 12 digits", account=account)


def test_reserved_concurrency_must_be_positive() -> None:
    rejected("reserved_concurrency=0", **function(reserved_concurrency=0))


@pytest.mark.parametrize(("percentage", "minutes"), [(0, 5), (100, 5), (10, 0), (10, 3000)])
def test_canary_bounds(percentage: int, minutes: int) -> None:
    rejected("canary", rollout=Canary(percentage=percentage, minutes=minutes))


def test_log_retention_must_be_a_cloudwatch_value() -> None:
    rejected(
        "not a CloudWatch Logs value",
        retention=dataclasses.replace(DEV.retention, log_retention_days=8),
    )


def test_alarm_email_must_be_an_address() -> None:
    rejected("not an e-mail address", alerting=AlertingSettings(alarm_email="ops-team"))


@pytest.mark.parametrize("origin", ["localhost:3000", "ftp://example.com", "https://a.com/path"])
def test_cors_origins_must_be_origins(origin: str) -> None:
    rejected("CORS origin", **api(cors_origins=(origin,)))


def test_unknown_api_auth_is_rejected() -> None:
    rejected("api_auth='cognito'", **api(auth="cognito"))


def test_training_data_must_live_under_data_prefix() -> None:
    rejected("must live under data/", **training(data_key="train.csv"))


def test_quality_threshold_must_be_positive() -> None:
    rejected("max_validation_mse=0", **training(max_validation_mse=0))


def test_torch_threads_bounded_by_lambda_vcpus() -> None:
    rejected("torch_threads=7", **function(torch_threads=7))


def test_unknown_image_is_rejected_with_the_known_ones() -> None:
    rejected(
        "unknown DLC image 'pytorch:9.9'.*known images",
        **function(image=ImageChoice("pytorch:9.9")),
    )


def test_image_past_end_of_patch_is_rejected_without_a_reason() -> None:
    old = ImageChoice("pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-ec2", registry="private")
    rejected("passed its end of patch on 2026-06-30", **function(image=old))


def test_image_past_end_of_patch_is_allowed_with_a_reason() -> None:
    old = ImageChoice(
        "pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-ec2",
        registry="private",
        allow_past_end_of_patch="pinned until the 2.13 migration is validated",
    )
    config = dataclasses.replace(DEV, **function(image=old))
    assert config.function.image.spec.framework_version == "2.6.0"


def test_current_default_image_becomes_invalid_after_its_end_of_patch() -> None:
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(DEV, today=dt.date(2027, 7, 21))
    lines = str(caught.value).splitlines()
    assert [line.split(" ")[1] for line in lines] == ["inference_image", "training_image"]
    assert all("passed its end of patch on 2027-07-20" in line for line in lines)


def test_private_only_image_cannot_come_from_public_ecr() -> None:
    old = ImageChoice(
        "pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-ec2", allow_past_end_of_patch="testing"
    )
    rejected("not on public ECR", **function(image=old))


def test_arm64_function_needs_an_arm64_base_image() -> None:
    rejected("no arm64 variant", **function(architecture="arm64"))


def test_gpu_training_needs_a_gpu_image_and_cpu_a_cpu_image() -> None:
    rejected("needs gpu", **training(compute="gpu", image=ImageChoice(registry="private")))
    rejected("needs cpu", **training(image=ImageChoice("pytorch:2.13-cu133-amzn2023")))
    rejected(
        "needs training_image registry='private'",
        **training(compute="gpu", image=ImageChoice("pytorch:2.13-cu133-amzn2023")),
    )
    gpu = dataclasses.replace(
        DEV,
        **training(
            compute="gpu",
            image=ImageChoice("pytorch:2.13-cu133-amzn2023", registry="private"),
        ),
    )
    assert gpu.training.image.spec.accelerator == "gpu"


def test_inference_image_must_be_cpu() -> None:
    rejected(
        "inference_image.*needs cpu",
        **function(image=ImageChoice("pytorch:2.13-cu133-amzn2023")),
    )


def test_several_faults_give_one_line_each() -> None:
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(DEV, region="nowhere", **function(memory_mb=1, timeout_seconds=60))
    assert len(str(caught.value).splitlines()) == 3


def test_faults_in_several_sections_are_all_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(
            DEV,
            provisioned=FixedProvisionedConcurrency(0),
            alerting=AlertingSettings(alarm_email="ops-team"),
            **training(max_validation_mse=0),
        )
    assert len(str(caught.value).splitlines()) == 3


def test_all_at_once_is_the_default_rollout_outside_prod() -> None:
    assert DEV.rollout == AllAtOnce()
    assert STAGING.rollout == AllAtOnce()


def test_get_environment_lists_valid_names_for_unknown_ones() -> None:
    assert get_environment("staging") is STAGING
    with pytest.raises(
        ConfigError, match=r"^unknown environment 'nope'; valid names: dev, staging, prod$"
    ):
        get_environment("nope")


def test_stack_names_follow_app_component_env() -> None:
    assert PROD.stack_name("Serving") == "TorchLambda-Serving-prod"


def test_config_module_does_not_import_aws_cdk() -> None:
    code = "import sys, infra.config; sys.exit('aws_cdk' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---- Batch ------------------------------------------------------------------------------------


def test_batch_settings_per_environment() -> None:
    assert DEV.batch == BatchSettings()
    assert (DEV.batch.worker_reserved_concurrency, DEV.batch.max_concurrency) == (10, 8)
    assert (STAGING.batch.worker_reserved_concurrency, STAGING.batch.max_concurrency) == (20, 16)
    assert (PROD.batch.worker_reserved_concurrency, PROD.batch.max_concurrency) == (100, 80)
    for config in ENVIRONMENTS.values():
        assert config.batch.max_concurrency < config.batch.worker_reserved_concurrency
        assert config.batch.worker_memory_mb == 3538  # two vCPUs: the forward pass and its I/O
        assert config.batch.worker_timeout_seconds == 900
        assert config.batch.max_items_per_batch == 1  # one S3 object per worker invocation


@pytest.mark.parametrize("memory", [127, 10_241])
def test_batch_worker_memory_within_lambda_limits(memory: int) -> None:
    rejected(
        "batch worker_memory_mb=.* outside Lambda's 128..10240", **batch(worker_memory_mb=memory)
    )


@pytest.mark.parametrize("memory", [0, 20_000])
def test_batch_job_memory_within_lambda_limits(memory: int) -> None:
    rejected("batch job_memory_mb=.* outside Lambda's 128..10240", **batch(job_memory_mb=memory))


@pytest.mark.parametrize("timeout", [0, 901])
def test_batch_worker_timeout_within_lambdas_limit(timeout: int) -> None:
    rejected(
        f"batch worker_timeout_seconds={timeout} must be 1..900",
        **batch(worker_timeout_seconds=timeout),
    )


@pytest.mark.parametrize("timeout", [0, 901])
def test_batch_job_timeout_within_lambdas_limit(timeout: int) -> None:
    rejected(
        f"batch job_timeout_seconds={timeout} must be 1..900", **batch(job_timeout_seconds=timeout)
    )


def test_batch_workers_need_a_reservation() -> None:
    rejected(
        "batch worker_reserved_concurrency=0 must be >= 1",
        **batch(worker_reserved_concurrency=0, max_concurrency=1),
    )


def test_batch_max_concurrency_must_be_positive() -> None:
    rejected("batch max_concurrency=0 must be >= 1", **batch(max_concurrency=0))


@pytest.mark.parametrize("max_concurrency", [10, 11])
def test_batch_max_concurrency_must_stay_below_the_reservation(max_concurrency: int) -> None:
    error = rejected(
        f"batch max_concurrency={max_concurrency} must be below worker_reserved_concurrency=10",
        **batch(worker_reserved_concurrency=10, max_concurrency=max_concurrency),
    )
    assert "lower max_concurrency or raise the reservation" in str(error)


def test_batch_max_concurrency_just_below_the_reservation_is_accepted() -> None:
    config = dataclasses.replace(DEV, **batch(worker_reserved_concurrency=10, max_concurrency=9))
    assert config.batch.max_concurrency == 9


@pytest.mark.parametrize("percentage", [-0.1, 100.5])
def test_batch_tolerated_failure_percentage_is_a_percentage(percentage: float) -> None:
    rejected(
        "batch tolerated_failure_percentage=.* must be 0..100",
        **batch(tolerated_failure_percentage=percentage),
    )


@pytest.mark.parametrize("percentage", [0, 100])
def test_batch_tolerated_failure_percentage_bounds_are_accepted(percentage: float) -> None:
    config = dataclasses.replace(DEV, **batch(tolerated_failure_percentage=percentage))
    assert config.batch.tolerated_failure_percentage == percentage


def test_batch_items_per_batch_must_be_positive() -> None:
    rejected("batch max_items_per_batch=0 must be >= 1", **batch(max_items_per_batch=0))


def test_reservations_must_leave_the_accounts_unreserved_minimum() -> None:
    error = rejected(
        "reserved_concurrency=850 \\+ batch worker_reserved_concurrency=100 = 950 leaves fewer "
        "than 100",
        **function(reserved_concurrency=850),
        **batch(worker_reserved_concurrency=100, max_concurrency=80),
    )
    assert "lower either reservation" in str(error)


def test_batch_reservation_alone_counts_when_inference_is_unreserved() -> None:
    reserved = ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM + 1
    rejected(
        f"reserved_concurrency=0 \\+ batch worker_reserved_concurrency={reserved}",
        **batch(worker_reserved_concurrency=reserved),
    )


def test_reservations_leaving_exactly_the_minimum_are_accepted() -> None:
    config = dataclasses.replace(
        PROD,
        function=dataclasses.replace(PROD.function, reserved_concurrency=800),
        batch=dataclasses.replace(PROD.batch, worker_reserved_concurrency=100),
    )
    reserved = config.function.reserved_concurrency or 0
    assert ACCOUNT_CONCURRENCY - reserved - config.batch.worker_reserved_concurrency == 100
