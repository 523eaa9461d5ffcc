"""Split assignment: sticky per key, the configured share over many keys, fresh per challenger."""

from __future__ import annotations

import pytest

from torchlambda.contract import CHALLENGER, CHAMPION
from torchlambda.experiment.assignment import Assignment

KEYS = [f"user-{i}" for i in range(100_000)]


@pytest.mark.parametrize("weight", [0.01, 0.1, 0.25, 0.5])
def test_the_share_of_keys_matches_the_weight(weight: float) -> None:
    assignment = Assignment(weight, "0123456789ab")
    share = sum(assignment.variant(key) == CHALLENGER for key in KEYS) / len(KEYS)
    # Binomial sd at 100k keys is at most 0.0016: five of them is a bound no honest hash misses.
    assert share == pytest.approx(weight, abs=0.008)


def test_a_key_keeps_its_variant() -> None:
    first = Assignment(0.3, "0123456789ab")
    again = Assignment(0.3, "0123456789ab")  # another execution environment, same experiment
    assert [first.variant(k) for k in KEYS[:5000]] == [again.variant(k) for k in KEYS[:5000]]


def test_a_new_challenger_draws_other_callers() -> None:
    old, new = Assignment(0.5, "0123456789ab"), Assignment(0.5, "ba9876543210")
    same = sum(old.variant(k) == new.variant(k) for k in KEYS[:20_000]) / 20_000
    assert same == pytest.approx(0.5, abs=0.03)  # independent draws agree half the time


def test_a_larger_weight_only_adds_callers() -> None:
    # The threshold grows with the weight: raising it never moves a challenger caller back.
    small, large = Assignment(0.1, "0123456789ab"), Assignment(0.3, "0123456789ab")
    for key in KEYS[:20_000]:
        if small.variant(key) == CHALLENGER:
            assert large.variant(key) == CHALLENGER


@pytest.mark.parametrize("key", ["", "\ud800", "é" * 10_000])
def test_any_text_is_a_key(key: str) -> None:
    assert Assignment(0.5, "0123456789ab").variant(key) in {CHAMPION, CHALLENGER}
