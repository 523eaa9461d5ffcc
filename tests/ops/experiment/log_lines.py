"""The function's log lines as Powertools writes them (one JSON object each, its extra fields at
the top level): request records, and feedback on labelled observations with a known difference
between the two models."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from torchlambda.contract import CHAMPION, SERVICE_NAME, ExperimentMode, Variant
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE, FeedbackEvent
from torchlambda.experiment.request_record import RequestRecord

CHAMPION_VERSION = "0123456789ab"
CHALLENGER_VERSION = "fedcba987654"
LABEL_NOISE = 0.5  # how far the true y lies from the line both models learn


def powertools_line(message: str, fields: dict[str, Any], level: str = "INFO") -> str:
    return json.dumps(
        {
            "level": level,
            "location": "handler:42",
            "message": message,
            "timestamp": "2026-11-21 10:00:00,000+0000",
            "service": SERVICE_NAME,
            "xray_trace_id": "1-00000000-000000000000000000000000",
            **fields,
        }
    )


@dataclass(frozen=True)
class Labelled:
    """Labelled observations and what each model predicted for them."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    champion_y: NDArray[np.float64]
    challenger_y: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.y.size)


def labelled(
    seed: int,
    n: int,
    *,
    champion_bias: float = 0.0,
    champion_noise: float = 0.0,
    challenger_bias: float = 0.0,
    challenger_noise: float = 0.0,
) -> Labelled:
    """y = 2x + 1 + N(0, LABEL_NOISE); each model predicts the line, shifted by its bias and
    blurred by its own noise. The true MSE difference is (champion_bias^2 + champion_noise^2) -
    (challenger_bias^2 + challenger_noise^2)."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-2, 2, n)
    line = 2 * x + 1
    return Labelled(
        x=x,
        y=line + generator.normal(0, LABEL_NOISE, n),
        champion_y=line + champion_bias + generator.normal(0, champion_noise, n),
        challenger_y=line + challenger_bias + generator.normal(0, challenger_noise, n),
    )


def feedback_lines(
    data: Labelled,
    *,
    experiment: ExperimentMode = "shadow",
    champion_version: str = CHAMPION_VERSION,
    challenger_version: str | None = CHALLENGER_VERSION,
    per_event: int = 100,
) -> list[str]:
    """The feedback log lines the function writes for `data`, `per_event` pairs a line."""
    lines = []
    for first in range(0, len(data), per_event):
        chunk = slice(first, first + per_event)
        event = FeedbackEvent(
            experiment=experiment if challenger_version else "none",
            request_id=f"request-{first}",
            champion_version=champion_version,
            challenger_version=challenger_version,
            x=tuple(data.x[chunk].tolist()),
            y=tuple(data.y[chunk].tolist()),
            champion_y=tuple(data.champion_y[chunk].tolist()),
            challenger_y=tuple(data.challenger_y[chunk].tolist()) if challenger_version else None,
        )
        lines.append(powertools_line(FEEDBACK_MESSAGE, event.fields()))
    return lines


def served(
    variant: Variant,
    latency_ms: float | None,
    *,
    experiment: ExperimentMode = "split",
    predictions: int = 1,
    challenger_version: str | None = CHALLENGER_VERSION,
    **outcome: object,
) -> RequestRecord:
    """One /predict request's record; `outcome` adds error_code, challenger_failure or shadow."""
    return RequestRecord(
        request_id="r",
        route="/predict",
        status=200 if "error_code" not in outcome else 400,
        experiment=experiment,
        variant=variant,
        model_version=CHAMPION_VERSION if variant == CHAMPION else CHALLENGER_VERSION,
        champion_version=CHAMPION_VERSION,
        challenger_version=challenger_version,
        predictions=predictions,
        latency_ms=latency_ms,
        **outcome,  # type: ignore[arg-type]
    )


def request_line(record: RequestRecord) -> str:
    level = "INFO" if record.error_code is None else "WARNING"
    return powertools_line("request served", record.fields(), level)
