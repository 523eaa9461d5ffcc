"""The flattened forward pass is the model: same outputs as calling the nn.Module."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from torchlambda.inference import ModelOutputError, Predictor, batch_of
from torchlambda.predictor.architecture import ArchitectureSpec, build_model

XS = [-1e6, -1234.5, -1.0, 0.0, 0.25, 3.0, 42.0, 999_999.0]


def module_outputs(module: nn.Module, xs: list[float]) -> list[float]:
    with torch.no_grad():
        return module(torch.tensor(xs).reshape(-1, 1)).reshape(-1).tolist()


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_flattened_path_matches_the_module(activation: str) -> None:
    torch.manual_seed(1)
    module = build_model(ArchitectureSpec(hidden_sizes=(32, 16), activation=activation)).eval()
    predictor = Predictor(module)
    assert predictor.predict(XS) == pytest.approx(module_outputs(module, XS), rel=1e-5, abs=1e-5)
    assert predictor.predict([3.0]) == pytest.approx(module_outputs(module, [3.0]), rel=1e-5)


def test_unknown_layers_are_called_as_modules() -> None:
    torch.manual_seed(2)
    module = nn.Sequential(nn.Linear(1, 8), nn.LayerNorm(8), nn.Linear(8, 1)).eval()
    assert Predictor(module).predict(XS) == pytest.approx(
        module_outputs(module, XS), rel=1e-5, abs=1e-5
    )


def test_dropout_is_inactive_in_eval_mode() -> None:
    module = build_model(ArchitectureSpec(dropout=0.9))
    predictor = Predictor(module)  # puts the module in eval mode
    assert predictor.predict(XS) == predictor.predict(XS)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_outputs_raise(bad: float) -> None:
    module = build_model()
    with torch.no_grad():
        module[-1].bias.fill_(bad)
    with pytest.raises(ModelOutputError):
        Predictor(module).predict([1.0, 2.0])


@pytest.mark.parametrize("first", [nn.ReLU(), nn.Tanh(), nn.Linear(1, 1)], ids=repr)
@pytest.mark.parametrize("size", [3, 500], ids=["small batch", "large batch"])
def test_a_forward_pass_leaves_its_batch_as_it_was(first: nn.Module, size: int) -> None:
    # A shadow challenger reads the very tensor the champion ran on.
    torch.manual_seed(3)
    predictor = Predictor(nn.Sequential(first, nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1)))
    batch = batch_of([float(i) - size / 2 for i in range(size)])
    before = batch.clone()
    predictor.forward(batch)
    assert torch.equal(batch, before)
