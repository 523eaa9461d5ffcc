"""The model as batch scoring uses it: loaded and verified as the online function's init does,
predicting in slices of the size its forward pass runs fastest at.

A chunk's x arrive as one float64 array and leave as one: into torch through one float32
conversion, out through one, with no Python float per row on either side. The forward pass runs
as one call that releases the GIL (``torchlambda.batch.forward``) where that gives the eager
Predictor's results bit for bit, else op by op through the Predictor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from aws_lambda_powertools import Logger
from torch import nn

from torchlambda.batch.chunks import Predict
from torchlambda.batch.forward import ForwardChunk, gil_free_forward
from torchlambda.batch.numbers import Values
from torchlambda.inference import Predictor
from torchlambda.model_loading import load_model
from torchlambda.settings import Settings

# This MLP runs about twice as many rows a second in slices of 4,096 as in slices of 65,536:
# the hidden layers' activations then stay in the CPU's cache.
PREDICT_SLICE = 4096


@dataclass(frozen=True)
class BatchModel:
    predict: Predict
    version: str
    max_abs_x: float
    gil_free: bool  # the forward pass is one call that releases the GIL (torchlambda.batch.forward)


def eager_forward(predictor: Predictor, size: int = PREDICT_SLICE) -> ForwardChunk:
    """The Predictor's forward pass over a chunk, `size` rows at a time, one op after another."""

    def forward(batch: torch.Tensor) -> torch.Tensor:
        ys = torch.empty(len(batch), dtype=torch.float32)
        for start in range(0, len(batch), size):
            ys[start : start + size] = predictor.forward(batch[start : start + size])
        return ys

    return forward


def chunk_forward(
    module: nn.Module, predictor: Predictor, max_abs_x: float, size: int = PREDICT_SLICE
) -> tuple[ForwardChunk, str | None]:
    """The GIL-free forward pass if it equals the eager one on a probe, else the eager one; and
    why not the GIL-free one (None when it is)."""
    eager = eager_forward(predictor, size)
    try:
        scripted = gil_free_forward(module, size)
        if scripted is None:
            return eager, "TorchScript cannot run this network here"
        if not agrees(scripted, eager, max_abs_x, size):
            return eager, "TorchScript's results differ from the eager pass's on the probe"
    except Exception as error:  # a torch without TorchScript, or one that fails: eager is correct
        return eager, f"TorchScript failed: {error!r}"
    return scripted, None


def agrees(forward: ForwardChunk, reference: ForwardChunk, max_abs_x: float, size: int) -> bool:
    """Bit for bit, on two full slices and a partial one: across the domain and near zero."""
    probe = torch.cat(
        (torch.linspace(-max_abs_x, max_abs_x, size + 1), torch.linspace(-1.0, 1.0, size + 2))
    ).reshape(-1, 1)
    with torch.inference_mode():
        return torch.equal(forward(probe), reference(probe))


def predicting(forward: ForwardChunk) -> Predict:
    def predict(values: Values) -> Values:
        # Inference tensors (made in inference mode): no autograd bookkeeping on any op.
        with torch.inference_mode():
            ys = forward(torch.from_numpy(values.astype(np.float32)).reshape(-1, 1))
            Predictor.check_finite(ys)
        return ys.numpy().astype(np.float64)

    return predict


def load_batch_model(settings: Settings, logger: Logger) -> BatchModel:
    """Raises what the online init raises for a bad model (ArtifactError, SpecError)."""
    loaded = load_model(settings, logger)
    forward, eager_because = chunk_forward(
        loaded.module, Predictor(loaded.module), settings.max_abs_x
    )
    if eager_because is None:
        logger.info("batch forward pass: one TorchScript call a chunk, without the GIL")
    else:
        logger.warning("batch forward pass: eager, op by op", extra={"reason": eager_because})
    return BatchModel(
        predicting(forward), loaded.version, settings.max_abs_x, eager_because is None
    )
