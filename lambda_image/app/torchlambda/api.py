"""The HTTP API: routes a parsed request to its answer. No AWS, logging or metrics in here.

``InferenceApi.handle`` never raises for anything a client can send: each refusal is an ApiError
turned into a 4xx, and the outcome says what happened so the caller can log and count it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torchlambda.contract import CHAMPION, FEEDBACK_PAIRS_PER_EVENT, ROUTES, Variant
from torchlambda.errors import ApiError, bad_request
from torchlambda.experiment.feedback import FeedbackEvent
from torchlambda.experiment.variants import Scored, Served, Variants
from torchlambda.http_responses import error_response, json_response
from torchlambda.inference import ModelOutputError
from torchlambda.request import Request, parse_event
from torchlambda.validation import in_domain, pairs_from_body, x_from_body, x_from_query

# Larger integers are logged by size: their digits are noise, and past 4,300 str() refuses them.
MAX_LOGGED_INT = 10**18


Answer = Callable[["Request", "Outcome"], dict[str, Any]]


@dataclass
class Outcome:
    """What one invocation did, for logs and metrics (never the request body)."""

    response: dict[str, Any]
    route: str = "unknown"
    request_id: str = ""
    variant: Variant = CHAMPION  # the variant assigned to the request
    predictions: int = 0
    batch_size: int | None = None
    x: float | str | None = None
    error: ApiError | None = None
    served: Served | None = None  # set once a model answered
    feedback: list[FeedbackEvent] = field(default_factory=list)
    feedback_failure: str | None = None  # the challenger failed to score the feedback's x


class InferenceApi:
    def __init__(self, variants: Variants, torch_version: str, max_abs_x: float) -> None:
        self.variants = variants
        self.torch_version = torch_version
        self.max_abs_x = max_abs_x
        # The routes table in contract names each route's method here: one table for the
        # gateway, this router, the local server and the smoke test.
        self._routes: dict[str, dict[str, Answer]] = {}
        for route in ROUTES:
            answer: Answer = getattr(self, route.operation)
            self._routes.setdefault(route.path, {})[route.method] = answer

    def handle(self, event: Any, request_id: str = "") -> Outcome:
        """Answer `event`; `request_id` (Lambda's) stands in when API Gateway gave none."""
        outcome = Outcome(response={}, request_id=request_id)
        try:
            request = parse_event(event)
            outcome.request_id = request.request_id or request_id
            outcome.variant = self.variants.variant_for(request.headers, outcome.request_id)
            methods = self._routes.get(request.path)
            if methods is None:
                raise ApiError(404, "not_found", "no such route; try GET /predict?x=42")
            outcome.route = request.path
            route = methods.get(request.method)
            if route is None:
                allowed = ", ".join(methods)
                message = f"{request.path} accepts {allowed}"
                raise ApiError(405, "method_not_allowed", message, allow=allowed)
            outcome.response = route(request, outcome)
        except ApiError as error:
            outcome.error = error
        except ModelOutputError as fault:
            outcome.error = ApiError(500, "model_error", str(fault))
        if outcome.error is not None:
            version = self.variants.version_of(outcome.variant)
            outcome.response = error_response(outcome.error, version, outcome.variant)
        return outcome

    def predict_one(self, request: Request, outcome: Outcome) -> dict[str, Any]:
        raw = request.query.get("x")
        outcome.x = _loggable(raw)
        if raw is None:
            raise bad_request("missing_x", "query parameter x is required, e.g. /predict?x=42")
        if isinstance(raw, str):
            x = x_from_query(raw, self.max_abs_x)
        elif type(raw) in (int, float):  # a direct invoke may pass a JSON number
            x = in_domain(raw, self.max_abs_x)
        else:
            raise bad_request("invalid_x", "x must be a number")
        outcome.x = x
        served = self._predict([x], outcome)
        return self._answer({"x": x, "y": served.ys[0]}, served)

    def predict_body(self, request: Request, outcome: Outcome) -> dict[str, Any]:
        values, scalar = x_from_body(request.text_body(), self.max_abs_x)
        outcome.batch_size = len(values)
        if scalar:
            outcome.x = values[0]
        served = self._predict(values, outcome)
        return self._answer({"y": served.ys[0] if scalar else served.ys}, served)

    def health(self, request: Request, outcome: Outcome) -> dict[str, Any]:
        variants = self.variants
        outcome.variant = CHAMPION  # the function's health, not a variant's answer
        payload = {
            "status": "ok",
            "model_version": variants.champion.version,
            "variant": CHAMPION,
            "torch": self.torch_version,
            "experiment": variants.mode,
            "challenger_version": variants.challenger_version,
        }
        return json_response(200, payload, variants.champion.version, CHAMPION)

    def feedback(self, request: Request, outcome: Outcome) -> dict[str, Any]:
        outcome.variant = CHAMPION  # feedback is scored by both models and answered by neither
        xs, ys = pairs_from_body(request.text_body(), self.max_abs_x)
        outcome.batch_size = len(xs)
        scored = self.variants.score(xs)
        outcome.feedback_failure = scored.challenger_failure
        outcome.feedback = feedback_events(self.variants, outcome.request_id, xs, ys, scored)
        version = self.variants.champion.version
        payload = {"recorded": len(xs), "model_version": version, "variant": CHAMPION}
        return json_response(200, payload, version, CHAMPION)

    def _predict(self, values: list[float], outcome: Outcome) -> Served:
        served = self.variants.predict(values, outcome.variant)
        outcome.served = served
        outcome.predictions = len(served.ys)
        return served

    @staticmethod
    def _answer(payload: dict[str, Any], served: Served) -> dict[str, Any]:
        payload["model_version"] = served.model_version
        payload["variant"] = served.variant
        return json_response(200, payload, served.model_version, served.variant)


def feedback_events(
    variants: Variants, request_id: str, xs: list[float], ys: list[float], scored: Scored
) -> list[FeedbackEvent]:
    """The labelled pairs as log events of at most FEEDBACK_PAIRS_PER_EVENT pairs each."""
    champion_y, challenger_y = scored.champion_y, scored.challenger_y
    challenger_version = None if challenger_y is None else variants.challenger_version
    size = FEEDBACK_PAIRS_PER_EVENT
    return [
        FeedbackEvent(
            experiment=variants.mode,
            request_id=request_id,
            champion_version=variants.champion.version,
            challenger_version=challenger_version,
            x=tuple(map(float, xs[start : start + size])),
            y=tuple(map(float, ys[start : start + size])),
            champion_y=tuple(champion_y[start : start + size]),
            challenger_y=None
            if challenger_y is None
            else tuple(challenger_y[start : start + size]),
        )
        for start in range(0, len(xs), size)
    ]


def _loggable(raw: Any) -> float | str | None:
    """x as it may appear in a log line: short, encodable, never a structure from the request."""
    if raw is None:
        return raw
    if type(raw) is float:
        return raw if math.isfinite(raw) else repr(raw)  # JSON logs have no NaN or Infinity
    if type(raw) is int:
        # Beyond Python's 4,300-digit limit str(int) raises; the magnitude is what matters.
        if abs(raw) <= MAX_LOGGED_INT:
            return raw
        return f"{'-' if raw < 0 else ''}integer of {raw.bit_length()} bits"
    if not isinstance(raw, str):
        return type(raw).__name__
    # A lone surrogate cannot be written as UTF-8: escape it, or the log line would be lost.
    return raw[:64].encode("utf-8", "backslashreplace").decode("utf-8")
