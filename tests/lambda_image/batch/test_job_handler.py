"""The job function's entry point: init at import, from the environment, without torch."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.lambda_image.batch.conftest import BUCKET, ROOT
from torchlambda import contract
from torchlambda.batch.job import BatchJob
from torchlambda.startup import InitError

MODULE, ATTRIBUTE = contract.BATCH_JOB_HANDLER.rsplit(".", 1)


@pytest.fixture
def fresh_import() -> Iterator[None]:
    sys.modules.pop(MODULE, None)
    yield
    sys.modules.pop(MODULE, None)


def import_handler() -> ModuleType:
    return importlib.import_module(MODULE)


def test_the_handler_is_built_at_import(aws_env: pytest.MonkeyPatch, fresh_import: None) -> None:
    aws_env.setenv(contract.ENV_ARTIFACTS_BUCKET, BUCKET)
    aws_env.setenv(contract.ENV_TOLERATED_FAILURE_PERCENTAGE, "2.5")
    handler = getattr(import_handler(), ATTRIBUTE)
    assert isinstance(handler, BatchJob)
    assert (handler.bucket, handler.tolerated) == (BUCKET, 2.5)


def test_a_missing_setting_fails_the_import(
    aws_env: pytest.MonkeyPatch, fresh_import: None
) -> None:
    aws_env.setenv(contract.ENV_ARTIFACTS_BUCKET, BUCKET)
    aws_env.delenv(contract.ENV_TOLERATED_FAILURE_PERCENTAGE, raising=False)
    with pytest.raises(InitError, match="TOLERATED_FAILURE_PERCENTAGE is not set"):
        import_handler()


def test_the_job_function_does_not_import_torch() -> None:
    # Its cold start stays that of boto3: torch is the worker's, not the job's.
    code = (
        f"import sys, {MODULE.rsplit('.', 1)[0]}.job; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'torch'); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
