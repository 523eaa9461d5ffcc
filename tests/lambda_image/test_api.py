"""The API table of docs/api.md, through the handler, with a fixture model."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.lambda_image.conftest import http_event
from tests.lambda_image.lambda_models import reference_prediction
from torchlambda.function import Function

Invoke = Callable[[Any], dict[str, Any]]
AnsweringDir = Callable[[dict[str, Any]], Path]


def body_of(response: dict[str, Any]) -> Any:
    assert response["headers"]["content-type"] == "application/json"
    return json.loads(response["body"], parse_constant=lambda name: pytest.fail(f"{name} in body"))


def test_get_predict(invoke: Invoke, answering_dir: AnsweringDir, function: Function) -> None:
    response = invoke(http_event("GET", "/predict?x=42"))
    assert response["statusCode"] == 200
    body = body_of(response)
    assert set(body) == {"x", "y", "model_version", "variant"}
    assert body["x"] == 42.0
    expected = reference_prediction(answering_dir(response), [42.0])[0]
    assert body["y"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert body["variant"] == response["headers"]["x-model-variant"]
    version = function.variants.version_of(body["variant"])
    assert body["model_version"] == version == response["headers"]["x-model-version"]


@pytest.mark.parametrize(
    "raw", ["42", "-1.5", "+3", ".5", "5.", "2e3", "-7.25E-2", "1000000", "-1e6"]
)
def test_get_predict_accepts_plain_decimals(invoke: Invoke, raw: str) -> None:
    response = invoke(http_event("GET", f"/predict?x={raw.replace('+', '%2B')}"))
    assert response["statusCode"] == 200
    assert body_of(response)["x"] == float(raw)


def test_post_predict_list(invoke: Invoke, answering_dir: AnsweringDir) -> None:
    xs = [1, 2.5, 3]
    response = invoke(http_event("POST", "/predict", json.dumps({"x": xs}).encode()))
    body = body_of(response)
    assert set(body) == {"y", "model_version", "variant"}
    expected = reference_prediction(answering_dir(response), [1.0, 2.5, 3.0])
    assert body["y"] == pytest.approx(expected, rel=1e-5)


def test_post_predict_scalar_in_scalar_out(invoke: Invoke, answering_dir: AnsweringDir) -> None:
    response = invoke(http_event("POST", "/predict", b'{"x": 42}'))
    body = body_of(response)
    assert isinstance(body["y"], float)
    expected = reference_prediction(answering_dir(response), [42.0])[0]
    assert body["y"] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_post_predict_full_batch(invoke: Invoke) -> None:
    xs = [i / 10 for i in range(10_000)]
    response = invoke(http_event("POST", "/predict", json.dumps({"x": xs}).encode()))
    assert response["statusCode"] == 200
    assert len(body_of(response)["y"]) == 10_000


def test_health(invoke: Invoke, function: Function) -> None:
    response = invoke(http_event("GET", "/health"))
    assert response["statusCode"] == 200
    assert body_of(response) == {
        "status": "ok",
        "model_version": function.model_version,
        "variant": "champion",
        "torch": "2.13.0",
        "experiment": function.variants.mode,
        "challenger_version": function.variants.challenger_version,
    }


def test_the_books_direct_invoke_event_is_get_predict(invoke: Invoke) -> None:
    # A sticky caller: under split both requests get the same variant, so the same answer.
    http = http_event("GET", "/predict?x=42")
    http["headers"]["x-user-id"] = "caller-1"
    book = {"queryStringParameters": {"x": 42}, "headers": http["headers"]}
    book_body = body_of(invoke(book))
    http_body = body_of(invoke(http))
    assert book_body == http_body


def test_named_stage_prefix_is_not_part_of_the_route(invoke: Invoke) -> None:
    event = http_event("GET", "/dev/health")
    event["requestContext"]["stage"] = "dev"
    assert invoke(event)["statusCode"] == 200


def test_a_non_finite_output_is_a_500_model_error() -> None:
    # Init refuses such a model (test_model_loading); the API must still never send NaN.
    from torchlambda.api import InferenceApi
    from torchlambda.experiment.variants import ServingModel, Variants
    from torchlambda.inference import Predictor
    from torchlambda.predictor.architecture import build_model

    module = build_model()
    with torch.no_grad():
        module[-1].bias.fill_(math.inf)
    variants = Variants("none", ServingModel(Predictor(module), "0" * 12))
    api = InferenceApi(variants, "2.13.0", max_abs_x=1e6)
    response = api.handle(http_event("GET", "/predict?x=1")).response
    assert response["statusCode"] == 500
    assert body_of(response)["error"]["code"] == "model_error"
