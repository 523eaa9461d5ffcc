"""The HTTP API: routes a parsed request to its answer. No AWS, logging or metrics in here.

``InferenceApi.handle`` never raises for anything a client can send: each refusal is an ApiError
turned into a 4xx, and the outcome says what happened so the caller can log and count it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torchlambda.contract import ROUTES
from torchlambda.errors import ApiError, bad_request
from torchlambda.http_responses import error_response, json_response
from torchlambda.inference import ModelOutputError, Predictor
from torchlambda.request import Request, parse_event
from torchlambda.validation import in_domain, x_from_body, x_from_query

# Larger integers are logged by size: their digits are noise, and past 4,300 str() refuses them.
MAX_LOGGED_INT = 10**18


Answer = Callable[["Request", "Outcome"], dict[str, Any]]


@dataclass
class Outcome:
    """What one invocation did, for logs and metrics (never the request body)."""

    response: dict[str, Any]
    route: str = "unknown"
    predictions: int = 0
    batch_size: int | None = None
    x: float | str | None = None
    error: ApiError | None = None


class InferenceApi:
    def __init__(
        self, predictor: Predictor, model_version: str, torch_version: str, max_abs_x: float
    ) -> None:
        self.predictor = predictor
        self.model_version = model_version
        self.torch_version = torch_version
        self.max_abs_x = max_abs_x
        # The routes table in contract names each route's method here: one table for the
        # gateway, this router, the local server and the smoke test.
        self._routes: dict[str, dict[str, Answer]] = {}
        for route in ROUTES:
            answer: Answer = getattr(self, route.operation)
            self._routes.setdefault(route.path, {})[route.method] = answer

    def handle(self, event: Any) -> Outcome:
        outcome = Outcome(response={})
        try:
            request = parse_event(event)
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
            outcome.response = error_response(error, self.model_version)
        except ModelOutputError as fault:
            outcome.error = ApiError(500, "model_error", str(fault))
            outcome.response = error_response(outcome.error, self.model_version)
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
        (y,) = self.predictor.predict([x])
        outcome.predictions = 1
        return json_response(
            200, {"x": x, "y": y, "model_version": self.model_version}, self.model_version
        )

    def predict_body(self, request: Request, outcome: Outcome) -> dict[str, Any]:
        values, scalar = x_from_body(request.text_body(), self.max_abs_x)
        outcome.batch_size = len(values)
        if scalar:
            outcome.x = values[0]
        ys = self.predictor.predict(values)
        outcome.predictions = len(ys)
        y: float | list[float] = ys[0] if scalar else ys
        return json_response(200, {"y": y, "model_version": self.model_version}, self.model_version)

    def health(self, request: Request, outcome: Outcome) -> dict[str, Any]:
        payload = {"status": "ok", "model_version": self.model_version, "torch": self.torch_version}
        return json_response(200, payload, self.model_version)


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
