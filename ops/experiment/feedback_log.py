"""Feedback events as the report reads them: grouped by the pair of model versions that scored them,
and the pair the report compares chosen from them.

A log holds feedback from every experiment run in its window; only observations scored by the same
two versions can be compared, so the report compares one pair: the one with the newest event among
pairs that had a challenger (the current experiment), and says what it skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from torchlambda.contract import ExperimentMode
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE, FeedbackEvent, FeedbackEventError

# Labelled observations read at most: the bootstrap resamples them all 2,000 times (about 5 s at
# this size on two cores), and differences worth acting on are sized in thousands. Beyond it the
# oldest are kept (logs are read oldest first) and the report says so.
MAX_OBSERVATIONS = 200_000


@dataclass(frozen=True)
class VersionPair:
    champion: str
    challenger: str | None  # None: no experiment, or a challenger that failed to score it

    def describe(self) -> str:
        if self.challenger is None:
            return f"champion {self.champion} without a challenger"
        return f"champion {self.champion} and challenger {self.challenger}"


@dataclass
class PairFeedback:
    """One pair's feedback: the arrays are appended event by event, joined once chosen."""

    experiment: ExperimentMode
    events: int = 0
    observations: int = 0
    newest: float = float("-inf")  # when its newest event was logged
    y: list[NDArray[np.float64]] = field(default_factory=list)
    champion_y: list[NDArray[np.float64]] = field(default_factory=list)
    challenger_y: list[NDArray[np.float64]] = field(default_factory=list)

    def add(self, event: FeedbackEvent, when: float) -> None:
        self.events += 1
        self.observations += len(event.y)
        if when >= self.newest:
            self.newest, self.experiment = when, event.experiment
        self.y.append(np.array(event.y))
        self.champion_y.append(np.array(event.champion_y))
        if event.challenger_y is not None:
            self.challenger_y.append(np.array(event.challenger_y))


@dataclass(frozen=True)
class Selection:
    """The pair the report compares, its observations, and what else the log held."""

    pair: VersionPair
    experiment: ExperimentMode  # the mode of the pair's newest event
    events: int
    y: NDArray[np.float64]
    champion_y: NDArray[np.float64]
    challenger_y: NDArray[np.float64] | None  # None when the pair had no challenger
    skipped: tuple[tuple[VersionPair, int, int], ...]  # (pair, events, observations), newest first
    unreadable: int  # lines that claimed to be feedback and were not readable
    read_limit: int | None  # the bound on observations, once reached: later feedback was not read

    @property
    def observations(self) -> int:
        return int(self.y.size)


class FeedbackLog:
    """Feedback log lines, by version pair, up to MAX_OBSERVATIONS observations."""

    def __init__(self, max_observations: int | None = None) -> None:
        self.max_observations = MAX_OBSERVATIONS if max_observations is None else max_observations
        self.pairs: dict[VersionPair, PairFeedback] = {}
        self.observations = 0
        self.unreadable = 0
        self.truncated = False

    @property
    def full(self) -> bool:
        return self.observations >= self.max_observations

    def add_line(self, line: str, when: float) -> None:
        """Take a log line: a feedback event is kept, anything else ignored (the local server's
        log also holds plain text, and CloudWatch's filter may let other JSON through)."""
        record = json_record(line)
        if record is not None and record.get("message") == FEEDBACK_MESSAGE:
            self.add_record(record, when)

    def add_record(self, record: dict[str, Any], when: float) -> None:
        if self.full:
            self.truncated = True
            return
        try:
            event = FeedbackEvent.from_fields(record)
        except FeedbackEventError:
            self.unreadable += 1
            return
        pair = VersionPair(event.champion_version, event.challenger_version)
        self.pairs.setdefault(pair, PairFeedback(event.experiment)).add(event, when)
        self.observations += len(event.y)

    def select(self) -> Selection | None:
        """The newest pair with a challenger (else the newest without); None: no feedback."""
        if not self.pairs:
            return None
        by_recency = sorted(self.pairs.items(), key=lambda item: item[1].newest, reverse=True)
        with_challenger = [item for item in by_recency if item[0].challenger is not None]
        pair, chosen = (with_challenger or by_recency)[0]
        return Selection(
            pair=pair,
            experiment=chosen.experiment,
            events=chosen.events,
            y=np.concatenate(chosen.y),
            champion_y=np.concatenate(chosen.champion_y),
            challenger_y=np.concatenate(chosen.challenger_y) if chosen.challenger_y else None,
            skipped=tuple(
                (other, feedback.events, feedback.observations)
                for other, feedback in by_recency
                if other != pair
            ),
            unreadable=self.unreadable,
            read_limit=self.max_observations if self.truncated else None,
        )


def json_record(line: str) -> dict[str, Any] | None:
    """The JSON object a log line holds, or None for any other line."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
