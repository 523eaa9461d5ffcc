"""The request log line: what one request did, for the per-variant figures of the local report.

Every request logs one line (DEBUG when served without an experiment, INFO when served with one,
WARNING or ERROR when refused or failed) carrying these fields; `from_fields` reads one back.
Standard library only, like the feedback event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torchlambda.contract import CHALLENGER, CHAMPION, EXPERIMENT_MODES, ExperimentMode, Variant

VARIANTS: tuple[Variant, ...] = (CHAMPION, CHALLENGER)
MAX_LOGGED_OUTPUTS = 64  # a shadow request's outputs are logged in full up to this many x


@dataclass(frozen=True)
class ShadowRun:
    """The challenger's run beside the champion's answer (shadow mode)."""

    latency_ms: float | None  # None when it failed
    failure: str | None  # why it failed, or None
    max_abs_diff: float | None  # the largest |champion - challenger| over the request's x
    # Both models' outputs, logged side by side for requests of up to MAX_LOGGED_OUTPUTS x.
    champion_y: list[float] | None = None
    challenger_y: list[float] | None = None

    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "shadow_latency_ms": self.latency_ms,
            "shadow_failure": self.failure,
            "shadow_max_abs_diff": self.max_abs_diff,
        }
        if self.champion_y is not None and self.challenger_y is not None:
            fields["champion_y"] = self.champion_y
            fields["challenger_y"] = self.challenger_y
        return fields


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    route: str
    status: int
    experiment: ExperimentMode
    variant: Variant  # the model that answered (or would have: a refused request's assignment)
    model_version: str  # the answering model's version
    champion_version: str
    challenger_version: str | None
    predictions: int
    latency_ms: float | None  # the answering model's forward pass; None when none ran
    error_code: str | None = None
    challenger_failure: str | None = None  # split: the challenger failed, the champion answered
    shadow: ShadowRun | None = None

    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "request_id": self.request_id,
            "route": self.route,
            "status": self.status,
            "experiment": self.experiment,
            "variant": self.variant,
            "model_version": self.model_version,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "predictions": self.predictions,
            "latency_ms": self.latency_ms,
        }
        if self.error_code is not None:
            fields["error_code"] = self.error_code
        if self.challenger_failure is not None:
            fields["challenger_failure"] = self.challenger_failure
        if self.shadow is not None:
            fields.update(self.shadow.fields())
        return fields

    @classmethod
    def from_fields(cls, record: Mapping[str, Any]) -> RequestRecord | None:
        """The request a log line describes, or None for any other line."""
        variant, experiment = record.get("variant"), record.get("experiment")
        status = record.get("status")
        if variant not in VARIANTS or experiment not in EXPERIMENT_MODES or type(status) is not int:
            return None
        shadow = None
        if "shadow_failure" in record or "shadow_latency_ms" in record:
            shadow = ShadowRun(
                latency_ms=_number(record.get("shadow_latency_ms")),
                failure=_optional_text(record.get("shadow_failure")),
                max_abs_diff=_number(record.get("shadow_max_abs_diff")),
                champion_y=_numbers(record.get("champion_y")),
                challenger_y=_numbers(record.get("challenger_y")),
            )
        predictions = record.get("predictions")
        return cls(
            request_id=str(record.get("request_id", "")),
            route=str(record.get("route", "")),
            status=status,
            experiment=experiment,
            variant=variant,
            model_version=str(record.get("model_version", "")),
            champion_version=str(record.get("champion_version", "")),
            challenger_version=_optional_text(record.get("challenger_version")),
            predictions=predictions if type(predictions) is int else 0,
            latency_ms=_number(record.get("latency_ms")),
            error_code=_optional_text(record.get("error_code")),
            challenger_failure=_optional_text(record.get("challenger_failure")),
            shadow=shadow,
        )


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


def _numbers(value: Any) -> list[float] | None:
    if not isinstance(value, list) or not all(type(v) in (int, float) for v in value):
        return None
    return [float(v) for v in value]


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
