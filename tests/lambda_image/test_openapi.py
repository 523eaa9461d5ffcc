"""The OpenAPI description (lambda_image/local/openapi.py): generated from the routes table, valid
OpenAPI 3.1, committed fresh in docs/openapi.json, and true to what the handler answers."""

from __future__ import annotations

import http.client
import json
import math
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import torch
from openapi_spec_validator import validate

from lambda_image.local import openapi, serve
from lambda_image.local.function import LocalContext
from lambda_image.local.gateway import NOT_FOUND
from lambda_image.local.refusals import ERROR_CODES, error_envelope
from tests.lambda_image.conftest import http_event, load_handler
from tests.lambda_image.test_bad_input import BODY_CASES, FEEDBACK_CASES, QUERY_CASES
from tests.lambda_image.test_local_server import running
from torchlambda.api import InferenceApi
from torchlambda.contract import MODEL_VARIANT_HEADER, MODEL_VERSION_HEADER, ROUTES, Route
from torchlambda.experiment.variants import ServingModel, Variants
from torchlambda.function import INTERNAL_ERROR
from torchlambda.inference import Predictor
from torchlambda.predictor.architecture import build_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
Invoke = Callable[[Any], dict[str, Any]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.document()


def test_docs_openapi_json_is_what_the_generator_writes() -> None:
    assert DOC.read_bytes() == openapi.render(), "docs/openapi.json is stale: run `make docs`"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises, naming the first fault
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_each_route_is_one_operation_named_and_summarized_by_the_table(
    document: dict[str, Any],
) -> None:
    described = {
        (method, path): (operation["operationId"], operation["summary"])
        for method, path, operation in operations(document)
    }
    assert len(described) == len(operations(document)) == len(ROUTES)
    assert described == {(r.method, r.path): (r.operation, r.summary) for r in ROUTES}
    operation_ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(set(operation_ids)) == len(operation_ids)


def test_the_description_serves_no_path_of_its_own(document: dict[str, Any]) -> None:
    # /openapi.json is the local server's, not a route of the API: not fuzzed, not deployed.
    assert openapi.DOCUMENT_PATH not in document["paths"]
    assert openapi.DOCUMENT_PATH in document["info"]["description"]


def test_a_route_without_a_description_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    route = Route("GET", "/explain", "explain", "Why y")
    monkeypatch.setattr(openapi, "ROUTES", (*ROUTES, route))
    with pytest.raises(KeyError, match=r"GET /explain \(explain\).*add it to OPERATIONS"):
        openapi.document()


# ---- The description against the handler's real answers ----------------------------------------


def resolved(document: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """`item`, or what its local $ref ("#/components/...") points at."""
    if "$ref" not in item:
        return item
    target: Any = document
    for key in item["$ref"].removeprefix("#/").split("/"):
        target = target[key]
    return dict(target)


def conforms(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Validate `instance` against `schema`, a part of `document` whose $refs point into it."""
    root = {**schema, "components": document["components"]}
    jsonschema_rs.Draft202012Validator(root).validate(instance)


def check_answer(
    document: dict[str, Any], method: str, path: str, response: dict[str, Any]
) -> str | None:
    """Check a handler response against the operation's description; its error code, if any."""
    responses = document["paths"][path][method.lower()]["responses"]
    status = str(response["statusCode"])
    assert status in responses, f"{method} {path} answered an undocumented {status}"
    described = resolved(document, responses[status])
    (media_type,) = described["content"]
    assert response["headers"]["content-type"] == media_type
    body = json.loads(response["body"])
    conforms(document, described["content"][media_type]["schema"], body)
    for name in (MODEL_VERSION_HEADER, MODEL_VARIANT_HEADER):
        conforms(document, described["headers"][name]["schema"], response["headers"][name])
    return body["error"]["code"] if "error" in body else None


def broken_model_api() -> InferenceApi:
    """An API whose model gives infinity, which init would refuse: the model_error path."""
    module = build_model()
    last = module[-1]
    assert isinstance(last, torch.nn.Linear) and last.bias is not None
    with torch.no_grad():
        last.bias.fill_(math.inf)
    return InferenceApi(Variants("none", ServingModel(Predictor(module), "0" * 12)), "2.13.0", 1e6)


def test_the_function_answers_only_what_the_description_says_and_all_of_it(
    document: dict[str, Any], invoke: Invoke, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = [
        ("GET", "/predict?x=42", b""),
        ("POST", "/predict", b'{"x": [1, 2.5, 3], "note": "ignored"}'),
        ("POST", "/predict", b'{"x": 42}'),
        ("GET", "/health", b""),
        ("POST", "/feedback", b'{"x": 1, "y": 2.5}'),
        ("POST", "/feedback", b'{"pairs": [{"x": 1, "y": 2.5}, {"x": 2, "y": 4}]}'),
        *(("GET", target, b"") for _, target, _, _ in QUERY_CASES),
        *(("POST", "/predict", body) for _, body, _, _ in BODY_CASES),
        *(("POST", "/feedback", body) for _, body, _, _ in FEEDBACK_CASES),
    ]
    seen: dict[tuple[str, str, int], set[str]] = {}

    def record(method: str, path: str, response: dict[str, Any]) -> None:
        code = check_answer(document, method, path, response)
        if code is not None:
            seen.setdefault((method, path, response["statusCode"]), set()).add(code)

    for method, target, body in requests:
        record(method, target.partition("?")[0], invoke(http_event(method, target, body)))
    broken = broken_model_api()
    for method, target, body in [*requests[:2], requests[4]]:
        event = http_event(method, target, body)
        record(method, target.partition("?")[0], broken.handle(event).response)
    faulty = load_handler(model_dir, POWERTOOLS_METRICS_DISABLED="true")  # its own, to break
    monkeypatch.setattr(faulty.api, "handle", lambda *_: 1 / 0)  # a fault of ours
    for route in ROUTES:
        event = http_event(route.method, route.path)
        record(route.method, route.path, faulty(event, LocalContext()))

    described = {
        (route.method, route.path, int(status)): set(codes)
        for route in ROUTES
        for status, codes in openapi.OPERATIONS[route.operation].refusals.items()
    }
    assert seen == described
    assert INTERNAL_ERROR.code in openapi.MODEL_FAULTS


def test_the_gateways_own_answers_are_described(document: dict[str, Any]) -> None:
    not_found = document["components"]["responses"]["NotFound"]["content"]
    conforms(
        document, not_found[NOT_FOUND.headers["content-type"]]["schema"], json.loads(NOT_FOUND.body)
    )
    for method, path, operation in operations(document):
        for status, code in ERROR_CODES.items():
            described = resolved(document, operation["responses"][str(status.value)])
            envelope = json.loads(error_envelope(status, "refused"))
            assert envelope["error"]["code"] == code
            conforms(document, described["content"][openapi.JSON]["schema"], envelope)
            # The gateway's refusals carry no model version: the header cannot be required.
            header = described.get("headers", {}).get(MODEL_VERSION_HEADER, {})
            assert not header.get("required"), (method, path, status)


# ---- python -m lambda_image.local.openapi ------------------------------------------------------


def test_out_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "openapi.json"
    assert openapi.main(["--out", str(target)]) == 0
    assert target.read_bytes() == openapi.render()
    assert openapi.main(["--check", str(target)]) == 0


@pytest.mark.parametrize("content", [None, b"{}\n"], ids=["missing", "stale"])
def test_check_fails_in_one_line_naming_make_docs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    target = tmp_path / "openapi.json"
    if content is not None:
        target.write_bytes(content)
    assert openapi.main(["--check", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "make docs" in err, err


# ---- make serve's GET /openapi.json ------------------------------------------------------------


class NoFunction(serve.GatewayHandler):
    """The local server's gateway with a function that must not be called."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def address() -> Iterator[tuple[str, int]]:
    def function(event: Any, context: Any) -> dict[str, Any]:
        raise AssertionError(f"the function was called for {event['rawPath']}")

    NoFunction.function = staticmethod(function)
    with running(NoFunction, serve.LocalGateway) as address:
        yield address


def exchange(address: tuple[str, int], method: str, target: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request(method, target)
        with connection.getresponse() as reply:
            return reply.status, reply.getheader("content-type", ""), reply.read()
    finally:
        connection.close()


@pytest.mark.integration  # a server on a socket
def test_make_serve_serves_the_document_itself(address: tuple[str, int]) -> None:
    assert exchange(address, "GET", openapi.DOCUMENT_PATH) == (200, openapi.JSON, openapi.render())
    assert exchange(address, "GET", f"{openapi.DOCUMENT_PATH}?v=1")[0] == HTTPStatus.OK
    # Only GET, as for the routes: anything else is the gateway's 404, as API Gateway would say.
    for method in ("HEAD", "POST", "PUT"):
        status, _, body = exchange(address, method, openapi.DOCUMENT_PATH)
        assert status == NOT_FOUND.status and body in (b"", NOT_FOUND.body), method
