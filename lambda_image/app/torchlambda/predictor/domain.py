"""Proof that a network's outputs are finite for every x the API accepts, before it serves one.

Sampling cannot show that no x in [-M, M] overflows; interval bound propagation can. Each layer
maps the interval of its inputs to an interval that contains every value it can output: a Linear
layer's output box follows from its input box's centre and radius (|W| times the radius), and a
monotonic activation maps the ends. Intervals alone are not enough, though: float32 sums a Linear
layer's terms one by one, and a partial sum can overflow even where the terms would cancel. So each
Linear layer is also bounded by the sum of its terms' magnitudes, |W| times the largest |input| plus
|b|, which no partial sum, in any order, can exceed. If every bound, computed in float64, stays
within float32's range with a margin for rounding, no float32 forward pass over the domain can reach
infinity or NaN. The bounds are loose for deep networks, never wrong.
"""

from __future__ import annotations

import math

import torch
from torch import nn

FLOAT32_MAX = float(torch.finfo(torch.float32).max)
# A bound must stay this far below float32's limit: rounding in the float32 forward pass is then
# far too small to reach infinity.
HEADROOM = 1e-3
LIMIT = FLOAT32_MAX * HEADROOM
# GELU falls to its one minimum, -0.169971 at x = -0.751792, then rises: its maximum over an
# interval is at an end. The bracket and the floor are rounded outward, so they stay bounds.
GELU_ARGMIN_BRACKET, GELU_FLOOR = (-0.7518, -0.7517), -0.17


class DomainError(ValueError):
    """The network is not proven finite over the serving domain; the message says where."""


Bounds = tuple[torch.Tensor, torch.Tensor]


def _magnitude(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    return torch.maximum(low.abs(), high.abs())


def _linear(layer: nn.Linear, low: torch.Tensor, high: torch.Tensor) -> tuple[Bounds, float]:
    """The output box, and the largest |value| any product or partial sum can reach."""
    weight = layer.weight.detach().double()
    bias = (
        layer.bias.detach().double()
        if layer.bias is not None
        else torch.zeros(weight.shape[0], dtype=torch.float64)
    )
    centre, radius = (high + low) / 2, (high - low) / 2
    out_centre = centre @ weight.t() + bias
    out_radius = radius @ weight.abs().t()
    terms = _magnitude(low, high) @ weight.abs().t() + bias.abs()
    return (out_centre - out_radius, out_centre + out_radius), float(terms.max())


def _gelu(low: torch.Tensor, high: torch.Tensor) -> Bounds:
    gelu = nn.functional.gelu
    ends_low, ends_high = torch.minimum(gelu(low), gelu(high)), torch.maximum(gelu(low), gelu(high))
    left, right = GELU_ARGMIN_BRACKET
    may_hold_minimum = (low <= right) & (high >= left)
    return torch.where(may_hold_minimum, torch.full_like(low, GELU_FLOOR), ends_low), ends_high


def _layer_bounds(layer: nn.Module, low: torch.Tensor, high: torch.Tensor) -> tuple[Bounds, float]:
    """The layer's output box, and the largest |value| it computes on the way."""
    if isinstance(layer, nn.Linear):
        return _linear(layer, low, high)
    if isinstance(layer, nn.Dropout) and not layer.training:
        box = (low, high)
    elif isinstance(layer, (nn.ReLU, nn.Tanh)):  # monotonic: the ends map to the ends
        box = (layer(low), layer(high))
    elif isinstance(layer, nn.GELU):
        box = _gelu(low, high)
    else:
        raise DomainError(f"no bound is known for layer {type(layer).__name__}")
    return box, float(_magnitude(*box).max())


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
            (low, high), layer_max = _layer_bounds(layer, low, high)
            if not math.isfinite(layer_max):  # NaN too: inf - inf in a wide layer
                return math.inf
            largest = max(largest, layer_max)
    return largest


def check_finite_over_domain(module: nn.Module, max_abs_x: float) -> float:
    """Raise DomainError unless every output for |x| <= max_abs_x is finite; return the bound."""
    for name, tensor in module.state_dict().items():
        if not bool(torch.isfinite(tensor).all()):
            raise DomainError(f"weight {name} is NaN or infinite (as the network's float32)")
    bound = output_bound(module, max_abs_x)
    if not bound <= LIMIT:
        raise DomainError(
            f"values for |x| <= {max_abs_x:g} may reach {bound:.3g}, beyond the {LIMIT:.3g} that "
            "float32 holds with a margin for rounding; lower MAX_ABS_X or retrain"
        )
    return bound
