"""Environments running an experiment, from their synthesized templates: the inference function
is told the mode and the pinned challenger, sized for both models, and passes every gate; an
environment without one is told nothing new."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

import infra.challenger
from infra.application import build_app
from infra.challenger import read_challenger
from infra.config import DEV, STAGING, ConfigError
from infra.model_version import MODEL_DIR
from infra.outputs import Component
from infra.settings.experiment import Shadow, Split
from tests.infra.conftest import (
    TEST_ACCOUNT,
    SynthesizedApp,
    SynthesizedEnvironment,
    new_app,
    synthesize,
)
from tests.infra.test_gates import CFN_LINT_IGNORED, nag_violations
from torchlambda import contract

EXPERIMENT_VARIABLES = {
    contract.ENV_EXPERIMENT,
    contract.ENV_CHALLENGER_DIR,
    contract.ENV_CHALLENGER_SHA256,
    contract.ENV_SPLIT_WEIGHT,
    contract.ENV_STICKY_HEADER,
}
SHADOW_DEV = dataclasses.replace(DEV, experiment=Shadow())
# Split with more memory than the default, to see the template take the config's.
SPLIT_STAGING = dataclasses.replace(
    STAGING,
    experiment=Split(weight=0.2, sticky_header="x-session"),
    function=dataclasses.replace(STAGING.function, memory_mb=2048),
)


@pytest.fixture(scope="module")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A challenger copied in by hand (no build record): the champion's own files will do."""
    directory = tmp_path_factory.mktemp("lambda_image") / "challenger"
    shutil.copytree(MODEL_DIR, directory)
    return directory


@pytest.fixture(scope="module")
def experiment_app(
    tmp_path_factory: pytest.TempPathFactory, challenger_dir: Path
) -> SynthesizedApp:
    """dev in shadow and staging in split, synthesized with the challenger above."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.challenger, "CHALLENGER_DIR", challenger_dir)
        return synthesize([SHADOW_DEV, SPLIT_STAGING], tmp_path_factory.mktemp("cdk.out-ab"))


def variables_of(environment: SynthesizedEnvironment, component: str, prefix: str) -> Any:
    functions = environment.resources(component, "AWS::Lambda::Function")
    [properties] = [v["Properties"] for k, v in functions.items() if k.startswith(prefix)]
    return properties["Environment"]["Variables"], properties


def test_shadow_tells_the_function_its_mode_and_pinned_challenger(
    experiment_app: SynthesizedApp, challenger_dir: Path
) -> None:
    variables, properties = variables_of(
        experiment_app.environments["dev"], Component.SERVING, "InferenceFunction"
    )
    assert {k: v for k, v in variables.items() if k in EXPERIMENT_VARIABLES} == {
        contract.ENV_EXPERIMENT: "shadow",
        contract.ENV_CHALLENGER_DIR: str(contract.CHALLENGER_DIR_IN_IMAGE),
        contract.ENV_CHALLENGER_SHA256: read_challenger(challenger_dir).sha256,
    }
    assert properties["MemorySize"] == DEV.function.memory_mb


def test_split_adds_its_share_and_sticky_header_and_takes_the_configured_memory(
    experiment_app: SynthesizedApp, challenger_dir: Path
) -> None:
    variables, properties = variables_of(
        experiment_app.environments["staging"], Component.SERVING, "InferenceFunction"
    )
    assert {k: v for k, v in variables.items() if k in EXPERIMENT_VARIABLES} == {
        contract.ENV_EXPERIMENT: "split",
        contract.ENV_CHALLENGER_DIR: str(contract.CHALLENGER_DIR_IN_IMAGE),
        contract.ENV_CHALLENGER_SHA256: read_challenger(challenger_dir).sha256,
        contract.ENV_SPLIT_WEIGHT: "0.2",
        contract.ENV_STICKY_HEADER: "x-session",
    }
    assert properties["MemorySize"] == 2048


def test_batch_workers_score_with_the_champion_alone(experiment_app: SynthesizedApp) -> None:
    for environment in experiment_app.environments.values():
        variables, _ = variables_of(environment, Component.BATCH, "WorkerFunction")
        assert EXPERIMENT_VARIABLES.isdisjoint(variables)


def test_an_environment_without_an_experiment_is_told_nothing_of_one(
    environment: SynthesizedEnvironment,
) -> None:
    variables, _ = variables_of(environment, Component.SERVING, "InferenceFunction")
    assert EXPERIMENT_VARIABLES.isdisjoint(variables)


def test_cdk_nag_and_cfn_lint_pass_with_an_experiment(experiment_app: SynthesizedApp) -> None:
    violations = nag_violations(experiment_app.outdir)
    assert experiment_app.nag_failure is None, "\n".join([experiment_app.nag_failure, *violations])
    assert violations == []
    for environment in experiment_app.environments.values():
        path = environment.template_files[Component.SERVING]
        matches = lint(
            path.read_text(),
            config=ManualArgs(regions=[environment.config.region], ignore_checks=CFN_LINT_IGNORED),
        )
        assert [str(m) for m in matches] == [], environment.config.name


def test_synthesis_without_the_challenger_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(infra.challenger, "CHALLENGER_DIR", tmp_path / "challenger")
    with pytest.raises(ConfigError) as caught:
        build_app(new_app(tmp_path / "cdk.out"), [SHADOW_DEV], default_account=TEST_ACCOUNT)
    assert str(caught.value) == (
        f"dev: experiment shadow needs a challenger in {tmp_path / 'challenger'}: run "
        "`make fetch-model ENV=dev AS=challenger`"
    )
