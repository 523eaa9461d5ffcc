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
    module: nn.Module, predictor: Predictor, size: int = PREDICT_SLICE
) -> tuple[ForwardChunk, bool]:
    """The GIL-free forward pass if it equals the eager one on a probe, else the eager one; and
    which of the two it is."""
    eager = eager_forward(predictor, size)
    scripted = gil_free_forward(module, size)
    if scripted is not None and agrees(scripted, eager, size):
        return scripted, True
    return eager, False


def agrees(forward: ForwardChunk, reference: ForwardChunk, size: int) -> bool:
    """Bit for bit, on two full slices and a partial one spanning the default domain's scale."""
    probe = torch.linspace(-1e3, 1e3, 2 * size + 3).reshape(-1, 1)
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
    forward, gil_free = chunk_forward(loaded.module, Predictor(loaded.module))
    logger.info("batch forward pass", extra={"gil_free": gil_free})
    return BatchModel(predicting(forward), loaded.version, settings.max_abs_x, gil_free)
