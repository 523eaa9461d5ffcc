"""The delivery pipeline's settings: each fault one line that names the setting and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.config import DEV, ENVIRONMENTS, STAGING
from infra.settings.delivery import DeliverySettings
from infra.settings.retention import RetentionSettings
from tests.infra.delivery_examples import DELIVERY, OTHER_ACCOUNT


def test_the_example_has_no_fault() -> None:
    assert list(DELIVERY.faults()) == []
    assert list(DELIVERY.environment_faults(list(ENVIRONMENTS.values()))) == []


@pytest.mark.parametrize(
    ("field", "value", "start"),
    [
        ("account", "12345678901", "delivery account '12345678901' is malformed"),
        ("region", "us-west-9", "delivery region 'us-west-9' is unknown"),
        ("connection_arn", "arn:aws:s3:::bucket", "delivery connection_arn 'arn:aws:s3:::bucket'"),
        ("repository", "torchlambda", "delivery repository 'torchlambda' must be owner/name"),
        ("branch", "feature..x", "delivery branch 'feature..x' is not a branch name"),
        (
            "retention",
            RetentionSettings(log_retention_days=2),
            "delivery log_retention_days=2 is not a CloudWatch Logs value",
        ),
    ],
)
def test_each_bad_setting_is_one_line_naming_it(field: str, value: Any, start: str) -> None:
    (fault,) = dataclasses.replace(DELIVERY, **{field: value}).faults()
    assert fault.startswith(start)


def test_every_fault_is_reported_at_once() -> None:
    broken = DeliverySettings(
        account="x", region="nowhere", connection_arn="", repository="", branch="-b"
    )
    assert len(list(broken.faults())) == 5


@pytest.mark.parametrize(
    "arn",
    [
        DELIVERY.connection_arn,
        "arn:aws:codestar-connections:eu-west-1:123456789012:"
        "connection/0a1b2c3d-4e5f-4607-8293-a4b5c6d7e8f9",
    ],
)
def test_both_names_of_the_connection_service_are_accepted(arn: str) -> None:
    assert list(dataclasses.replace(DELIVERY, connection_arn=arn).faults()) == []


@pytest.mark.parametrize("repository", ["owner/name", "group/subgroup/project", "a.b/c_d-e"])
@pytest.mark.parametrize("branch", ["main", "release/2.1", "feature-x"])
def test_hosts_repositories_and_branches_are_accepted(repository: str, branch: str) -> None:
    settings = dataclasses.replace(DELIVERY, repository=repository, branch=branch)
    assert list(settings.faults()) == []


def test_a_wave_in_another_region_is_refused() -> None:
    elsewhere = dataclasses.replace(STAGING, region="eu-west-1")
    (fault,) = DELIVERY.environment_faults([DEV, elsewhere])
    assert fault.startswith("staging deploys to eu-west-1 but the delivery pipeline lives in")
    assert fault.endswith(
        "set the delivery region to 'eu-west-1' (a wave in another region needs a support "
        "stack CDK Pipelines would add unchecked)"
    )


def test_the_first_environment_shares_the_pipelines_account_later_ones_need_not() -> None:
    assert (
        list(
            DELIVERY.environment_faults([DEV, dataclasses.replace(STAGING, account=OTHER_ACCOUNT)])
        )
        == []
    )
    assert (
        list(DELIVERY.environment_faults([dataclasses.replace(DEV, account=DELIVERY.account)]))
        == []
    )
    (fault,) = DELIVERY.environment_faults([dataclasses.replace(DEV, account=OTHER_ACCOUNT)])
    assert fault.startswith(f"dev deploys to account {OTHER_ACCOUNT} but the delivery pipeline")
