"""The lifecycle section's rules: each bad setting is one line that says what to use instead."""

from __future__ import annotations

import dataclasses

import pytest

from infra.config import DEV, ConfigError
from infra.settings.lifecycle import LifecycleSettings
from torchlambda import contract
from torchlambda.lifecycle.gate import Gate


@pytest.mark.parametrize(
    "settings",
    [
        LifecycleSettings(),
        LifecycleSettings(schedule="rate(7 days)", retrain_on_new_data=True),
        LifecycleSettings(schedule="rate(1 day)"),
        LifecycleSettings(schedule="cron(0 3 ? * MON *)"),
        LifecycleSettings(evaluation_set=contract.DEFAULT_HOLDOUT_KEY),
        LifecycleSettings(gate=Gate(max_mse=4.5, min_relative_improvement=0.0)),
    ],
)
def test_sound_settings_pass(settings: LifecycleSettings) -> None:
    assert list(settings.faults()) == []
    dataclasses.replace(DEV, lifecycle=settings)  # and the environment accepts them


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (LifecycleSettings(schedule="every week"), "is not an EventBridge schedule"),
        (LifecycleSettings(schedule="rate(7 weeks)"), "is not an EventBridge schedule"),
        (LifecycleSettings(evaluation_set="holdout.csv"), "must be an object under data/"),
        (LifecycleSettings(evaluation_set="data/"), "must be an object under data/"),
        (LifecycleSettings(gate=Gate(max_mse=0)), "max_mse=0 must be a number > 0"),
        (LifecycleSettings(gate=Gate(max_mse=float("nan"))), "must be a number > 0"),
        (LifecycleSettings(gate=Gate(min_relative_improvement=1.0)), "must be in [0, 1)"),
        (LifecycleSettings(gate=Gate(min_relative_improvement=-0.1)), "must be in [0, 1)"),
        (LifecycleSettings(training_timeout_minutes=0), "training_timeout_minutes=0"),
        (LifecycleSettings(evaluator_memory_mb=64), "outside Lambda's 128..10240"),
        (LifecycleSettings(evaluator_timeout_seconds=901), "must be 1..900"),
    ],
)
def test_each_bad_setting_is_one_line(settings: LifecycleSettings, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        dataclasses.replace(DEV, lifecycle=settings)
    (line,) = str(raised.value).splitlines()
    assert line.startswith("dev: lifecycle ")
    assert message in line


def test_the_environments_table_says_what_starts_a_retrain() -> None:
    assert LifecycleSettings().triggers_description == "`make retrain`"
    assert (
        LifecycleSettings(schedule="rate(7 days)", retrain_on_new_data=True).triggers_description
        == "`rate(7 days)`, new data, `make retrain`"
    )
