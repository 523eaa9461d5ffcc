"""The batch model: the shipped artifact, loaded and verified; predictions in slices, through the
GIL-free forward pass where it equals the eager one."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch
from aws_lambda_powertools import Logger
from torch import nn

from tests.lambda_image.batch.conftest import SHIPPED_MODEL
from torchlambda.batch.model import (
    PREDICT_SLICE,
    BatchModel,
    chunk_forward,
    eager_forward,
    load_batch_model,
    predicting,
)
from torchlambda.inference import ModelOutputError, Predictor
from torchlambda.model_loading import load_model
from torchlambda.predictor.artifact import ArtifactError
from torchlambda.settings import Settings


class Counting:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        self.sizes.append(len(batch))
        return batch.reshape(-1) + 1


def test_the_eager_forward_runs_in_slices_in_order() -> None:
    counting = Counting()
    predict = predicting(eager_forward(cast(Predictor, counting), size=4))
    assert predict(np.array([1.0, 2.0, 3.0])).tolist() == [2, 3, 4]
    assert predict(np.arange(10.0)).tolist() == [float(value + 1) for value in range(10)]
    assert counting.sizes == [3, 4, 4, 2]


def test_the_default_slice() -> None:
    counting = Counting()
    predicting(eager_forward(cast(Predictor, counting)))(np.zeros(2 * PREDICT_SLICE + 1))
    assert counting.sizes == [PREDICT_SLICE, PREDICT_SLICE, 1]


def test_predictions_are_float32_outputs_widened_and_refused_when_not_finite() -> None:
    counting = Counting()
    ys = predicting(eager_forward(cast(Predictor, counting)))(np.array([0.1, 1e6]))
    assert ys.dtype == np.float64
    assert ys.tolist() == [float(np.float32(0.1) + 1), 1e6 + 1]
    with pytest.raises(ModelOutputError):
        predicting(lambda batch: batch.reshape(-1) * math.inf)(np.array([1.0, 0.0]))


def test_the_shipped_model_runs_gil_free_with_the_eager_results(batch_model: BatchModel) -> None:
    assert batch_model.gil_free
    module = load_model(Settings(model_dir=SHIPPED_MODEL), Logger(service="batch-tests")).module
    xs = np.random.default_rng(0).uniform(-1e6, 1e6, 3 * PREDICT_SLICE + 17)
    eager = predicting(eager_forward(Predictor(module)))
    assert np.array_equal(batch_model.predict(xs), eager(xs))


def mlp(*layers: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(*layers).eval()


def eager_because(module: nn.Module) -> str | None:
    """Why `chunk_forward` runs `module` eagerly (None: without the GIL), once the pass it chose is
    shown to predict as the eager one does, to the bit."""
    forward, reason = chunk_forward(module, Predictor(module), 1e3, size=64)
    xs = np.random.default_rng(1).uniform(-1e3, 1e3, 1000)
    eager = predicting(eager_forward(Predictor(module), size=64))
    assert np.array_equal(predicting(forward)(xs), eager(xs))
    return reason


@pytest.mark.parametrize(
    "module",
    [
        mlp(nn.Linear(1, 8), nn.Tanh(), nn.Dropout(0.1), nn.Linear(8, 1)),
        mlp(nn.Linear(1, 8), nn.GELU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)),
        mlp(nn.Linear(1, 1)),
    ],
    ids=["tanh-dropout", "gelu-relu", "one-layer"],
)
def test_every_trainable_activation_runs_gil_free_bit_for_bit(module: nn.Module) -> None:
    assert eager_because(module) is None


@pytest.mark.parametrize(
    "module",
    [
        mlp(nn.Linear(1, 8, bias=False), nn.ReLU(), nn.Linear(8, 1)),
        mlp(nn.Linear(1, 8), nn.ReLU(), nn.ReLU(), nn.Linear(8, 1)),
        mlp(nn.ReLU(), nn.Linear(1, 1)),
        mlp(nn.Linear(1, 8), nn.GELU(approximate="tanh"), nn.Linear(8, 1)),
        mlp(nn.Linear(1, 8), nn.Sigmoid(), nn.Linear(8, 1)),
    ],
    ids=["no-bias", "two-activations", "activation-first", "tanh-gelu", "sigmoid"],
)
def test_other_networks_run_eagerly(module: nn.Module) -> None:
    assert eager_because(module) == "TorchScript cannot run this network here"


def test_a_gil_free_forward_that_disagrees_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    module = mlp(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1))

    def off_by_one(module: nn.Module, size: int) -> object:
        return lambda batch: eager_forward(Predictor(module), size)(batch) + 1

    monkeypatch.setattr("torchlambda.batch.model.gil_free_forward", off_by_one)
    assert eager_because(module) == (
        "TorchScript's results differ from the eager pass's on the probe"
    )


def test_without_torchscript_the_forward_pass_is_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    module = mlp(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1))

    def removed(function: object) -> object:
        raise AttributeError("module 'torch.jit' has no attribute 'script'")

    monkeypatch.setattr(torch.jit, "script", removed)
    assert eager_because(module) == (
        "TorchScript failed: AttributeError(\"module 'torch.jit' has no attribute 'script'\")"
    )
    monkeypatch.setattr(torch.jit, "script", lambda function: function)  # as PYTORCH_JIT=0 does
    assert eager_because(module) == "TorchScript cannot run this network here"


def test_the_shipped_model(batch_model: BatchModel) -> None:
    card = json.loads((SHIPPED_MODEL / "model.json").read_text())
    assert card["model_id"].startswith(batch_model.version)
    assert len(batch_model.version) == 12
    assert batch_model.max_abs_x == 1e6
    ys = batch_model.predict(np.array([-1.0, 0.0, 1.0] * 3000))
    assert len(ys) == 9000
    assert ys[:3].tolist() == ys[3:6].tolist()


def test_max_abs_x_comes_from_the_settings() -> None:
    settings = Settings(model_dir=SHIPPED_MODEL, max_abs_x=10.0)
    assert load_batch_model(settings, Logger(service="batch-tests")).max_abs_x == 10.0


def test_a_tampered_model_is_refused(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_MODEL, tmp_path / "model")
    weights = tmp_path / "model" / "model.pth"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactError):
        load_batch_model(Settings(model_dir=tmp_path / "model"), Logger(service="batch-tests"))
