"""The feedback log event: labelled observations, each scored by both models the function serves.

Written by the function (`POST /feedback`) as one structured log line per FEEDBACK_PAIRS_PER_EVENT
pairs, read back by `make ab-report` from CloudWatch Logs or the local server's log. Both sides use
this one definition; standard library only, so the ops tools import it without torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torchlambda.contract import EXPERIMENT_MODES, ExperimentMode

FEEDBACK_MESSAGE = "feedback"  # the log line's message: what a reader filters on


class FeedbackEventError(ValueError):
    """A log line that claims to be feedback but is not one this version can read."""


@dataclass(frozen=True)
class FeedbackEvent:
    experiment: ExperimentMode
    request_id: str
    champion_version: str
    challenger_version: str | None  # None when no experiment is on
    x: tuple[float, ...]
    y: tuple[float, ...]  # the true values the caller reported
    champion_y: tuple[float, ...]  # what the champion predicts for each x
    challenger_y: tuple[float, ...] | None  # what the challenger predicts (None: no challenger)

    def fields(self) -> dict[str, Any]:
        """The log line's structured fields (its message is FEEDBACK_MESSAGE)."""
        return {
            "experiment": self.experiment,
            "request_id": self.request_id,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "x": list(self.x),
            "y": list(self.y),
            "champion_y": list(self.champion_y),
            "challenger_y": None if self.challenger_y is None else list(self.challenger_y),
        }

    @classmethod
    def from_fields(cls, record: Mapping[str, Any]) -> FeedbackEvent:
        """Read a feedback log line's JSON back; FeedbackEventError says what is wrong."""
        experiment = record.get("experiment")
        if experiment not in EXPERIMENT_MODES:
            raise FeedbackEventError(f"experiment {experiment!r} is not one of {EXPERIMENT_MODES}")
        champion_version = _text(record, "champion_version")
        challenger_version = record.get("challenger_version")
        if challenger_version is not None and not isinstance(challenger_version, str):
            raise FeedbackEventError("challenger_version is not a string")
        x, y = _numbers(record, "x"), _numbers(record, "y")
        champion_y = _numbers(record, "champion_y")
        challenger_y = (
            None if record.get("challenger_y") is None else _numbers(record, "challenger_y")
        )
        lengths = {len(x), len(y), len(champion_y), *([len(challenger_y)] if challenger_y else [])}
        if len(lengths) != 1 or not x:
            raise FeedbackEventError("x, y and the predictions differ in length or are empty")
        if (challenger_y is None) != (challenger_version is None):
            raise FeedbackEventError("challenger_y and challenger_version come together")
        return cls(
            experiment=experiment,
            request_id=_text(record, "request_id"),
            champion_version=champion_version,
            challenger_version=challenger_version,
            x=x,
            y=y,
            champion_y=champion_y,
            challenger_y=challenger_y,
        )


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise FeedbackEventError(f"{name} is missing or not a string")
    return value


def _numbers(record: Mapping[str, Any], name: str) -> tuple[float, ...]:
    values = record.get(name)
    if not isinstance(values, list):
        raise FeedbackEventError(f"{name} is not a list")
    if not all(type(v) in (int, float) and math.isfinite(v) for v in values):
        raise FeedbackEventError(f"{name} holds something other than finite numbers")
    return tuple(float(v) for v in values)
