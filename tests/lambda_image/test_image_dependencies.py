"""Each of the image's functions initializes with only what the image ships.

The runtime tests run the handler in the repository's venv, which holds far more than the image
(moto, boto3, the X-Ray SDK through moto, ...): a handler that imported one of those would pass
them and fail on Lambda with `Runtime.ImportModuleError`. Here init runs where only the standard
library, the runtime package, the image's lock (`lambda_image/requirements.txt`) and torch with
what torch requires (the DLC base provides those) can be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.lambda_image.lambda_models import write_model
from tooling.locks import normalized, read_lock
from torchlambda import contract
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.predictor.digest import sha256_file

ROOT = Path(__file__).resolve().parents[2]
# Runs the handler's init in a fresh interpreter where a module that only a distribution outside
# SHIPPED provides cannot be imported, as in the image: an optional import (botocore tries
# certifi) falls back as it would there; a required one fails init.
INIT_WITH_ONLY_SHIPPED = """
import importlib, importlib.abc, json, os, sys
from importlib import metadata
from tooling.locks import normalized

shipped = set(json.loads(os.environ["SHIPPED"]))
providers = metadata.packages_distributions()
refused = []

class OnlyShipped(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        found = {normalized(d) for d in providers.get(top, [])}
        if found and not found & shipped:
            refused.append(top)
            raise ModuleNotFoundError(f"No module named {top!r} (not in the image)", name=top)
        return None

sys.meta_path.insert(0, OnlyShipped())
importlib.import_module(os.environ["HANDLER_MODULE"])
print(json.dumps(sorted(m for m in ("boto3", "isal", "torch") if m in sys.modules)))
print(json.dumps(sorted(set(refused))))
"""


# What each function's init imports of the heavy packages: the online handler no AWS SDK and no
# ISA-L, the job function (no model) and the model copy function no torch.
IMPORTS = {
    contract.HANDLER: {"torch"},
    contract.BATCH_WORKER_HANDLER: {"boto3", "isal", "torch"},
    contract.BATCH_JOB_HANDLER: {"boto3"},
    contract.MODEL_COPY_HANDLER: {"boto3"},
    contract.EVALUATE_HANDLER: {"boto3", "isal", "torch"},
    contract.PROMOTE_HANDLER: {"boto3"},
}
# With its model in S3, the online handler imports the AWS SDK to download it (only then).
IMPORTS_WITH_THE_MODEL_IN_S3 = {contract.HANDLER: {"boto3", "torch"}}


def requirement_closure(name: str) -> set[str]:
    """A distribution and everything it requires in this environment, by normalized name."""
    found: set[str] = set()
    pending = [name]
    while pending:
        current = normalized(pending.pop())
        if current in found:
            continue
        found.add(current)
        for line in metadata.requires(current) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def shipped_distributions() -> set[str]:
    shipped = {entry.name for entry in read_lock(ROOT / "lambda_image" / "requirements.txt")}
    return shipped | requirement_closure("torch") | {"torchlambda"}


def init_with_only_shipped(
    model: Path, handler: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`handler`'s module imported (its init runs at import) with the batch functions', the copy
    function's and the lifecycle functions' variables, and `env`."""
    return subprocess.run(
        [sys.executable, "-c", INIT_WITH_ONLY_SHIPPED],
        cwd=ROOT / "lambda_image" / "app",
        env={
            **os.environ,
            "MODEL_DIR": str(model),
            "HANDLER_MODULE": handler.rpartition(".")[0],
            contract.ENV_ARTIFACTS_BUCKET: "artifacts",
            contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "1",
            contract.ENV_MODEL_BUCKET: "artifacts",
            contract.ENV_MODELS_PREFIX: "models/dev/",
            contract.ENV_ENVIRONMENT_NAME: "dev",
            contract.ENV_EVALUATION_SET: contract.CANDIDATE_TEST_SPLIT,
            "AWS_DEFAULT_REGION": "us-west-2",
            "PYTHONPATH": str(ROOT),  # tooling.locks, for the names
            "POWERTOOLS_METRICS_DISABLED": "true",
            "SHIPPED": json.dumps(sorted(shipped_distributions())),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def imported_by_init(result: subprocess.CompletedProcess[str]) -> set[str]:
    assert result.returncode == 0, result.stderr
    # What it tried and did without: optional imports only (init succeeded without them):
    # certifi, whose CA bundle botocore replaces with its own.
    assert set(json.loads(result.stdout.splitlines()[-1])) <= {"certifi"}
    return set(json.loads(result.stdout.splitlines()[-2]))


@pytest.mark.slow
@pytest.mark.parametrize("handler", list(IMPORTS))
def test_init_succeeds_with_only_what_the_image_ships(tmp_path: Path, handler: str) -> None:
    result = init_with_only_shipped(write_model(tmp_path / "model"), handler)
    assert imported_by_init(result) == IMPORTS[handler]


@pytest.mark.slow
@pytest.mark.parametrize("handler", list(IMPORTS_WITH_THE_MODEL_IN_S3))
def test_init_downloads_the_model_with_only_what_the_image_ships(
    moto: str, tmp_path: Path, handler: str
) -> None:
    s3 = model_s3_client()
    s3.create_bucket(Bucket="artifacts")
    model = write_model(tmp_path / "model")
    prefix = contract.model_prefix("dev", "build-1")
    for name in (contract.CARD_FILE, contract.WEIGHTS_FILE):
        s3.put_object(Bucket="artifacts", Key=prefix + name, Body=(model / name).read_bytes())
    result = init_with_only_shipped(
        tmp_path / "download",
        handler,
        **{
            contract.ENV_MODEL_SOURCE: "s3",
            contract.ENV_MODEL_PREFIX: prefix,
            contract.ENV_MODEL_SHA256: sha256_file(model / contract.WEIGHTS_FILE),
        },
    )
    assert imported_by_init(result) == IMPORTS_WITH_THE_MODEL_IN_S3[handler]
    assert (tmp_path / "download" / contract.WEIGHTS_FILE).is_file()


def test_the_image_set_excludes_what_only_the_venv_has() -> None:
    shipped = shipped_distributions()
    assert {
        "torch",
        "aws-lambda-powertools",
        "awslambdaric",
        "orjson",
        "boto3",
        "isal",
        "numpy",
    } <= (shipped)
    assert not {"moto", "aws-xray-sdk"} & shipped
