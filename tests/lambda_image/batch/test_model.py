"""The batch model: the shipped artifact, loaded and verified; predictions in slices."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import cast

import pytest
from aws_lambda_powertools import Logger

from tests.lambda_image.batch.conftest import SHIPPED_MODEL
from torchlambda.batch.model import PREDICT_SLICE, BatchModel, load_batch_model, sliced
from torchlambda.inference import Predictor
from torchlambda.predictor.artifact import ArtifactError
from torchlambda.settings import Settings


class Counting:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def predict(self, values: list[float]) -> list[float]:
        self.sizes.append(len(values))
        return [value + 1 for value in values]


def test_sliced_predicts_in_slices_in_order() -> None:
    counting = Counting()
    predict = sliced(cast(Predictor, counting), size=4)
    assert predict([1, 2, 3]) == [2, 3, 4]
    assert predict(list(range(10))) == [float(value + 1) for value in range(10)]
    assert counting.sizes == [3, 4, 4, 2]


def test_the_default_slice() -> None:
    counting = Counting()
    sliced(cast(Predictor, counting))([0.0] * (2 * PREDICT_SLICE + 1))
    assert counting.sizes == [PREDICT_SLICE, PREDICT_SLICE, 1]


def test_the_shipped_model(batch_model: BatchModel) -> None:
    card = json.loads((SHIPPED_MODEL / "model.json").read_text())
    assert card["model_id"].startswith(batch_model.version)
    assert len(batch_model.version) == 12
    assert batch_model.max_abs_x == 1e6
    ys = batch_model.predict([-1.0, 0.0, 1.0] * 3000)
    assert len(ys) == 9000
    assert ys[:3] == ys[3:6]


def test_max_abs_x_comes_from_the_settings() -> None:
    settings = Settings(model_dir=SHIPPED_MODEL, max_abs_x=10.0)
    assert load_batch_model(settings, Logger(service="batch-tests")).max_abs_x == 10.0


def test_a_tampered_model_is_refused(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_MODEL, tmp_path / "model")
    weights = tmp_path / "model" / "model.pth"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactError):
        load_batch_model(Settings(model_dir=tmp_path / "model"), Logger(service="batch-tests"))
