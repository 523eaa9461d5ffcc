"""Property: whatever arrives, the handler answers 2xx or 4xx with strict JSON, and never raises."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import http_event
from torchlambda.function import Function

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)
PATHS = st.sampled_from(["/predict", "/health", "/", "/predict/", "/dev/predict"]) | st.text(
    max_size=20
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]) | st.text(max_size=8)
CHECKS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_well_formed(response: Any) -> None:
    assert isinstance(response, dict)
    assert 200 <= response["statusCode"] < 300 or 400 <= response["statusCode"] < 500, response
    assert response["headers"]["content-type"] == "application/json"
    assert response["headers"]["x-model-version"]
    body = json.loads(
        response["body"], parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name))
    )
    assert isinstance(body, dict)
    if response["statusCode"] >= 400:
        assert set(body["error"]) == {"code", "message"}
    assert "Traceback" not in response["body"]


def call(function: Function, event: Any) -> Any:
    return function(event, LocalContext())


@CHECKS
@given(event=JSON_VALUES)
def test_arbitrary_events(function: Function, event: Any) -> None:
    assert_well_formed(call(function, event))


@CHECKS
@given(x=st.text(max_size=80))
def test_arbitrary_query_strings(function: Function, x: str) -> None:
    assert_well_formed(call(function, http_event("GET", f"/predict?x={quote(x)}")))
    assert_well_formed(call(function, {"queryStringParameters": {"x": x}}))


@CHECKS
@given(x=JSON_VALUES, raw=st.binary(max_size=200), encode=st.booleans())
def test_arbitrary_bodies(function: Function, x: Any, raw: bytes, encode: bool) -> None:
    content_type = "application/octet-stream" if encode else "application/json"
    document = json.dumps({"x": x}).encode()
    assert_well_formed(call(function, http_event("POST", "/predict", document, content_type)))
    assert_well_formed(call(function, http_event("POST", "/predict", raw, content_type)))


HTTP_EVENTS = st.fixed_dictionaries(
    {
        "method": METHODS,
        "path": PATHS,
        "query": st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
        "body": st.one_of(st.none(), st.text(max_size=50)),
        "is_base64": st.booleans(),
        "stage": st.sampled_from(["$default", "dev", ""]) | st.text(max_size=5),
    }
)


@CHECKS
@given(parts=HTTP_EVENTS)
def test_arbitrary_http_events(function: Function, parts: dict[str, Any]) -> None:
    event = http_event("GET", "/")
    event["requestContext"]["http"]["method"] = parts["method"]
    event["requestContext"]["stage"] = parts["stage"]
    event["rawPath"] = parts["path"]
    event["queryStringParameters"] = parts["query"]
    body, is_base64 = parts["body"], parts["is_base64"]
    event["body"] = (
        base64.b64encode(body.encode()).decode() if body is not None and is_base64 else body
    )
    event["isBase64Encoded"] = is_base64
    assert_well_formed(call(function, event))
