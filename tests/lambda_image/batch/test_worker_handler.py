"""The worker function's entry point: init at import, the shipped model verified."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

from tests.lambda_image.batch.conftest import BUCKET, SHIPPED_MODEL
from torchlambda import contract
from torchlambda.batch.model import BatchModel
from torchlambda.batch.worker import BatchWorker
from torchlambda.startup import InitError

MODULE, ATTRIBUTE = contract.BATCH_WORKER_HANDLER.rsplit(".", 1)


@pytest.fixture
def fresh_import() -> Iterator[None]:
    sys.modules.pop(MODULE, None)
    yield
    sys.modules.pop(MODULE, None)


def test_the_handler_is_built_at_import(
    aws_env: pytest.MonkeyPatch, fresh_import: None, batch_model: BatchModel
) -> None:
    aws_env.setenv(contract.ENV_MODEL_DIR, str(SHIPPED_MODEL))
    aws_env.setenv(contract.ENV_ARTIFACTS_BUCKET, BUCKET)
    aws_env.setenv(contract.ENV_METRICS_DISABLED, "true")
    handler = getattr(importlib.import_module(MODULE), ATTRIBUTE)
    assert isinstance(handler, BatchWorker)
    assert handler.bucket == BUCKET
    assert handler.model.version == batch_model.version


def test_a_missing_bucket_fails_the_import(aws_env: pytest.MonkeyPatch, fresh_import: None) -> None:
    aws_env.setenv(contract.ENV_MODEL_DIR, str(SHIPPED_MODEL))
    aws_env.delenv(contract.ENV_ARTIFACTS_BUCKET, raising=False)
    with pytest.raises(InitError, match="ARTIFACTS_BUCKET is not set"):
        importlib.import_module(MODULE)
