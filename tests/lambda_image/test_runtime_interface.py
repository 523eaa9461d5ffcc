"""The image's command, ``python -m awslambdaric torchlambda.handler.handler``, against a Runtime
API stand-in.

This is what catches Runtime.ImportModuleError (a module missing from the function directory, a
wrong handler name) before a deploy: the directory is laid out by replaying the Dockerfile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lambda_image.conftest import http_event
from tests.lambda_image.dockerfile_layout import Image, assemble
from tests.lambda_image.lambda_models import write_model
from tests.lambda_image.runtime_api import RuntimeApi
from torchlambda import contract

LAMBDA_IMAGE = Path(__file__).resolve().parents[2] / "lambda_image"
IMAGE_PYTHON = "/opt/venv/bin/python"

pytestmark = pytest.mark.slow


@dataclass
class Function:
    api: RuntimeApi
    process: subprocess.Popen[bytes]
    log: Path


def build_context(directory: Path, model: Path) -> Path:
    """The Docker build context as the .dockerignore allowlist admits it, with a fixture model."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(LAMBDA_IMAGE / "requirements.txt", directory / "requirements.txt")
    shutil.copytree(
        LAMBDA_IMAGE / "app" / "torchlambda",
        directory / "app" / "torchlambda",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(model, directory / "model")
    return directory


def host_env(image: Image, runtime_api: str) -> dict[str, str]:
    """The image's ENV with absolute paths moved under its tmp root, as Lambda would run it."""
    env = {
        name: str(image.root / value.lstrip("/")) if value.startswith("/") else value
        for name, value in image.env.items()
    }
    (image.root / "tmp").mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **env,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": "test",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(image.workdir),
    }


def start_function(tmp_path: Path, model: Path) -> Function:
    image = assemble(build_context(tmp_path / "context", model), tmp_path / "image")
    command = image.command
    assert command[0] == IMAGE_PYTHON, "the Dockerfile's ENTRYPOINT no longer uses the DLC's python"
    api = RuntimeApi().start()
    log = tmp_path / "function.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, *command[1:]],
            cwd=image.workdir,
            env=host_env(image, api.address),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Function(api, process, log)


def stop_function(function: Function) -> None:
    function.process.kill()
    function.process.wait(timeout=10)
    function.api.stop()


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Function]:
    workspace = tmp_path_factory.mktemp("runtime")
    started = start_function(workspace, write_model(workspace / "model"))
    yield started
    stop_function(started)


def test_the_image_command_is_the_runtime_interface_client_running_the_handler(
    tmp_path: Path,
) -> None:
    context = build_context(tmp_path / "context", write_model(tmp_path / "fixture"))
    image = assemble(context, tmp_path / "image")
    assert image.command == [IMAGE_PYTHON, "-m", "awslambdaric", contract.HANDLER]
    assert (image.workdir / "torchlambda" / "handler.py").is_file()
    assert (image.workdir / "torchlambda" / "predictor" / "artifact.py").is_file()
    assert (
        Path(image.env["MODEL_DIR"]) == Path("/") / image.workdir.relative_to(image.root) / "model"
    )


def answer(function: Function, event: object) -> tuple[int, dict[str, str], dict[str, object]]:
    report = function.api.invoke(event)
    assert report.kind == "response", (report, function.log.read_text())
    assert isinstance(report.body, dict)
    return report.body["statusCode"], report.body["headers"], json.loads(report.body["body"])


def test_get_predict_through_the_runtime_interface(function: Function) -> None:
    status, headers, body = answer(function, http_event("GET", "/predict?x=42"))
    assert status == 200
    assert body["x"] == 42.0 and isinstance(body["y"], float)
    assert headers["x-model-version"] == body["model_version"]
    assert headers["content-type"] == "application/json"


def test_post_predict_batch_and_scalar(function: Function) -> None:
    status, _, batch = answer(function, http_event("POST", "/predict", b'{"x": [1, 2.5, 3]}'))
    assert status == 200 and len(batch["y"]) == 3
    status, _, scalar = answer(function, http_event("POST", "/predict", b'{"x": 2.5}'))
    assert status == 200 and scalar["y"] == pytest.approx(batch["y"][1], rel=1e-5)


def test_health_and_the_books_test_event(function: Function) -> None:
    status, _, health = answer(function, http_event("GET", "/health"))
    assert status == 200 and health["status"] == "ok"
    status, _, book = answer(function, {"queryStringParameters": {"x": 42}})
    assert status == 200 and book["x"] == 42.0


def test_bad_input_is_a_400_not_a_function_error(function: Function) -> None:
    status, _, body = answer(function, http_event("GET", "/predict?x=abc"))
    assert status == 400
    assert body["error"]["code"] == "invalid_x"
    status, _, body = answer(function, http_event("DELETE", "/nowhere"))
    assert status == 404


def test_a_model_other_than_the_recorded_one_is_an_init_error(tmp_path: Path) -> None:
    model = write_model(tmp_path / "model", card_overrides={"sha256": "0" * 64})
    function = start_function(tmp_path, model)
    try:
        report = function.api.reports.get(timeout=60)
        assert function.process.wait(timeout=30) != 0
    finally:
        stop_function(function)
    assert report.kind == "init_error"
    assert report.error_type is not None and "InitError" in report.error_type
    assert "does not match the model card" in report.body["errorMessage"]
    init_lines = [line for line in function.log.read_text().splitlines() if "init failed" in line]
    assert len(init_lines) == 1 and "sha256" in init_lines[0]
