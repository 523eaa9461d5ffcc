"""The models one function version serves, and which of them answers a request.

No experiment: the champion answers. Shadow: the champion answers; the challenger then predicts the
same input tensor (built once), its outputs compared but never returned. Split: the request's
assigned variant answers. A challenger fault, of any kind, never reaches the caller: in shadow it is
recorded beside the champion's answer; in split the champion answers instead and the fault is
recorded. The champion's own faults propagate as they always have.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from torchlambda.contract import CHALLENGER, CHAMPION, ExperimentMode, Variant
from torchlambda.experiment.assignment import Assignment
from torchlambda.experiment.request_record import MAX_LOGGED_OUTPUTS, ShadowRun
from torchlambda.inference import Predictor, batch_of

MAX_FAILURE_CHARS = 200


@dataclass(frozen=True)
class ServingModel:
    predictor: Predictor
    version: str


@dataclass(frozen=True)
class Served:
    """One answer: what the caller gets, and what the experiment saw on the way."""

    ys: list[float]
    variant: Variant
    model_version: str
    latency_ms: float
    challenger_failure: str | None = None  # split: the challenger failed; the champion answered
    shadow: ShadowRun | None = None


@dataclass(frozen=True)
class Scored:
    """Feedback's x, scored by every model the function serves."""

    champion_y: list[float]
    challenger_y: list[float] | None  # None: no challenger, or it failed (challenger_failure)
    challenger_failure: str | None = None


class Variants:
    def __init__(
        self,
        mode: ExperimentMode,
        champion: ServingModel,
        challenger: ServingModel | None = None,
        *,
        split_weight: float = 0.0,
        sticky_header: str = "",
    ) -> None:
        if (mode == "none") != (challenger is None):
            raise ValueError(f"experiment {mode} with challenger {challenger}")
        self.mode = mode
        self.champion = champion
        self.challenger = challenger
        self.sticky_header = sticky_header
        self._assignment = (
            Assignment(split_weight, challenger.version)
            if mode == "split" and challenger is not None
            else None
        )

    @property
    def challenger_version(self) -> str | None:
        return None if self.challenger is None else self.challenger.version

    def variant_for(self, headers: dict[str, str], request_id: str) -> Variant:
        """Split: by the sticky header's value, else the request id; otherwise the champion."""
        if self._assignment is None:
            return CHAMPION
        return self._assignment.variant(headers.get(self.sticky_header) or request_id)

    def version_of(self, variant: Variant) -> str:
        if variant == CHALLENGER and self.challenger is not None:
            return self.challenger.version
        return self.champion.version

    def predict(self, values: Sequence[float], variant: Variant) -> Served:
        batch = batch_of(values)
        challenger_failure = None
        if variant == CHALLENGER and self.challenger is not None:
            try:
                ys, latency_ms = _timed(self.challenger.predictor, batch)
                return Served(ys, CHALLENGER, self.challenger.version, latency_ms)
            except Exception as fault:  # any challenger fault: the champion answers
                challenger_failure = describe(fault)
        started = time.perf_counter()
        result = self.champion.predictor.forward(batch)
        ys = Predictor.outputs(result)
        latency_ms = (time.perf_counter() - started) * 1e3
        shadow = None
        if self.mode == "shadow":
            shadow = self._shadow(batch, result, ys)
        return Served(ys, CHAMPION, self.champion.version, latency_ms, challenger_failure, shadow)

    def _shadow(self, batch: torch.Tensor, answered: torch.Tensor, ys: list[float]) -> ShadowRun:
        assert self.challenger is not None  # shadow mode has one
        started = time.perf_counter()
        try:
            result = self.challenger.predictor.forward(batch)
            # Checked and compared in torch: no list of outputs unless it is short enough to log.
            Predictor.check_finite(result)
            difference = float(torch.dist(result, answered, p=float("inf")))
            challenger_y = result.tolist() if len(ys) <= MAX_LOGGED_OUTPUTS else None
        except Exception as fault:  # a shadow fault is recorded, never raised
            return ShadowRun(latency_ms=None, failure=describe(fault), max_abs_diff=None)
        latency_ms = (time.perf_counter() - started) * 1e3
        logged = challenger_y is not None
        return ShadowRun(
            latency_ms=latency_ms,
            failure=None,
            max_abs_diff=difference,
            champion_y=ys if logged else None,
            challenger_y=challenger_y,
        )

    def score(self, values: Sequence[float]) -> Scored:
        """Every model's predictions for feedback's x; the champion's faults propagate."""
        batch = batch_of(values)
        champion_y = self.champion.predictor.predict_batch(batch)
        if self.challenger is None:
            return Scored(champion_y, None)
        try:
            return Scored(champion_y, self.challenger.predictor.predict_batch(batch))
        except Exception as fault:  # still the champion's feedback to record
            return Scored(champion_y, None, describe(fault))


def _timed(predictor: Predictor, batch: torch.Tensor) -> tuple[list[float], float]:
    started = time.perf_counter()
    ys = predictor.predict_batch(batch)
    return ys, (time.perf_counter() - started) * 1e3


def describe(fault: Exception) -> str:
    """One short line for the log: the fault's type and the start of its message."""
    return f"{type(fault).__name__}: {str(fault)[:MAX_FAILURE_CHARS]}"
