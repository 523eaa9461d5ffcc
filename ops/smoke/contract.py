"""Smoke test of a deployed (or local) inference API against the HTTP contract (docs/api.md).

What it requests comes from the routes table and the limits in torchlambda.contract: each route's
method and path, a request past the batch limit, and the requests no route takes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ops.smoke.http_client import BrokenResponse, HttpClient, Response
from torchlambda.contract import (
    DEFAULT_MAX_ABS_X,
    MAX_BATCH,
    MODEL_VARIANT_HEADER,
    MODEL_VERSION_HEADER,
    MODEL_VERSION_LENGTH,
    ROUTES,
    Route,
    route_paths,
)

ROUTE_FOR = {route.operation: route for route in ROUTES}
HEALTH = ROUTE_FOR["health"]
PREDICT_ONE = ROUTE_FOR["predict_one"]  # x in the query string
PREDICT_BODY = ROUTE_FOR["predict_body"]  # x, or a list of them, in a JSON body
FEEDBACK = ROUTE_FOR["feedback"]  # labelled pairs
PROBE_X = 42.0
BATCH = [1.0, 2.5, 3.0, PROBE_X]
RELATIVE_TOLERANCE = 1e-5  # the same input must give the same output, batched or not

# Inputs the handler must refuse with this status (a selection of docs/api.md's error table).
BAD_QUERIES = {
    "": 400,  # no query string
    "x=abc": 400,
    "x=nan": 400,
    "x=1e309": 400,
    "x=1%2C2": 400,  # "1,2": what the gateway makes of a repeated x
    "x=%201": 400,
    f"x={2 * DEFAULT_MAX_ABS_X:.0f}": 400,  # beyond the default domain
}
BAD_BODIES = {
    b"not json": 400,
    b'{"x": []}': 400,
    b'{"x": true}': 400,
    b'{"x": [[1]]}': 400,
    b"[1, 2]": 400,
    json.dumps({"x": [0.5] * (MAX_BATCH + 1)}).encode(): 413,
}
# Feedback is checked with refusals only: a smoke test's made-up labels must never enter the
# observations an experiment is judged on.
BAD_FEEDBACK = {
    b'{"x": 1}': 400,
    b'{"x": 1, "y": "2"}': 400,
    b'{"pairs": []}': 400,
    json.dumps({"pairs": [{"x": 1, "y": 1}] * (MAX_BATCH + 1)}).encode(): 413,
}
UNROUTED_PATH = "/no-such-route"
# Methods a client may well try; the first one a path has no route for probes that path.
TRIED_METHODS = ("GET", "POST", "PUT", "DELETE")


def route_label(route: Route) -> str:
    return f"{route.method} {route.path}"


def unrouted_requests() -> list[tuple[str, str]]:
    """A path no route names, and each routed path with a method the table has no route for."""
    requests = [("GET", UNROUTED_PATH)]
    for path, methods in route_paths().items():
        requests.append((next(m for m in TRIED_METHODS if m not in methods), path))
    return requests


class ContractViolation(Exception):
    """A response broke the contract; the message says which rule."""


@dataclass
class SmokeReport:
    passed: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # Each variant's version, as answers gave them (a split experiment answers with two).
    model_versions: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


def strict_json(response: Response) -> Any:
    def refuse(constant: str) -> None:
        raise ContractViolation(f"body contains {constant}, which is not strict JSON")

    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise ContractViolation(f"Content-Type is {content_type!r}, not application/json")
    try:
        return json.loads(response.body, parse_constant=refuse)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ContractViolation(f"body is not JSON: {response.body[:80]!r}") from None


def finite_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ContractViolation(f"{what} is {value!r}, not a finite number")
    return float(value)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-6)


class SmokeTest:
    def __init__(self, client: HttpClient, latency_requests: int = 50) -> None:
        self.client = client
        self.latency_requests = latency_requests
        self.report = SmokeReport()
        # y(PROBE_X) from GET by the variant that answered, to compare batch and scalar with.
        self.probe_y: dict[str, float] = {}

    def run(self) -> SmokeReport:
        for name, check in self._checks():
            try:
                detail = check()
            except ContractViolation as violation:
                self.report.violations.append(f"{name}: {violation}")
            else:
                self.report.passed.append(f"{name}: {detail}" if detail else name)
        return self.report

    def _checks(self) -> Iterator[tuple[str, Callable[[], str]]]:
        yield route_label(HEALTH), self.check_health
        yield f"{route_label(PREDICT_ONE)}?x={PROBE_X:g}", self.check_get_predict
        yield f"{route_label(PREDICT_BODY)} batch of {len(BATCH)}", self.check_batch
        yield f"{route_label(PREDICT_BODY)} scalar", self.check_scalar
        for query, status in BAD_QUERIES.items():
            target = f"?{query}" if query else " (no query)"
            yield (
                f"{route_label(PREDICT_ONE)}{target} -> {status}",
                partial(self.check_refused, PREDICT_ONE, status, query=query),
            )
        for route, bodies in ((PREDICT_BODY, BAD_BODIES), (FEEDBACK, BAD_FEEDBACK)):
            for body, status in bodies.items():
                label = body[:24].decode() + ("..." if len(body) > 24 else "")
                yield (
                    f"{route_label(route)} {label} -> {status}",
                    partial(self.check_refused, route, status, body=body),
                )
        for method, path in unrouted_requests():
            yield f"{method} {path} -> 404", partial(self.check_unrouted, method, path)
        yield f"latency over {self.latency_requests} requests", self.check_latency

    # -- the contract, one rule per helper --------------------------------------------------------

    def _request(
        self, method: str, path: str, query: str = "", body: bytes | None = None
    ) -> Response:
        try:
            response = self.client.request(method, path, query=query, body=body)
        except BrokenResponse as broken:
            # This check fails; the next one starts on a new connection.
            raise ContractViolation(str(broken)) from None
        if 300 <= response.status < 400:
            # Following it would send the request, and its signature, to wherever it points.
            location = response.headers.get("location", "nowhere (no Location header)")
            raise ContractViolation(
                f"redirected ({response.status}) to {location}; not followed, "
                "credentials never leave the API's host"
            )
        return response

    def _ok(self, response: Response) -> tuple[dict[str, Any], str]:
        """The body of a 200, and the variant that answered it."""
        if response.status != 200:
            raise ContractViolation(
                f"status {response.status}, expected 200: {response.body[:160]!r}"
            )
        body = strict_json(response)
        if not isinstance(body, dict):
            raise ContractViolation(f"body is {type(body).__name__}, expected an object")
        variant = self._check_version(response, body.get("model_version"), body.get("variant"))
        return body, variant

    def _check_version(self, response: Response, in_body: Any, variant_in_body: Any) -> str:
        """The answering variant, once its headers agree with the body and with every earlier
        answer by the same variant."""
        header = response.headers.get(MODEL_VERSION_HEADER)
        variant = response.headers.get(MODEL_VARIANT_HEADER)
        if not header or not variant:
            raise ContractViolation(f"no {MODEL_VERSION_HEADER} or {MODEL_VARIANT_HEADER} header")
        if in_body is not None and in_body != header:
            raise ContractViolation(f"model_version {in_body!r} differs from header {header!r}")
        if variant_in_body is not None and variant_in_body != variant:
            raise ContractViolation(f"variant {variant_in_body!r} differs from header {variant!r}")
        seen = self.report.model_versions.setdefault(variant, header)
        if header != seen:
            raise ContractViolation(
                f"{variant} version {header!r} differs from {seen!r} seen before"
            )
        return variant

    def _predict_one(self, x: float) -> tuple[float, str]:
        body, variant = self._ok(
            self._request(PREDICT_ONE.method, PREDICT_ONE.path, query=f"x={x:g}")
        )
        if finite_number(body.get("x"), "x") != x:
            raise ContractViolation(f"x is {body.get('x')!r}, expected {x}")
        return finite_number(body.get("y"), "y"), variant

    def _compare_with_probe(self, value: float, variant: str, how: str) -> None:
        probe = self.probe_y.get(variant)
        if probe is not None and not close(value, probe):
            raise ContractViolation(f"{how} y({PROBE_X:g})={value} differs from GET's {probe}")

    def check_health(self) -> str:
        body, _ = self._ok(self._request(HEALTH.method, HEALTH.path))
        if body.get("status") != "ok":
            raise ContractViolation(f"status is {body.get('status')!r}, expected 'ok'")
        version = body.get("model_version")
        if not (isinstance(version, str) and len(version) == MODEL_VERSION_LENGTH):
            raise ContractViolation(f"model_version {version!r} is not {MODEL_VERSION_LENGTH} hex")
        try:
            int(version, 16)
        except ValueError:
            raise ContractViolation(f"model_version {version!r} is not hexadecimal") from None
        experiment = body.get("experiment", "none")
        return f"model {version}, torch {body.get('torch')}, experiment {experiment}"

    def check_get_predict(self) -> str:
        y, variant = self._predict_one(PROBE_X)
        self.probe_y[variant] = y
        return f"y={y:.6g} ({variant})"

    def check_batch(self) -> str:
        body, variant = self._ok(self._post({"x": BATCH}))
        ys = body.get("y")
        if not isinstance(ys, list) or len(ys) != len(BATCH):
            raise ContractViolation(f"y is {ys!r}, expected a list of {len(BATCH)} numbers")
        values = [finite_number(y, f"y[{i}]") for i, y in enumerate(ys)]
        self._compare_with_probe(values[-1], variant, "batched")
        return "y=[" + ", ".join(f"{v:.4g}" for v in values) + f"] ({variant})"

    def check_scalar(self) -> str:
        body, variant = self._ok(self._post({"x": PROBE_X}))
        y = body.get("y")
        if isinstance(y, list):
            raise ContractViolation("a scalar x must give a scalar y, got a list")
        value = finite_number(y, "y")
        self._compare_with_probe(value, variant, "scalar")
        return f"y={value:.6g} ({variant})"

    def check_refused(
        self, route: Route, status: int, query: str = "", body: bytes | None = None
    ) -> str:
        response = self._request(route.method, route.path, query=query, body=body)
        text = response.body.decode("utf-8", "replace")
        if "Traceback" in text:
            raise ContractViolation(f"status {response.status} with a traceback in the body")
        if response.status != status:
            raise ContractViolation(f"status {response.status}, expected {status}: {text[:160]!r}")
        error = strict_json(response)
        error = error.get("error") if isinstance(error, dict) else None
        if not (
            isinstance(error, dict)
            and isinstance(error.get("code"), str)
            and isinstance(error.get("message"), str)
        ):
            raise ContractViolation(f"body is not {{'error': {{code, message}}}}: {text[:160]!r}")
        self._check_version(response, None, None)
        return str(error["code"])

    def check_unrouted(self, method: str, path: str) -> str:
        # API Gateway answers a request no route takes itself, 404 whatever the method (its own
        # body): the function never sees it, so no model version comes back.
        response = self._request(method, path)
        if response.status != 404:
            raise ContractViolation(f"status {response.status}, expected 404")
        if MODEL_VERSION_HEADER in response.headers:
            raise ContractViolation(
                "answered by the function, not the gateway: the API routes more than the table"
            )
        return str(response.status)

    def check_latency(self) -> str:
        for i in range(self.latency_requests):
            x = float(i % 100)
            response = self._request(PREDICT_ONE.method, PREDICT_ONE.path, query=f"x={x:g}")
            if response.status != 200:
                raise ContractViolation(f"request {i + 1} got status {response.status}")
            self.report.latencies.append(response.seconds)
        return f"all {self.latency_requests} answered 200"

    def _post(self, payload: Any) -> Response:
        return self._request(
            PREDICT_BODY.method, PREDICT_BODY.path, body=json.dumps(payload).encode()
        )
