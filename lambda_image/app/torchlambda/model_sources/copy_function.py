"""The model copy function: configured from its environment once, then one build per event.

Environment: MODEL_BUCKET (the artifacts bucket), MODELS_PREFIX (the environment's models/<env>/)
and, for local runs and tests only, EFS_MOUNT_PATH: a directory standing in for the file system
Lambda mounts at contract.EFS_MOUNT_PATH.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from torchlambda import contract
from torchlambda.model_sources.copy_event import CopyRequest
from torchlambda.model_sources.efs_copy import ModelStore, copy_build
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.settings import SettingsError, required
from torchlambda.startup import initialize

ENV_MOUNT_PATH = "EFS_MOUNT_PATH"


class CopyFunction:
    def __init__(self, *, store: ModelStore, s3: Any, logger: Logger) -> None:
        self.store = store
        self.s3 = s3
        self.logger = logger

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        result = copy_build(self.s3, self.store, CopyRequest.parse(event)).to_dict()
        message = "build already present" if result["already_present"] else "build copied"
        self.logger.info(message, extra=result)
        return result


def model_store(environ: Mapping[str, str]) -> ModelStore:
    prefix = required(environ, contract.ENV_MODELS_PREFIX)
    if not prefix.endswith("/"):
        raise SettingsError(
            f"{contract.ENV_MODELS_PREFIX}={prefix!r}: expected the environment's prefix ending "
            "in / (models/<env>/)"
        )
    return ModelStore(
        bucket=required(environ, contract.ENV_MODEL_BUCKET),
        models_prefix=prefix,
        mount=Path(environ.get(ENV_MOUNT_PATH) or contract.EFS_MOUNT_PATH),
    )


def load_copy_function(environ: Mapping[str, str]) -> CopyFunction:
    """Init of the copy function: its store from `environ`, its S3 client; no model, no torch."""
    return initialize(
        environ,
        lambda settings, logger: CopyFunction(
            store=model_store(environ), s3=model_s3_client(), logger=logger
        ),
    )
