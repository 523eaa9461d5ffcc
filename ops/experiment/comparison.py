"""The paired comparison behind `make ab-report`: both models scored on the same labelled
observations, the difference of their MSEs with a bootstrap interval, a verdict, and the sample size
a verdict needs.

Each observation i gives d_i = (champion_y_i - y_i)^2 - (challenger_y_i - y_i)^2, positive where the
challenger's error is the smaller; the mean of d is the champion's MSE less the challenger's.
Pairing cancels what both models share (an input hard for one is hard for the other), so it needs
far fewer observations than comparing two separate samples would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

CONFIDENCE = 0.95  # the interval's coverage: a two-sided test at 5%
POWER = 0.80  # the chance of detecting the difference the needed sample size is sized for
# At 2,000 resamples each end of the interval moves by about 0.06 standard errors from one seed
# to another: about 1.5% of the interval's width.
BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 12  # the same observations always give the same interval
# Below this the bootstrap's interval is too rough to act on: the verdict is "not enough data".
MIN_OBSERVATIONS = 30
# Resampled values held at once (their indices and their values: about 64 MB), whatever n is.
BLOCK_ELEMENTS = 1 << 22


class Verdict(StrEnum):
    BETTER = "challenger better"
    WORSE = "challenger worse"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class Comparison:
    observations: int
    champion_mse: float
    challenger_mse: float
    difference: float  # the champion's MSE less the challenger's: > 0 when the challenger is better
    interval: tuple[float, float] | None  # the difference's bootstrap interval; None: too few
    verdict: Verdict
    smallest_worthwhile: float  # the gate's min_relative_improvement of the champion's MSE
    sized_for: float  # the difference `needed` detects: max(|difference|, smallest_worthwhile)
    needed: int | None  # observations for POWER at CONFIDENCE; None: nothing to size it from

    @property
    def relative_difference(self) -> float | None:
        """The difference as a share of the champion's MSE, as the gate measures improvement."""
        return self.difference / self.champion_mse if self.champion_mse > 0 else None


def compare(
    y: ArrayLike,
    champion_y: ArrayLike,
    challenger_y: ArrayLike,
    *,
    min_relative_improvement: float,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Comparison:
    """Compare the two models' squared errors on the same observations (1-D, equal lengths)."""
    truth = np.asarray(y, dtype=np.float64)
    champion = np.asarray(champion_y, dtype=np.float64)
    challenger = np.asarray(challenger_y, dtype=np.float64)
    if truth.ndim != 1 or truth.size == 0 or not truth.shape == champion.shape == challenger.shape:
        raise ValueError("y and both models' predictions must be equally long, non-empty lists")
    champion_errors = (champion - truth) ** 2
    challenger_errors = (challenger - truth) ** 2
    differences = champion_errors - challenger_errors
    champion_mse = float(champion_errors.mean())
    difference = float(differences.mean())
    smallest_worthwhile = min_relative_improvement * champion_mse
    sized_for = max(abs(difference), smallest_worthwhile)
    interval = None
    if differences.size >= MIN_OBSERVATIONS:
        interval = bootstrap_interval(differences, resamples=resamples, seed=seed)
    return Comparison(
        observations=int(differences.size),
        champion_mse=champion_mse,
        challenger_mse=float(challenger_errors.mean()),
        difference=difference,
        interval=interval,
        verdict=judge(interval),
        smallest_worthwhile=smallest_worthwhile,
        sized_for=sized_for,
        needed=needed_observations(differences, sized_for),
    )


def mean_squared_error(y: ArrayLike, predicted: ArrayLike) -> float:
    """One model's MSE on the observations (the report's figure when there is no challenger)."""
    errors = np.asarray(predicted, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(errors**2))


def bootstrap_interval(
    differences: NDArray[np.float64], *, resamples: int, seed: int
) -> tuple[float, float]:
    """The percentile bootstrap's CONFIDENCE interval of the mean of `differences`.

    Each resample draws n observations with replacement; the interval is the middle CONFIDENCE of
    the resamples' means. Drawn in blocks of rows, so memory stays near BLOCK_ELEMENTS values.
    """
    generator = np.random.default_rng(seed)
    n = differences.size
    rows = max(1, BLOCK_ELEMENTS // n)
    means = np.empty(resamples)
    for first in range(0, resamples, rows):
        count = min(rows, resamples - first)
        picks = generator.integers(0, n, size=(count, n))
        means[first : first + count] = differences[picks].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def judge(interval: tuple[float, float] | None) -> Verdict:
    """Better or worse only when the whole interval lies on one side of 0."""
    if interval is None:
        return Verdict.NOT_ENOUGH_DATA
    low, high = interval
    if low > 0:
        return Verdict.BETTER
    if high < 0:
        return Verdict.WORSE
    return Verdict.NOT_ENOUGH_DATA


def needed_observations(differences: NDArray[np.float64], sized_for: float) -> int | None:
    """n = ((z_{1-a/2} + z_{power}) * sd(d) / delta)^2: the paired observations a two-sided test
    at 1 - CONFIDENCE needs to detect a mean difference of delta = `sized_for` with POWER, given
    the spread of the differences seen so far; never below MIN_OBSERVATIONS. None without a spread
    (fewer than two observations) or a difference to size for (0)."""
    if differences.size < 2 or sized_for <= 0:
        return None
    normal = NormalDist()
    z = normal.inv_cdf(1 - (1 - CONFIDENCE) / 2) + normal.inv_cdf(POWER)
    ratio = z * float(differences.std(ddof=1)) / sized_for
    if not math.isfinite(ratio * ratio):  # a difference vanishingly small beside the spread
        return None
    return max(MIN_OBSERVATIONS, math.ceil(ratio * ratio))
