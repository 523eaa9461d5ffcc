"""Every bad input docs/api.md lists gets its 4xx with {"error": {"code", "message"}}."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.lambda_image.conftest import http_event

Invoke = Callable[[Any], dict[str, Any]]

QUERY_CASES = [
    ("no query string", "/predict", 400, "missing_x"),
    ("x=", "/predict?x=", 400, "missing_x"),
    ("X=1", "/predict?X=1", 400, "missing_x"),
    ("abc", "/predict?x=abc", 400, "invalid_x"),
    ("true", "/predict?x=true", 400, "invalid_x"),
    ("0x10", "/predict?x=0x10", 400, "invalid_x"),
    ("1,2 (repeated x joined)", "/predict?x=1&x=2", 400, "invalid_x"),
    ("nan", "/predict?x=nan", 400, "invalid_x"),
    ("NaN", "/predict?x=NaN", 400, "invalid_x"),
    ("inf", "/predict?x=inf", 400, "invalid_x"),
    ("-Infinity", "/predict?x=-Infinity", 400, "invalid_x"),
    ("1e309 overflows to inf", "/predict?x=1e309", 400, "out_of_range"),
    ("400 digits", "/predict?x=" + "9" * 400, 400, "invalid_x"),
    ("leading space", "/predict?x=%201", 400, "invalid_x"),
    ("trailing space", "/predict?x=1%20", 400, "invalid_x"),
    ("1_000", "/predict?x=1_000", 400, "invalid_x"),
    ("non-ASCII digit", "/predict?x=%D9%A1", 400, "invalid_x"),
    ("65 characters", "/predict?x=0." + "1" * 63, 400, "invalid_x"),
    ("beyond the domain", "/predict?x=1000000.5", 400, "out_of_range"),
    ("beyond the domain, negative", "/predict?x=-2e6", 400, "out_of_range"),
]

BODY_CASES = [
    ("invalid JSON", b'{"x": [1, 2', 400, "invalid_json"),
    ("NaN in JSON", b'{"x": NaN}', 400, "invalid_json"),
    ("Infinity in JSON", b'{"x": [1, Infinity]}', 400, "invalid_json"),
    ("deeply nested JSON", b"[" * 100_000, 400, "invalid_json"),
    ("body is a list", b"[1, 2]", 400, "invalid_body"),
    ("body is a string", b'"42"', 400, "invalid_body"),
    ("body is null", b"null", 400, "invalid_body"),
    ("no x key", b'{"y": 1}', 400, "invalid_body"),
    ("x is a bool", b'{"x": true}', 400, "invalid_x"),
    ("x is a string", b'{"x": "42"}', 400, "invalid_x"),
    ("x is null", b'{"x": null}', 400, "invalid_x"),
    ("x is an object", b'{"x": {"value": 1}}', 400, "invalid_x"),
    ("x is a nested list", b'{"x": [[1], [2]]}', 400, "invalid_x"),
    ("a bool inside the list", b'{"x": [1, false]}', 400, "invalid_x"),
    ("empty list", b'{"x": []}', 400, "empty_batch"),
    ("more than 10,000 items", json.dumps({"x": [1] * 10_001}).encode(), 413, "batch_too_large"),
    ("1e999 overflows to inf", b'{"x": 1e999}', 400, "out_of_range"),
    ("huge integer", b'{"x": [1, ' + b"9" * 400 + b"]}", 400, "out_of_range"),
    ("beyond the domain in a batch", b'{"x": [1, -1000001]}', 400, "out_of_range"),
    ("body over 1 MiB", b'{"x": [' + b"1," * 600_000 + b"1]}", 413, "payload_too_large"),
    ("no body", b"", 400, "invalid_body"),
]

FEEDBACK_CASES = [
    ("invalid JSON", b'{"x": 1, "y": ', 400, "invalid_json"),
    ("NaN in JSON", b'{"x": 1, "y": NaN}', 400, "invalid_json"),
    ("body is a list", b'[{"x": 1, "y": 2}]', 400, "invalid_body"),
    ("no y", b'{"x": 1}', 400, "invalid_body"),
    ("no x", b'{"y": 1}', 400, "invalid_body"),
    ("x is a string", b'{"x": "1", "y": 2}', 400, "invalid_x"),
    ("x is a list (use pairs)", b'{"x": [1, 2], "y": [3, 4]}', 400, "invalid_x"),
    ("y is a bool", b'{"x": 1, "y": true}', 400, "invalid_y"),
    ("y is null", b'{"x": 1, "y": null}', 400, "invalid_y"),
    ("y overflows to inf", b'{"x": 1, "y": 1e999}', 400, "out_of_range"),
    ("y a huge integer", b'{"x": 1, "y": ' + b"9" * 400 + b"}", 400, "out_of_range"),
    ("x beyond the domain", b'{"x": 1000001, "y": 2}', 400, "out_of_range"),
    ("pairs is an object", b'{"pairs": {"x": 1, "y": 2}}', 400, "invalid_body"),
    ("pairs is empty", b'{"pairs": []}', 400, "empty_batch"),
    ("a pair without y", b'{"pairs": [{"x": 1, "y": 2}, {"x": 3}]}', 400, "invalid_body"),
    ("a pair is a list", b'{"pairs": [[1, 2]]}', 400, "invalid_body"),
    ("a string x in pairs", b'{"pairs": [{"x": "1", "y": 2}]}', 400, "invalid_x"),
    ("a bool y in pairs", b'{"pairs": [{"x": 1, "y": false}]}', 400, "invalid_y"),
    (
        "an x beyond the domain",
        b'{"pairs": [{"x": 1, "y": 2}, {"x": -2e6, "y": 2}]}',
        400,
        "out_of_range",
    ),
    (
        "more than 10,000 pairs",
        json.dumps({"pairs": [{"x": 1, "y": 1}] * 10_001}).encode(),
        413,
        "batch_too_large",
    ),
    (
        "body over 1 MiB",
        b'{"pairs": [' + b'{"x":1,"y":1},' * 80_000 + b"]}",
        413,
        "payload_too_large",
    ),
    ("no body", b"", 400, "invalid_body"),
]


def assert_error(response: dict[str, Any], status: int, code: str) -> None:
    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == "application/json"
    assert response["headers"]["x-model-version"]
    assert response["headers"]["x-model-variant"] in {"champion", "challenger"}
    body = json.loads(response["body"])
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert "Traceback" not in response["body"]


@pytest.mark.parametrize(
    ("case", "target", "status", "code"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES]
)
def test_bad_query(invoke: Invoke, case: str, target: str, status: int, code: str) -> None:
    assert_error(invoke(http_event("GET", target)), status, code)


@pytest.mark.parametrize(
    ("case", "body", "status", "code"), BODY_CASES, ids=[c[0] for c in BODY_CASES]
)
def test_bad_body(invoke: Invoke, case: str, body: bytes, status: int, code: str) -> None:
    assert_error(invoke(http_event("POST", "/predict", body)), status, code)


@pytest.mark.parametrize(
    ("case", "body", "status", "code"), FEEDBACK_CASES, ids=[c[0] for c in FEEDBACK_CASES]
)
def test_bad_feedback(invoke: Invoke, case: str, body: bytes, status: int, code: str) -> None:
    assert_error(invoke(http_event("POST", "/feedback", body)), status, code)


def test_the_error_never_echoes_the_input(invoke: Invoke) -> None:
    secret = "sk-do-not-echo"
    response = invoke(http_event("POST", "/predict", json.dumps({"x": secret}).encode()))
    assert_error(response, 400, "invalid_x")
    assert secret not in response["body"]


def test_base64_body_is_decoded_then_validated(invoke: Invoke) -> None:
    good = invoke(http_event("POST", "/predict", b'{"x": [1, 2]}', "application/octet-stream"))
    assert good["statusCode"] == 200
    bad = invoke(http_event("POST", "/predict", b'{"x": "1"}', "application/octet-stream"))
    assert_error(bad, 400, "invalid_x")


def test_body_that_is_not_base64_or_not_utf8(invoke: Invoke) -> None:
    event = http_event("POST", "/predict", b'{"x": 1}')
    assert_error(
        invoke({**event, "isBase64Encoded": True, "body": "not base64!"}), 400, "invalid_body"
    )
    latin1 = base64.b64encode('{"x": "\u00e9"}'.encode("latin-1")).decode()
    assert_error(invoke({**event, "isBase64Encoded": True, "body": latin1}), 400, "invalid_body")


@pytest.mark.parametrize(
    ("method", "target", "status", "code"),
    [
        ("GET", "/", 404, "not_found"),
        ("GET", "/predictions", 404, "not_found"),
        ("PUT", "/predict", 405, "method_not_allowed"),
        ("DELETE", "/predict", 405, "method_not_allowed"),
        ("POST", "/health", 405, "method_not_allowed"),
        ("GET", "/feedback", 405, "method_not_allowed"),
    ],
)
def test_unknown_route_or_method(
    invoke: Invoke, method: str, target: str, status: int, code: str
) -> None:
    response = invoke(http_event(method, target))
    assert_error(response, status, code)
    if status == 405:
        assert response["headers"]["allow"]


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "GET /predict",
        42,
        {"requestContext": "x"},
        {"requestContext": {"http": {}}},
        {"queryStringParameters": ["x"]},
        {"queryStringParameters": {"x": True}},
        {"queryStringParameters": {"x": None}},
        {"queryStringParameters": {"x": {"a": 1}}},
    ],
    ids=repr,
)
def test_malformed_events_are_400(invoke: Invoke, event: Any) -> None:
    response = invoke(event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] in {"bad_event", "invalid_x", "missing_x"}
