"""The copy function as Lambda runs it: its entry point initializes at import from the
environment, answers an event with what it did, and never imports torch (checked in
test_image_dependencies)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_image.local.function import LocalContext
from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT, Published
from torchlambda import contract
from torchlambda.model_sources.copy_event import CopyEventError
from torchlambda.model_sources.copy_function import ENV_MOUNT_PATH, CopyFunction
from torchlambda.startup import InitError

MODULE, ATTRIBUTE = contract.MODEL_COPY_HANDLER.rsplit(".", 1)


@pytest.fixture
def fresh_import() -> Iterator[None]:
    sys.modules.pop(MODULE, None)
    yield
    sys.modules.pop(MODULE, None)


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    (tmp_path / "mount").mkdir()
    return tmp_path / "mount"


def configure(monkeypatch: pytest.MonkeyPatch, mount: Path) -> None:
    monkeypatch.setenv(contract.ENV_MODEL_BUCKET, BUCKET)
    monkeypatch.setenv(contract.ENV_MODELS_PREFIX, contract.environment_models_prefix(ENVIRONMENT))
    monkeypatch.setenv(ENV_MOUNT_PATH, str(mount))


def import_handler() -> Any:
    return getattr(importlib.import_module(MODULE), ATTRIBUTE)


def test_the_entry_point_copies_a_build_and_answers_what_it_did(
    moto: str,
    published: Published,
    mount: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_import: None,
) -> None:
    configure(monkeypatch, mount)
    handler = import_handler()
    assert isinstance(handler, CopyFunction)
    event = {"build_id": published.build_id, "sha256": published.sha256}
    answer = handler(event, LocalContext())
    assert set(answer) == {
        "build_id",
        "path",
        "bytes",
        "seconds",
        "mb_per_s",
        "sha256",
        "already_present",
    }
    assert answer["path"] == str(mount / published.build_id) and not answer["already_present"]
    assert answer["sha256"] == published.sha256 and answer["bytes"] > 0
    assert handler(event, LocalContext())["already_present"] is True


def test_a_bad_event_is_an_error_naming_the_field(
    moto: str, mount: Path, monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    configure(monkeypatch, mount)
    with pytest.raises(CopyEventError, match=r"event\.sha256: missing"):
        import_handler()({"build_id": "build-1"}, LocalContext())


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ((contract.ENV_MODEL_BUCKET, ""), "MODEL_BUCKET is not set"),
        ((contract.ENV_MODELS_PREFIX, "models/test"), "MODELS_PREFIX='models/test': expected"),
    ],
)
def test_a_missing_or_bad_setting_fails_the_import(
    aws_env: pytest.MonkeyPatch,
    mount: Path,
    fresh_import: None,
    setting: tuple[str, str],
    reason: str,
) -> None:
    configure(aws_env, mount)
    aws_env.setenv(*setting)
    with pytest.raises(InitError, match=reason):
        import_handler()
