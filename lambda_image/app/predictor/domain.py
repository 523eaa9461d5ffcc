"""Proof that a network's outputs are finite for every x the API accepts, before it serves one.

Sampling cannot show that no x in [-M, M] overflows; interval bound propagation can. Each layer
maps the interval of its inputs to an interval that contains every value it can output: a Linear
layer's output box follows from its input box's centre and radius (|W| times the radius), and a
monotonic activation maps the ends. If every bound, computed in float64, stays within float32's
finite range, no float32 forward pass over the domain can reach infinity or NaN (a bound this
far below the limit leaves ample room for rounding). Bounds are loose for deep networks, not wrong.
"""

from __future__ import annotations

import math

import torch
from torch import nn

FLOAT32_MAX = float(torch.finfo(torch.float32).max)
# A bound must stay this far below float32's limit: rounding in the float32 forward pass is then
# far too small to reach infinity.
HEADROOM = 1e-3
# GELU's global minimum, at x = -0.7518 (it falls, then rises: its maximum is always at an end).
GELU_MIN_X, GELU_MIN = -0.75179, -0.16997


class DomainError(ValueError):
    """The network is not proven finite over the serving domain; the message says where."""


Bounds = tuple[torch.Tensor, torch.Tensor]


def _linear(layer: nn.Linear, low: torch.Tensor, high: torch.Tensor) -> Bounds:
    weight = layer.weight.detach().double()
    centre, radius = (high + low) / 2, (high - low) / 2
    out_centre = centre @ weight.t()
    if layer.bias is not None:
        out_centre = out_centre + layer.bias.detach().double()
    out_radius = radius @ weight.abs().t()
    return out_centre - out_radius, out_centre + out_radius


def _gelu(low: torch.Tensor, high: torch.Tensor) -> Bounds:
    gelu = nn.functional.gelu
    ends_low, ends_high = torch.minimum(gelu(low), gelu(high)), torch.maximum(gelu(low), gelu(high))
    spans_minimum = (low <= GELU_MIN_X) & (high >= GELU_MIN_X)
    return torch.where(spans_minimum, torch.full_like(low, GELU_MIN), ends_low), ends_high


def _layer_bounds(layer: nn.Module, low: torch.Tensor, high: torch.Tensor) -> Bounds:
    if isinstance(layer, nn.Linear):
        return _linear(layer, low, high)
    if isinstance(layer, nn.Dropout) and not layer.training:
        return low, high
    if isinstance(layer, (nn.ReLU, nn.Tanh)):  # monotonic: the ends map to the ends
        return layer(low), layer(high)
    if isinstance(layer, nn.GELU):
        return _gelu(low, high)
    raise DomainError(f"no bound is known for layer {type(layer).__name__}")


def output_bound(module: nn.Module, max_abs_x: float) -> float:
    """The largest |value| any layer can produce for |x| <= max_abs_x (inf if unbounded)."""
    layers = list(module) if isinstance(module, nn.Sequential) else [module]
    first = next((layer for layer in layers if isinstance(layer, nn.Linear)), None)
    width = first.in_features if first is not None else 1
    low = torch.full((1, width), -max_abs_x, dtype=torch.float64)
    high = torch.full((1, width), max_abs_x, dtype=torch.float64)
    largest = max_abs_x
    with torch.no_grad():
        for layer in layers:
            low, high = _layer_bounds(layer, low, high)
            layer_max = float(torch.maximum(low.abs(), high.abs()).max())
            if not math.isfinite(layer_max):  # NaN too: inf - inf in a wide layer
                return math.inf
            largest = max(largest, layer_max)
    return largest


def check_finite_over_domain(module: nn.Module, max_abs_x: float) -> float:
    """Raise DomainError unless every output for |x| <= max_abs_x is finite; return the bound."""
    for name, tensor in module.state_dict().items():
        if not bool(torch.isfinite(tensor).all()):
            raise DomainError(f"weight {name} holds NaN or infinity")
    bound = output_bound(module, max_abs_x)
    if not bound <= FLOAT32_MAX * HEADROOM:
        raise DomainError(
            f"outputs for |x| <= {max_abs_x:g} may reach {bound:.3g}, beyond float32's finite "
            f"range ({FLOAT32_MAX:.3g}); lower MAX_ABS_X or retrain"
        )
    return bound
