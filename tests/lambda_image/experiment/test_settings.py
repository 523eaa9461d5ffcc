"""The experiment's variables: each bad one is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchlambda import contract
from torchlambda.experiment.settings import ExperimentSettings
from torchlambda.settings import SettingsError

SHA = "a" * 64


def test_no_variables_means_no_experiment() -> None:
    settings = ExperimentSettings.from_env({})
    assert settings.mode == "none" and not settings.enabled


def test_shadow_reads_the_challenger() -> None:
    settings = ExperimentSettings.from_env(
        {contract.ENV_EXPERIMENT: "shadow", contract.ENV_CHALLENGER_SHA256: SHA}
    )
    assert settings.enabled and settings.challenger_sha256 == SHA
    assert settings.challenger_dir == Path(contract.CHALLENGER_DIR_IN_IMAGE)


def test_split_reads_its_weight_and_header() -> None:
    settings = ExperimentSettings.from_env(
        {
            contract.ENV_EXPERIMENT: "split",
            contract.ENV_CHALLENGER_SHA256: SHA,
            contract.ENV_CHALLENGER_DIR: "/tmp/c",
            contract.ENV_SPLIT_WEIGHT: "0.25",
            contract.ENV_STICKY_HEADER: "x-session",
        }
    )
    assert (settings.split_weight, settings.sticky_header) == (0.25, "x-session")
    assert settings.challenger_dir == Path("/tmp/c")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({contract.ENV_EXPERIMENT: "canary"}, "EXPERIMENT='canary'"),
        ({contract.ENV_EXPERIMENT: "shadow"}, "needs CHALLENGER_SHA256"),
        ({contract.ENV_EXPERIMENT: "shadow", contract.ENV_CHALLENGER_SHA256: "abc"}, "needs"),
        ({contract.ENV_EXPERIMENT: "split", contract.ENV_CHALLENGER_SHA256: SHA}, "SPLIT_WEIGHT"),
        *(
            (
                {
                    contract.ENV_EXPERIMENT: "split",
                    contract.ENV_CHALLENGER_SHA256: SHA,
                    contract.ENV_SPLIT_WEIGHT: weight,
                },
                f"SPLIT_WEIGHT='{weight}'",
            )
            for weight in ["0", "0.51", "-0.1", "nan", "half"]
        ),
        (
            {
                contract.ENV_EXPERIMENT: "split",
                contract.ENV_CHALLENGER_SHA256: SHA,
                contract.ENV_SPLIT_WEIGHT: "0.1",
                contract.ENV_STICKY_HEADER: "X User",
            },
            "STICKY_HEADER='X User'",
        ),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        ExperimentSettings.from_env(env)
    assert named in str(raised.value) and "\n" not in str(raised.value)
