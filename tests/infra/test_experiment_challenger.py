"""The challenger synthesis reads beside the champion: present, intact, the configured build, and
with memory for both models; every refusal is one line that says how to fix it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.challenger import (
    CHALLENGER_DIR,
    ChallengerBuild,
    fetch_command,
    read_challenger,
    served_experiment,
)
from infra.config import DEV, ConfigError, EnvironmentConfig
from infra.settings.experiment import Experiment, Shadow, Split
from infra.settings.model_source import RUNTIME_MEMORY_MB, S3Source
from tests.infra.model_source_examples import BUILD_ID, WEIGHTS_SHA256
from torchlambda import contract

WEIGHTS = b"challenger weights"
SHA256 = hashlib.sha256(WEIGHTS).hexdigest()
MODEL_ID = hashlib.sha256(b"challenger identity").hexdigest()
VERSION = MODEL_ID[: contract.MODEL_VERSION_LENGTH]


def write_challenger(
    directory: Path, *, build: ChallengerBuild | None = None, weights: bytes = WEIGHTS
) -> Path:
    """A challenger as fetch-model installs it (card and weights; the build record if given)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / contract.WEIGHTS_FILE).write_bytes(weights)
    card = {
        "schema_version": 2,
        "sha256": hashlib.sha256(weights).hexdigest(),
        "model_id": MODEL_ID,
    }
    (directory / contract.CARD_FILE).write_text(json.dumps(card))
    if build is not None:
        (directory / contract.CHALLENGER_BUILD_FILE).write_bytes(build.to_json())
    return directory


def record(**changes: str) -> ChallengerBuild:
    fields = {"environment": "dev", "build_id": "build-7", "sha256": SHA256}
    return ChallengerBuild(**{**fields, "model_version": VERSION, **changes})


@pytest.fixture
def champion(tmp_path: Path) -> Path:
    """The image's champion: a 100 MB weights file (sparse: only its size is read)."""
    directory = tmp_path / "champion"
    directory.mkdir()
    with (directory / contract.WEIGHTS_FILE).open("wb") as stream:
        stream.truncate(100_000_000)
    return directory


def running(experiment: Experiment, **changes: Any) -> EnvironmentConfig:
    return dataclasses.replace(DEV, experiment=experiment, **changes)


def refusal(config: EnvironmentConfig, challenger: Path, champion: Path) -> str:
    """The one line synthesis refuses `config` with."""
    with pytest.raises(ConfigError) as caught:
        served_experiment(config, challenger, champion)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{config.name}: experiment {config.experiment.mode}")
    return message


def test_no_experiment_reads_nothing(tmp_path: Path, champion: Path) -> None:
    assert served_experiment(DEV, tmp_path / "absent", champion) is None


