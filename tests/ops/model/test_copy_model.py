"""make copy-model: the configured (or named) build copied onto EFS by the copy function.

The copy function itself runs in process behind a stand-in for Lambda's Invoke, reading the build
from the moto bucket and writing into a directory standing in for the mount, so the event ops
sends is the one the function parses.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.cli import main
from ops.errors import OpsError
from ops.model.copy import copy_model, report_copy
from tests.infra.model_source_examples import EFS_NEW_VPC_EXAMPLE
from tests.ops.aws_stand_ins import deploy_stacks
from tests.ops.conftest import BUCKET
from tests.ops.model.publishing import publish
from tests.ops.model_files import model_files, sha256_of
from torchlambda import contract
from torchlambda.model_sources.copy_function import ENV_MOUNT_PATH, load_copy_function

FILES = model_files(seed=3, validation_mse=0.2)
BUILD = "0d6f4b7e-9a51-4f0e-8c8e-3b1f2a9c7d10"
FUNCTION_NAME = "torchlambda-model-copy-prod"


class LambdaStandIn:
    """Invoke as Lambda answers it: the handler's result, or its error with FunctionError set."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.invoked: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        event = json.loads(Payload)
        self.invoked.append((FunctionName, event))
        try:
            answer, error = self.handler(event, None), None
        except Exception as failure:  # what Lambda reports for an unhandled error
            answer, error = (
                {"errorMessage": str(failure), "errorType": type(failure).__name__},
                "Unhandled",
            )
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(answer).encode())}
        if error:
            response["FunctionError"] = error
        return response


@pytest.fixture
def prod(clients: AwsClients) -> EnvironmentConfig:
    """The EFS example, deployed: its bucket with one published build, its stacks' outputs."""
    config = EFS_NEW_VPC_EXAMPLE
    clients.s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": config.region}
    )
    publish(clients.s3, BUCKET, config.name, BUILD, FILES)
    deploy_stacks(
        clients.cloudformation,
        config,
        {"ArtifactsBucketName": BUCKET, "ModelCopyFunctionName": FUNCTION_NAME},
    )
    return dataclasses.replace(
        config,
        model_source=dataclasses.replace(
            config.model_source, build_id=BUILD, sha256=sha256_of(FILES)
        ),
    )


@pytest.fixture
def lambda_stand_in(
    prod: EnvironmentConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LambdaStandIn:
    monkeypatch.setenv(contract.ENV_MODEL_BUCKET, BUCKET)
    monkeypatch.setenv(contract.ENV_MODELS_PREFIX, contract.environment_models_prefix(prod.name))
    monkeypatch.setenv(ENV_MOUNT_PATH, str(tmp_path))
    return LambdaStandIn(load_copy_function(os.environ))


def test_the_configured_build_is_copied_then_found_present(
    clients: AwsClients, prod: EnvironmentConfig, lambda_stand_in: LambdaStandIn, tmp_path: Path
) -> None:
    said: list[str] = []
    answer = copy_model(clients, prod, None, said.append, lambda_client=lambda_stand_in)
    assert lambda_stand_in.invoked == [
        (FUNCTION_NAME, {"build_id": BUILD, "sha256": sha256_of(FILES)})
    ]
    assert (tmp_path / BUILD / "model.pth").read_bytes() == FILES["model.pth"]
    assert answer["already_present"] is False
    report_copy(answer, said.append)
    assert "copied and verified" in said[-1]
    again = copy_model(clients, prod, None, said.append, lambda_client=lambda_stand_in)
    report_copy(again, said.append)
    assert said[-1].endswith("already present and verified, nothing copied")


def test_a_named_build_is_pinned_to_its_cards_sha256(
    clients: AwsClients, prod: EnvironmentConfig, lambda_stand_in: LambdaStandIn
) -> None:
    copy_model(clients, prod, f"torchlambda-training-prod:{BUILD}", print, lambda_stand_in)
    card = json.loads(FILES["model.json"])
    assert lambda_stand_in.invoked[0][1] == {"build_id": BUILD, "sha256": card["sha256"]}


def test_an_unpublished_build_is_named(
    clients: AwsClients, prod: EnvironmentConfig, lambda_stand_in: LambdaStandIn
) -> None:
    missing = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(OpsError, match=f"models/prod/{missing}/model.json not found"):
        copy_model(clients, prod, missing, print, lambda_stand_in)
    assert lambda_stand_in.invoked == []


def test_a_failed_copy_is_one_line_naming_why(
    clients: AwsClients, prod: EnvironmentConfig, lambda_stand_in: LambdaStandIn
) -> None:
    wrong = dataclasses.replace(
        prod, model_source=dataclasses.replace(prod.model_source, sha256="0" * 64)
    )
    with pytest.raises(OpsError, match=r"^the copy failed: .*sha256") as caught:
        copy_model(clients, wrong, None, print, lambda_stand_in)
    assert "\n" not in str(caught.value)


def test_an_environment_without_efs_is_refused_before_any_call(
    moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["copy-model", "--env", "dev"]) != 0
    assert capsys.readouterr().err.splitlines() == [
        "error: ENV=dev loads its model from image, not EFS: there is nothing to copy (set "
        "EfsSource in infra/config.py to serve from EFS)"
    ]
