"""The model's forward pass over a whole chunk in one call that does not hold the GIL.

Each eager torch op releases the GIL while it runs, but needs it back to return, and batch
scoring's reader and writer threads hold it for milliseconds at a time (splitting, parsing and
joining text): one op at a time, the forward pass spent more time waiting for the GIL than
computing (measured in docs/batch.md). A TorchScript function runs every slice of a chunk, layer by
layer, in C++ with the GIL released. TorchScript is deprecated in favour of torch.compile and
torch.export, which need a C++ compiler at run time that the image does not have. So it is used
only where its result equals the eager Predictor's bit for bit on a probe (checked at init, with
the optimizing executor off: its fusions round differently); the eager path stays the fallback.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

# Documented as torch.jit.optimized_execution, but missing from torch.jit's __all__.
from torch.jit import optimized_execution  # type: ignore[attr-defined]

from torchlambda.inference import eval_layers, transposed_weight

# (n, 1) float32 in, (n,) float32 out: a whole chunk's predictions.
ForwardChunk = Callable[[torch.Tensor], torch.Tensor]
ACTIVATIONS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.GELU: "gelu"}
NONE = ""


def _sliced_network(
    batch: torch.Tensor,
    weights: list[torch.Tensor],
    biases: list[torch.Tensor],
    activations: list[str],
    size: int,
) -> torch.Tensor:
    """Linear layers, each followed by its activation ("" for none), over `size` rows at a time."""
    ys = torch.empty(batch.shape[0], dtype=batch.dtype)
    for start in range(0, batch.shape[0], size):
        hidden = batch[start : start + size]
        for layer in range(len(weights)):
            hidden = torch.addmm(biases[layer], hidden, weights[layer])
            activation = activations[layer]
            if activation == "relu":
                hidden = torch.relu_(hidden)
            elif activation == "tanh":
                hidden = torch.tanh_(hidden)
            elif activation == "gelu":
                hidden = torch.nn.functional.gelu(hidden)
        ys[start : start + size] = hidden.reshape(-1)
    return ys


@dataclass(frozen=True)
class Network:
    """A module as `_sliced_network` runs it."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    activations: list[str]

    @classmethod
    def of(cls, module: nn.Module) -> Network | None:
        """None unless the eval-mode module is Linear layers with biases, each followed by at
        most one ReLU, Tanh or exact GELU."""
        network = cls([], [], [])
        for layer in eval_layers(module):
            activation = _activation(layer)
            if type(layer) is nn.Linear and layer.bias is not None:
                network.weights.append(transposed_weight(layer))
                network.biases.append(layer.bias.detach())
                network.activations.append(NONE)
            elif activation and network.activations[-1:] == [NONE]:
                network.activations[-1] = activation
            else:
                return None
        return network if network.weights else None


def _activation(layer: nn.Module) -> str:
    if isinstance(layer, nn.GELU) and layer.approximate != "none":
        return NONE
    return ACTIVATIONS.get(type(layer), NONE)


def gil_free_forward(module: nn.Module, size: int) -> ForwardChunk | None:
    """The module's forward pass over a chunk, `size` rows at a time, as one TorchScript call;
    None for a module `Network` cannot describe."""
    network = Network.of(module)
    if network is None:
        return None
    with warnings.catch_warnings():
        # Deprecated, and chosen knowingly: see the module's docstring.
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        scripted = torch.jit.script(_sliced_network)
    if not isinstance(scripted, torch.jit.ScriptFunction):
        return None  # TorchScript turned off (PYTORCH_JIT=0): the Python function, GIL and all

    def forward(batch: torch.Tensor) -> torch.Tensor:
        with optimized_execution(False):
            ys: torch.Tensor = scripted(
                batch, network.weights, network.biases, network.activations, size
            )
        return ys

    return forward
