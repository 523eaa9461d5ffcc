"""The promotion gate: when a candidate may replace the champion.

Defined once. The retrain workflow's Gate state is built from a ``Gate``'s two numbers, with the
same comparisons in the same order (a test runs both on the same evaluations), and `make promote`
judges with ``Gate.judge`` itself.

A candidate is promoted when its MSE on the evaluation set is at most ``max_mse`` and, when there
is a champion, it improves on the champion's MSE on the same rows by at least
``min_relative_improvement`` (0.01: one percent lower). The first model is judged on the absolute
gate alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from torchlambda.lifecycle import events


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str


@dataclass(frozen=True)
class Gate:
    max_mse: float = 6.0
    min_relative_improvement: float = 0.01

    def faults(self) -> Iterator[str]:
        if not (math.isfinite(self.max_mse) and self.max_mse > 0):
            yield f"gate max_mse={self.max_mse} must be a number > 0"
        if not (
            math.isfinite(self.min_relative_improvement) and 0 <= self.min_relative_improvement < 1
        ):
            yield (
                f"gate min_relative_improvement={self.min_relative_improvement} must be in "
                "[0, 1): 0.01 asks for an MSE one percent below the champion's"
            )

    def judge(self, evaluation: Mapping[str, Any]) -> Verdict:
        """The workflow's Gate state, in Python: same fields, same order."""
        candidate_mse = float(evaluation[events.CANDIDATE][events.MSE])
        if candidate_mse > self.max_mse:
            return Verdict(
                False, f"candidate MSE {candidate_mse:.6g} is above the gate's {self.max_mse:g}"
            )
        if evaluation.get(events.CHAMPION) is None:
            return Verdict(True, "first model: within the absolute gate")
        improvement = float(evaluation[events.IMPROVEMENT])
        if improvement < self.min_relative_improvement:
            return Verdict(
                False,
                f"improves on the champion by {improvement:.2%}, less than the gate's "
                f"{self.min_relative_improvement:.2%}",
            )
        return Verdict(True, f"improves on the champion by {improvement:.2%}")


def relative_improvement(champion_mse: float, candidate_mse: float) -> float:
    """How much lower the candidate's MSE is, as a share of the champion's (negative: worse)."""
    if champion_mse <= 0:
        # A perfect champion: nothing improves on it; an equal candidate is no improvement.
        return 0.0 if candidate_mse <= champion_mse else -1.0
    return (champion_mse - candidate_mse) / champion_mse
