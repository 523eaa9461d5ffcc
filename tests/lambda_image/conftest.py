"""Fixtures: model artifacts in tmp dirs, a function loaded from them, a Lambda context.

`function` (and `invoke`, built on it) is the function three times over: without an experiment,
in shadow and in split, so that every test of the API holds whichever experiment runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambda_image.local.function import LocalContext
from lambda_image.local.gateway import to_event
from tests.lambda_image.lambda_models import write_model
from torchlambda.contract import (
    CHALLENGER,
    ENV_CHALLENGER_DIR,
    ENV_CHALLENGER_SHA256,
    ENV_EXPERIMENT,
    ENV_MODEL_DIR,
    ENV_SPLIT_WEIGHT,
    WEIGHTS_FILE,
)
from torchlambda.function import Function, load_function
from torchlambda.predictor.artifact import sha256_file

EXPERIMENTS = ("none", "shadow", "split")


def load_handler(model_dir: Path, **env: str) -> Function:
    """Init afresh with MODEL_DIR and other settings, as a new sandbox would."""
    return load_function({**os.environ, ENV_MODEL_DIR: str(model_dir), **env})


def assert_init_refuses(
    model_dir: Path, reason: str, caplog: pytest.LogCaptureFixture, **env: str
) -> str:
    """Init stops with InitError after logging one line that gives `reason`; that line."""
    with pytest.raises(Exception, match=re.escape(reason)) as raised:
        load_handler(model_dir, **env)
    assert type(raised.value).__name__ == "InitError"
    init_lines = [r.getMessage() for r in caplog.records if "init failed" in r.getMessage()]
    assert len(init_lines) == 1 and reason in init_lines[0], init_lines
    return init_lines[0]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("challenger"), seed=1)


def experiment_env(mode: str, challenger: Path, split_weight: float = 0.5) -> dict[str, str]:
    """The variables the CDK sets for an experiment with `challenger` (none: nothing)."""
    if mode == "none":
        return {}
    env = {
        ENV_EXPERIMENT: mode,
        ENV_CHALLENGER_DIR: str(challenger),
        ENV_CHALLENGER_SHA256: sha256_file(challenger / WEIGHTS_FILE),
    }
    if mode == "split":
        env[ENV_SPLIT_WEIGHT] = str(split_weight)
    return env


@pytest.fixture(scope="session", params=EXPERIMENTS)
def function(model_dir: Path, challenger_dir: Path, request: pytest.FixtureRequest) -> Function:
    return load_handler(model_dir, **experiment_env(request.param, challenger_dir))


@pytest.fixture
def answering_dir(model_dir: Path, challenger_dir: Path) -> Callable[[dict[str, Any]], Path]:
    """The model directory of the variant a response says answered it."""

    def directory(response: dict[str, Any]) -> Path:
        variant = response["headers"]["x-model-variant"]
        return challenger_dir if variant == CHALLENGER else model_dir

    return directory


@pytest.fixture
def invoke(function: Function) -> Callable[[Any], dict[str, Any]]:
    def call(event: Any) -> dict[str, Any]:
        return function(event, LocalContext())

    return call


def http_event(
    method: str, target: str, body: bytes = b"", content_type: str = "application/json"
) -> dict[str, Any]:
    """A payload 2.0 event as API Gateway would send for this HTTP request."""
    headers = [("content-type", content_type)] if body else []
    return to_event(method, target, headers, body, "127.0.0.1")
