"""The finiteness proof: its bound holds for every x in the domain; it refuses what overflows."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from torchlambda.predictor.architecture import ACTIVATIONS, ArchitectureSpec, build_model
from torchlambda.predictor.domain import (
    FLOAT32_MAX,
    DomainError,
    check_finite_over_domain,
    output_bound,
)


def test_the_bound_of_an_affine_map_is_exact() -> None:
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(2.0)
        layer.bias.fill_(1.0)
    assert output_bound(nn.Sequential(layer), 3.0) == 7.0


@settings(max_examples=40, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 30.0),
    max_abs_x=st.floats(1e-3, 1e4),
)
def test_no_layer_exceeds_the_bound_anywhere_in_the_domain(
    hidden: list[int], activation: str, seed: int, scale: float, max_abs_x: float
) -> None:
    torch.manual_seed(seed)
    spec = ArchitectureSpec(hidden_sizes=tuple(hidden), activation=activation, dropout=0.0)
    module = build_model(spec).double().eval()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(scale)
    bound = output_bound(module, max_abs_x)
    x = torch.linspace(-max_abs_x, max_abs_x, 2001, dtype=torch.float64).unsqueeze(1)
    largest = 0.0
    with torch.no_grad():
        for layer in module:
            x = layer(x)
            largest = max(largest, float(x.abs().max()))
    assert largest <= bound * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    seed=st.integers(0, 2**16),
    exponent=st.integers(0, 14),
    max_abs_x=st.floats(1e-3, 1e6),
)
def test_an_accepted_network_is_finite_in_float32_over_the_whole_domain(
    hidden: list[int], activation: str, seed: int, exponent: int, max_abs_x: float
) -> None:
    # Weights from ordinary to huge, so that many networks land near the float32 limit.
    torch.manual_seed(seed)
    spec = ArchitectureSpec(hidden_sizes=tuple(hidden), activation=activation, dropout=0.0)
    module = build_model(spec).eval()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(10.0**exponent)
    try:
        check_finite_over_domain(module, max_abs_x)
    except DomainError:
        return
    x = torch.linspace(-max_abs_x, max_abs_x, 2001).unsqueeze(1)
    with torch.no_grad():
        assert torch.isfinite(module(x)).all()


def test_partial_sums_that_overflow_are_refused_though_the_terms_cancel() -> None:
    # Two units of 3e35 each, weighted +1e4 and -1e4: the exact output is 0, but float32 sums
    # 3e39 and -3e39 on the way and returns NaN for every x.
    module = build_model(ArchitectureSpec(hidden_sizes=(2,), dropout=0.0)).eval()
    with torch.no_grad():
        module[0].weight.zero_()
        module[0].bias.fill_(3e35)
        module[-1].weight.copy_(torch.tensor([[1e4, -1e4]]))
        module[-1].bias.zero_()
        assert torch.isnan(module(torch.tensor([[1.0]]))).all()
    with pytest.raises(DomainError, match="may reach 6e\\+39"):
        check_finite_over_domain(module, 1.0)


def test_weights_that_overflow_only_at_the_edge_of_the_domain_are_refused() -> None:
    module = build_model().eval()
    with torch.no_grad():
        module[0].weight.fill_(1e33)
    assert torch.isfinite(module(torch.tensor([[1.0]]))).all()  # a small probe sees nothing
    with pytest.raises(DomainError, match="float32 holds with a margin for rounding"):
        check_finite_over_domain(module, 1e6)
    assert check_finite_over_domain(module, 1e-3) < FLOAT32_MAX


def test_an_unknown_layer_is_not_assumed_safe() -> None:
    with pytest.raises(DomainError, match="no bound is known for layer Softplus"):
        check_finite_over_domain(nn.Sequential(nn.Linear(1, 1), nn.Softplus()), 1.0)
