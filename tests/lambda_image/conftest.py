"""Fixtures: model artifacts in tmp dirs, a handler imported against them, a Lambda context."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambda_image.local.function import LocalContext
from lambda_image.local.gateway import to_event
from tests.lambda_image.lambda_models import write_model

HANDLER_ENV = ("MODEL_DIR", "TORCH_NUM_THREADS", "MAX_ABS_X", "POWERTOOLS_TRACE_DISABLED")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("model"))


def import_handler(model_dir: Path, **env: str) -> ModuleType:
    """Import ``handler`` afresh with MODEL_DIR and other settings, as a new sandbox would."""
    saved = {name: os.environ.get(name) for name in {*HANDLER_ENV, *env}}
    os.environ.update({"MODEL_DIR": str(model_dir), **env})
    try:
        sys.modules.pop("handler", None)
        return importlib.import_module("handler")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def handler_module(model_dir: Path) -> ModuleType:
    return import_handler(model_dir)


@pytest.fixture
def invoke(handler_module: ModuleType) -> Callable[[Any], dict[str, Any]]:
    def call(event: Any) -> dict[str, Any]:
        result: dict[str, Any] = handler_module.handler(event, LocalContext())
        return result

    return call


def http_event(
    method: str, target: str, body: bytes = b"", content_type: str = "application/json"
) -> dict[str, Any]:
    """A payload 2.0 event as API Gateway would send for this HTTP request."""
    headers = [("content-type", content_type)] if body else []
    return to_event(method, target, headers, body, "127.0.0.1")
