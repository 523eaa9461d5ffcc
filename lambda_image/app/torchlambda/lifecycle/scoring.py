"""Both models' squared errors on the same rows, one chunk of the set at a time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from torchlambda.lifecycle.labelled_rows import Labelled


def squared_error(module: nn.Module, chunk: Labelled) -> float:
    """The sum of (prediction - y)^2 over the chunk: the forward pass in float32, as served; the
    errors summed in float64, so a long set loses no precision to the running total."""
    x = torch.tensor(chunk.xs, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(chunk.ys, dtype=torch.float64)
    with torch.no_grad():
        predicted = module(x).squeeze(1).double()
    return float(((predicted - y) ** 2).sum())


def mean_squared_errors(chunks: Iterable[Labelled], modules: Sequence[nn.Module]) -> list[float]:
    """Each module's MSE over every row of `chunks` (which must hold at least one row)."""
    totals = [0.0] * len(modules)
    rows = 0
    for chunk in chunks:
        rows += len(chunk.xs)
        for index, module in enumerate(modules):
            totals[index] += squared_error(module, chunk)
    return [total / rows for total in totals]
