"""The paired comparison on synthetic feedback whose true difference is known: a real difference is
detected, none is (almost never) claimed, and the sample size it asks for gives the power it
promises. Every draw is seeded, so each bound below is checked on the same draws every run."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from ops.experiment import comparison
from ops.experiment.comparison import (
    MIN_OBSERVATIONS,
    Verdict,
    bootstrap_interval,
    compare,
    mean_squared_error,
    needed_observations,
)
from tests.ops.experiment.log_lines import LABEL_NOISE, Labelled, labelled

GATE = 0.01  # dev's min_relative_improvement
Z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)


def verdict(data: Labelled, min_relative_improvement: float = GATE) -> Verdict:
    return compare(
        data.y,
        data.champion_y,
        data.challenger_y,
        min_relative_improvement=min_relative_improvement,
    ).verdict


@pytest.mark.parametrize("seed", range(5))
def test_a_better_challenger_is_detected(seed: int) -> None:
    # The champion is off by 0.3: its MSE is 0.09 above the challenger's (0.25 + 0.09 vs 0.25).
    data = labelled(seed, 400, champion_bias=0.3)
    result = compare(data.y, data.champion_y, data.challenger_y, min_relative_improvement=GATE)
    assert result.verdict is Verdict.BETTER
    assert result.interval is not None
    low, high = result.interval
    assert 0 < low < result.difference < high
    assert low < 0.3**2 < high  # the true difference lies inside
    assert result.difference == pytest.approx(result.champion_mse - result.challenger_mse)


@pytest.mark.parametrize("seed", range(5))
def test_a_worse_challenger_is_detected(seed: int) -> None:
    assert verdict(labelled(seed, 400, challenger_bias=0.3)) is Verdict.WORSE


def test_no_difference_is_rarely_claimed() -> None:
    # Two models equally noisy, independently: the true difference is 0, so a 95% interval that
    # excludes it is a false verdict, expected about 5% of the time (2 in 40).
    verdicts = [
        verdict(labelled(seed, 300, champion_noise=0.2, challenger_noise=0.2)) for seed in range(40)
    ]
    false_verdicts = sum(found is not Verdict.NOT_ENOUGH_DATA for found in verdicts)
    assert false_verdicts <= 6


def test_identical_predictions_are_never_a_verdict() -> None:
    data = labelled(3, 500, champion_noise=0.2)
    same = compare(data.y, data.champion_y, data.champion_y, min_relative_improvement=GATE)
    assert (same.verdict, same.difference, same.interval) == (Verdict.NOT_ENOUGH_DATA, 0, (0, 0))
    # The sample size is sized for the gate's smallest improvement, with no spread to overcome.
    assert same.sized_for == pytest.approx(GATE * same.champion_mse)
    assert same.needed == MIN_OBSERVATIONS


def test_below_the_minimum_there_is_no_verdict_however_large_the_difference() -> None:
    data = labelled(0, MIN_OBSERVATIONS - 1, champion_bias=5.0)
    result = compare(data.y, data.champion_y, data.challenger_y, min_relative_improvement=GATE)
    assert (result.verdict, result.interval) == (Verdict.NOT_ENOUGH_DATA, None)
    assert result.difference > 20
    assert result.needed == MIN_OBSERVATIONS  # this large a difference needs only the minimum


def test_the_needed_sample_size_follows_the_formula() -> None:
    data = labelled(7, 200, champion_noise=0.3, challenger_noise=0.25)
    result = compare(data.y, data.champion_y, data.challenger_y, min_relative_improvement=GATE)
    d = (data.champion_y - data.y) ** 2 - (data.challenger_y - data.y) ** 2
    assert result.sized_for == max(abs(d.mean()), GATE * result.champion_mse)
    expected = math.ceil((Z * d.std(ddof=1) / result.sized_for) ** 2)
    assert result.needed == max(MIN_OBSERVATIONS, expected)


def test_a_difference_smaller_than_worth_acting_on_is_sized_for_the_gate() -> None:
    # A challenger better by 0.0001 in MSE: a verdict on that little would take millions of
    # observations, and the gate would not promote it anyway; sized for 5% of the champion's MSE.
    data = labelled(8, 1_000, champion_noise=0.1, challenger_noise=0.0995)
    result = compare(data.y, data.champion_y, data.challenger_y, min_relative_improvement=0.05)
    assert abs(result.difference) < 0.05 * result.champion_mse
    assert result.sized_for == pytest.approx(0.05 * result.champion_mse)


def test_the_needed_sample_size_gives_about_the_power_it_promises() -> None:
    # d = b^2 - 2b(e): mean 0.04 and sd 0.2 for b = 0.2 with label noise 0.5. At the sample size
    # needed for 80% power, about 80% of experiments reach "challenger better".
    bias = 0.2
    population = labelled(100, 100_000, champion_bias=bias)
    d = (population.champion_y - population.y) ** 2 - (population.challenger_y - population.y) ** 2
    n = needed_observations(d, bias**2)
    assert n is not None
    assert n == pytest.approx((Z * 2 * bias * LABEL_NOISE / bias**2) ** 2, rel=0.05)
    detected = [verdict(labelled(seed, n, champion_bias=bias)) for seed in range(60)]
    power = sum(found is Verdict.BETTER for found in detected) / len(detected)
    assert 0.65 <= power <= 0.95


def test_no_sample_size_without_a_spread_or_a_difference() -> None:
    assert needed_observations(np.array([0.5]), 0.1) is None  # one observation: no spread
    assert needed_observations(np.array([0.0, 0.0, 0.0]), 0.0) is None  # nothing to size for


def test_the_interval_is_reproducible_and_the_same_in_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    d = np.random.default_rng(5).normal(0.1, 1.0, 2_000)
    whole = bootstrap_interval(d, resamples=2_000, seed=1)
    assert bootstrap_interval(d, resamples=2_000, seed=1) == whole
    # Blocks of 3 resamples (the last one shorter): every resample filled, the same distribution.
    monkeypatch.setattr(comparison, "BLOCK_ELEMENTS", 3 * d.size)
    blocked = bootstrap_interval(d, resamples=2_000, seed=2)
    half_width = NormalDist().inv_cdf(0.975) * d.std() / math.sqrt(d.size)
    for bound, normal in zip(blocked, (d.mean() - half_width, d.mean() + half_width), strict=True):
        assert bound == pytest.approx(normal, abs=0.1 * half_width)
    assert blocked == pytest.approx(whole, abs=0.1 * half_width)


def test_inputs_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="equally long"):
        compare([1.0, 2.0], [1.0], [1.0, 2.0], min_relative_improvement=GATE)
    with pytest.raises(ValueError, match="non-empty"):
        compare([], [], [], min_relative_improvement=GATE)


def test_mean_squared_error() -> None:
    assert mean_squared_error([1.0, 2.0, 3.0], [1.0, 4.0, 2.0]) == pytest.approx(5 / 3)
