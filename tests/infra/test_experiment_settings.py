"""An environment's experiment: each rule refuses its failing case with one actionable line, and
each mode says what the function must be told."""

from __future__ import annotations

import dataclasses
import math

import pytest

from infra.config import DEV, ENVIRONMENTS, ConfigError
from infra.settings.experiment import Experiment, NoExperiment, Shadow, Split
from torchlambda import contract
from torchlambda.experiment.settings import ExperimentSettings


def refused(experiment: Experiment) -> str:
    """Building dev with `experiment` fails with exactly one line, which is returned."""
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(DEV, experiment=experiment)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith("dev: experiment ")
    return message


def test_no_environment_runs_an_experiment_by_default() -> None:
    assert {config.experiment for config in ENVIRONMENTS.values()} == {NoExperiment()}
    assert NoExperiment().variables() == {}


@pytest.mark.parametrize("weight", [0.0, -0.1, 0.51, 1.0, math.nan, math.inf])
def test_split_weight_must_be_a_share_up_to_half(weight: float) -> None:
    assert f"split weight={weight} must be in (0, 0.5]" in refused(Split(weight=weight))


@pytest.mark.parametrize("weight", [1e-6, 0.1, contract.MAX_SPLIT_WEIGHT])
def test_split_weights_in_range_are_accepted(weight: float) -> None:
    assert dataclasses.replace(DEV, experiment=Split(weight=weight)).experiment.enabled


@pytest.mark.parametrize("header", ["X-User-Id", "x user", "", "x-user:id", "é"])
def test_the_sticky_header_must_be_a_lowercase_header_name(header: str) -> None:
    message = refused(Split(weight=0.1, sticky_header=header))
    assert f"sticky_header={header!r} must be a lowercase HTTP header name" in message


@pytest.mark.parametrize("build", ["a/b", "..", "", "project:"])
def test_a_challenger_build_must_be_a_build_id(build: str) -> None:
    for experiment in (Shadow(challenger_build=build), Split(0.1, challenger_build=build)):
        assert f"challenger_build={build!r} is not a build id" in refused(experiment)


def test_a_codebuild_id_names_a_challenger_build() -> None:
    config = dataclasses.replace(DEV, experiment=Shadow(challenger_build="project:1234-abcd"))
    assert config.experiment.challenger_build == "project:1234-abcd"


def test_several_experiment_faults_give_one_line_each() -> None:
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(
            DEV, experiment=Split(weight=0.9, sticky_header="User", challenger_build="a/b")
        )
    assert len(str(caught.value).splitlines()) == 3


@pytest.mark.parametrize(
    "experiment",
    [Shadow(), Split(weight=0.25), Split(weight=0.05, sticky_header="x-session")],
)
def test_the_function_reads_back_what_each_mode_sets(experiment: Shadow | Split) -> None:
    # The runtime's own parser, given these variables and a pinned challenger, gets the settings.
    variables = {**experiment.variables(), contract.ENV_CHALLENGER_SHA256: "ab" * 32}
    parsed = ExperimentSettings.from_env(variables)
    assert parsed.mode == experiment.mode
    if isinstance(experiment, Split):
        assert parsed.split_weight == experiment.weight
        assert parsed.sticky_header == experiment.sticky_header


def test_each_mode_describes_itself_for_the_readme_table() -> None:
    assert NoExperiment().description == "none"
    assert Shadow().description == "shadow, challenger: newest build"
    assert Split(weight=0.125, challenger_build="b-1").description == (
        "split, 12.5% of callers by `x-user-id`, challenger: build b-1"
    )
