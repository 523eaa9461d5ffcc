"""Imports the image's handler from lambda_image/app, as the image's function directory does."""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

APP_DIR = Path(__file__).resolve().parents[1] / "app"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "model"


class NoModelError(SystemExit):
    pass


def model_dir() -> Path:
    return Path(os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR)


def require_model() -> None:
    """Exit with how to get a model, before anything slow happens, if there is none."""
    weights = model_dir() / "model.pth"
    if not weights.is_file():
        raise NoModelError(
            f"no model at {weights}: run `make train` to train one, "
            "or set MODEL_DIR to a directory holding model.pth (and model.json)"
        )


def import_handler() -> ModuleType:
    """Import ``handler``, which loads the model (as the image's init does)."""
    require_model()
    os.environ["MODEL_DIR"] = str(model_dir())
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    import handler

    return handler


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
