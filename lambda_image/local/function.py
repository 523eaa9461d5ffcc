"""The image's function, built here as the image's init builds it, from this repository's model."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from torchlambda.contract import ENV_MODEL_DIR, WEIGHTS_FILE

if TYPE_CHECKING:  # torch: imported only once a model exists
    from torchlambda.function import Function

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "model"


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


def load_local_function() -> Function:
    """Init as the image does (torch, the model, its checks), with MODEL_DIR defaulting here."""
    require_model()
    from torchlambda.function import load_function  # imports torch: only once a model exists

    return load_function({**os.environ, ENV_MODEL_DIR: str(model_dir())})


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
