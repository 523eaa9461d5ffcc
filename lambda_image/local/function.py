"""The image's function, built here as the image's init builds it, from this repository's model."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from torchlambda.contract import (
    ENV_CHALLENGER_DIR,
    ENV_CHALLENGER_SHA256,
    ENV_EXPERIMENT,
    ENV_MODEL_DIR,
    WEIGHTS_FILE,
)
from torchlambda.predictor.digest import sha256_file

if TYPE_CHECKING:  # torch: imported only once a model exists
    from torchlambda.function import Function

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "model"
DEFAULT_CHALLENGER_DIR = Path(__file__).resolve().parents[1] / "challenger"


class NoModelError(SystemExit):
    pass


def model_dir() -> Path:
    return Path(os.environ.get(ENV_MODEL_DIR) or DEFAULT_MODEL_DIR)


def require_model() -> None:
    """Exit with how to get a model, before anything slow happens, if there is none."""
    weights = model_dir() / WEIGHTS_FILE
    if not weights.is_file():
        raise NoModelError(
            f"no model at {weights}: run `make train` to train one, "
            f"or set {ENV_MODEL_DIR} to a directory holding model.pth (and model.json)"
        )


def challenger_environment() -> dict[str, str]:
    """With EXPERIMENT set, the challenger as synthesis would pin it: lambda_image/challenger/
    (or CHALLENGER_DIR) and its weights' sha256 (or CHALLENGER_SHA256); nothing without one."""
    if os.environ.get(ENV_EXPERIMENT, "none").strip() in ("", "none"):
        return {}
    directory = Path(os.environ.get(ENV_CHALLENGER_DIR) or DEFAULT_CHALLENGER_DIR)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise NoModelError(
            f"{ENV_EXPERIMENT}={os.environ[ENV_EXPERIMENT]} but there is no challenger at "
            f"{weights}: run `make fetch-model ENV=dev AS=challenger`, or train one with "
            f"`make train TRAIN_OUT={directory} SEED=1`"
        )
    pinned = os.environ.get(ENV_CHALLENGER_SHA256) or sha256_file(weights)
    return {ENV_CHALLENGER_DIR: str(directory), ENV_CHALLENGER_SHA256: pinned}


def load_local_function() -> Function:
    """Init as the image does (torch, the models, their checks), with MODEL_DIR (and an
    experiment's challenger) defaulting here."""
    require_model()
    challenger = challenger_environment()
    from torchlambda.function import load_function  # imports torch: only once a model exists

    return load_function({**os.environ, ENV_MODEL_DIR: str(model_dir()), **challenger})


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that the handler and Powertools read."""

    function_name: str = "torchlambda-local"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:torchlambda-local"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/torchlambda-local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000