def test_shadow_pins_the_challenger_it_finds(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger", build=record())
    served = served_experiment(running(Shadow()), directory, champion)
    assert served is not None
    assert served.challenger.version == VERSION
    assert served.challenger.build == record()
    assert served.environment() == {
        contract.ENV_EXPERIMENT: "shadow",
        contract.ENV_CHALLENGER_DIR: str(contract.CHALLENGER_DIR_IN_IMAGE),
        contract.ENV_CHALLENGER_SHA256: SHA256,
    }


def test_split_adds_its_share_and_header(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger")  # copied by hand: no build record
    served = served_experiment(running(Split(weight=0.2)), directory, champion)
    assert served is not None
    variables = served.environment()
    assert variables[contract.ENV_EXPERIMENT] == "split"
    assert variables[contract.ENV_SPLIT_WEIGHT] == "0.2"
    assert variables[contract.ENV_STICKY_HEADER] == contract.DEFAULT_STICKY_HEADER


def test_a_missing_challenger_says_how_to_fetch_it(tmp_path: Path, champion: Path) -> None:
    directory = tmp_path / "challenger"
    directory.mkdir()
    (directory / "README.md").write_text("a note is not a model\n")
    assert refusal(running(Shadow()), directory, champion) == (
        f"dev: experiment shadow needs a challenger in {directory}: run "
        "`make fetch-model ENV=dev AS=challenger`"
    )
    named = running(Split(weight=0.1, challenger_build="build-7"))
    assert refusal(named, directory, champion) == (
        f"dev: experiment split needs a challenger in {directory}: run "
        "`make fetch-model ENV=dev AS=challenger BUILD=build-7`"
    )


def test_the_repositorys_directory_is_named_as_a_person_types_it() -> None:
    assert CHALLENGER_DIR.parent.name == "lambda_image"
    assert fetch_command(running(Shadow())) == "make fetch-model ENV=dev AS=challenger"


def test_a_challenger_needs_its_card(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger")
    (directory / contract.CARD_FILE).unlink()
    assert "model.json is missing: a challenger needs its card" in refusal(
        running(Shadow()), directory, champion
    )


@pytest.mark.parametrize(
    ("card", "match"),
    [
        ("{not json", "unreadable model card"),
        (json.dumps({"model_id": "e05f"}), "model_id is not a hex digest"),
        (json.dumps({"model_id": MODEL_ID}), "sha256 is not the weights' 64 hex digits"),
        (json.dumps({"model_id": MODEL_ID, "sha256": "ab" * 32}), "a corrupt or replaced file"),
    ],
)
def test_a_card_that_does_not_describe_the_weights_is_refused(
    tmp_path: Path, champion: Path, card: str, match: str
) -> None:
    directory = write_challenger(tmp_path / "challenger")
    (directory / contract.CARD_FILE).write_text(card)
    message = refusal(running(Shadow()), directory, champion)
    assert match in message
    assert message.endswith("run `make fetch-model ENV=dev AS=challenger`")


def test_weights_replaced_after_the_fetch_are_refused(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger", build=record(model_version="0" * 12))
    assert "the model was replaced after it was fetched" in refusal(
        running(Shadow()), directory, champion
    )


def test_a_malformed_build_record_is_refused(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger")
    (directory / contract.CHALLENGER_BUILD_FILE).write_text(json.dumps({"build_id": 7}))
    assert "must be a JSON object with the strings environment, build_id" in refusal(
        running(Shadow()), directory, champion
    )


def test_another_environments_build_is_refused(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger", build=record(environment="staging"))
    assert refusal(running(Shadow()), directory, champion) == (
        f"dev: experiment shadow: {directory} holds a build of staging, not dev: run "
        "`make fetch-model ENV=dev AS=challenger`"
    )


@pytest.mark.parametrize("build", [None, record(build_id="build-6")])
def test_the_configured_build_must_be_the_one_installed(
    tmp_path: Path, champion: Path, build: ChallengerBuild | None
) -> None:
    directory = write_challenger(tmp_path / "challenger", build=build)
    held = "no published build" if build is None else "build build-6"
    assert refusal(running(Shadow(challenger_build="build-7")), directory, champion) == (
        f"dev: experiment shadow: challenger_build=build-7 but {directory} holds {held}: run "
        "`make fetch-model ENV=dev AS=challenger BUILD=build-7`"
    )


def test_the_configured_build_is_accepted_by_codebuilds_id(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger", build=record())
    config = running(Shadow(challenger_build="torchlambda-training-dev:build-7"))
    assert served_experiment(config, directory, champion) is not None


def with_memory(config: EnvironmentConfig, memory_mb: int) -> EnvironmentConfig:
    return dataclasses.replace(
        config, function=dataclasses.replace(config.function, memory_mb=memory_mb)
    )


def test_memory_must_hold_both_models_beside_the_runtime(tmp_path: Path, champion: Path) -> None:
    directory = write_challenger(tmp_path / "challenger", weights=b"w" * 3_000_000)
    needed = 100 + 3 + RUNTIME_MEMORY_MB  # MB: the champion, the challenger, the runtime
    assert served_experiment(with_memory(running(Shadow()), needed), directory, champion)
    tight = with_memory(running(Shadow()), needed - 1)
    message = refusal(tight, directory, champion)
    assert message == (
        f"dev: experiment shadow: function memory_mb={needed - 1} cannot hold the champion "
        f"(100.0 MB), the challenger (3.0 MB) and the {RUNTIME_MEMORY_MB} MB runtime: set it "
        f">= {needed}"
    )


def test_a_published_champion_is_sized_by_its_configured_size(
    tmp_path: Path, champion: Path
) -> None:
    directory = write_challenger(tmp_path / "challenger", weights=b"w" * 3_000_000)
    source = S3Source(build_id=BUILD_ID, sha256=WEIGHTS_SHA256, size_mb=200)
    # The champion and the runtime fit (the config's own rule); the challenger's 3 MB do not.
    config = with_memory(running(Shadow(), model_source=source), 602)
    assert refusal(config, directory, champion).endswith(
        "cannot hold the champion (200.0 MB), the challenger (3.0 MB) and the "
        f"{RUNTIME_MEMORY_MB} MB runtime: set it >= 603"
    )


def test_an_image_without_its_champion_is_refused(tmp_path: Path) -> None:
    directory = write_challenger(tmp_path / "challenger")
    message = refusal(running(Shadow()), directory, tmp_path / "no-champion")
    assert "model.pth is missing: train (`make train`) or fetch a champion" in message


def test_a_build_record_round_trips(tmp_path: Path) -> None:
    directory = write_challenger(tmp_path / "challenger", build=record())
    assert ChallengerBuild.read(directory) == record()
    assert read_challenger(directory).build == record()
    (directory / contract.CHALLENGER_BUILD_FILE).unlink()
    assert ChallengerBuild.read(directory) is None


def test_reading_the_challenger_imports_neither_torch_nor_aws_cdk() -> None:
    code = (
        "import sys, infra.challenger; "
        "sys.exit(any(m in sys.modules for m in ('torch', 'aws_cdk')))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
