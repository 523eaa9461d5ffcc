"""The promotion gate: the absolute MSE limit, then the improvement over the champion."""

from __future__ import annotations

from typing import Any

import pytest

from torchlambda.lifecycle import events
from torchlambda.lifecycle.gate import Gate, relative_improvement

# A quarter is exact in binary: a candidate exactly at the minimum improvement is exactly there.
GATE = Gate(max_mse=6.0, min_relative_improvement=0.25)


def evaluation(candidate_mse: float, champion_mse: float | None) -> dict[str, Any]:
    """The fields the gate reads, as the evaluator answers them."""
    return {
        events.CANDIDATE: {events.MSE: candidate_mse},
        events.CHAMPION: None if champion_mse is None else {events.MSE: champion_mse},
        events.IMPROVEMENT: None
        if champion_mse is None
        else relative_improvement(champion_mse, candidate_mse),
    }


@pytest.mark.parametrize(
    ("candidate", "champion", "promote", "reason"),
    [
        (5.0, None, True, "first model: within the absolute gate"),
        (6.0, None, True, "first model: within the absolute gate"),  # at the limit
        (6.5, None, False, "candidate MSE 6.5 is above the gate's 6"),
        (6.5, 100.0, False, "candidate MSE 6.5 is above the gate's 6"),  # improving is not enough
        (2.0, 4.0, True, "improves on the champion by 50.00%"),
        (3.0, 4.0, True, "improves on the champion by 25.00%"),  # exactly the minimum
        (3.5, 4.0, False, "improves on the champion by 12.50%, less than the gate's 25.00%"),
        (4.0, 4.0, False, "improves on the champion by 0.00%, less than the gate's 25.00%"),
        (5.0, 4.0, False, "improves on the champion by -25.00%, less than the gate's 25.00%"),
    ],
)
def test_judge(candidate: float, champion: float | None, promote: bool, reason: str) -> None:
    verdict = GATE.judge(evaluation(candidate, champion))
    assert (verdict.promote, verdict.reason) == (promote, reason)


def test_no_minimum_promotes_an_equal_candidate() -> None:
    assert Gate(min_relative_improvement=0).judge(evaluation(5.0, 5.0)).promote


@pytest.mark.parametrize(
    ("champion", "candidate", "improvement"),
    [(4.0, 3.0, 0.25), (4.0, 5.0, -0.25), (0.0, 0.0, 0.0), (0.0, 1e-9, -1.0)],
)
def test_relative_improvement(champion: float, candidate: float, improvement: float) -> None:
    assert relative_improvement(champion, candidate) == pytest.approx(improvement)


@pytest.mark.parametrize(
    ("gate", "fault"),
    [
        (Gate(max_mse=0), "gate max_mse=0 must be a number > 0"),
        (Gate(max_mse=float("inf")), "gate max_mse=inf must be a number > 0"),
        (Gate(min_relative_improvement=1), "gate min_relative_improvement=1 must be in [0, 1)"),
        (Gate(min_relative_improvement=-0.1), "gate min_relative_improvement=-0.1 must be in"),
    ],
)
def test_faults(gate: Gate, fault: str) -> None:
    (found,) = gate.faults()
    assert found.startswith(fault)


def test_the_default_gate_has_no_faults() -> None:
    assert list(Gate().faults()) == []
