"""The efs source: the build read in place from MODEL_DIR (here a local directory standing in
for the mount), its weights hashed once per init and refused unless they are the pinned ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import BinaryIO

import pytest

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import assert_init_refuses, http_event, load_handler
from tests.lambda_image.lambda_models import write_model
from torchlambda import contract
from torchlambda.model_sources import build
from torchlambda.predictor import artifact
from torchlambda.predictor.digest import Digest, sha256_file, sha256_stream


def efs_env(sha256: str) -> dict[str, str]:
    return {contract.ENV_MODEL_SOURCE: "efs", contract.ENV_MODEL_SHA256: sha256}


def pinned(model_dir: Path) -> dict[str, str]:
    return efs_env(sha256_file(model_dir / contract.WEIGHTS_FILE))


def test_the_build_is_served_in_place_and_hashed_once(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounted = Path(shutil.copytree(model_dir, tmp_path / "build-1"))
    hashed: list[int] = []

    def counted(stream: BinaryIO) -> Digest:
        hashed.append(1)
        return sha256_stream(stream)

    for module in (artifact, build):  # the loader's hash, and the build check's if it ran
        monkeypatch.setattr(module, "sha256_stream", counted)
    function = load_handler(mounted, **pinned(model_dir))
    assert hashed == [1]
    body = json.loads(function(http_event("GET", "/health"), LocalContext())["body"])
    assert body["model_version"] == load_handler(model_dir).model_version
    assert sorted(p.name for p in mounted.iterdir()) == sorted(p.name for p in model_dir.iterdir())


def test_a_build_that_is_not_on_the_file_system_is_one_line(
    model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    line = assert_init_refuses(
        tmp_path / "build-2",
        "no model.pth and no model.json on the file system; run the model copy function",
        caplog,
        **pinned(model_dir),
    )
    assert str(tmp_path / "build-2") in line


def test_weights_other_than_the_pinned_ones_are_refused(
    model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = write_model(tmp_path / "build-3", seed=1)  # a whole, honest build: just not this one
    assert_init_refuses(
        other, "refusing to serve a model other than the pinned one", caplog, **pinned(model_dir)
    )


def test_the_pin_is_needed(model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert_init_refuses(model_dir, "MODEL_SOURCE=efs needs MODEL_SHA256", caplog, **efs_env(""))
