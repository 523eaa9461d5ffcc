"""Logs carry x and error codes but never bodies; EMF metrics carry counts and the model version."""

from __future__ import annotations

import json
import logging

import pytest

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import http_event
from torchlambda.function import Function


def emf_documents(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def test_predictions_are_counted_with_the_model_version(
    function: Function, capfd: pytest.CaptureFixture[str]
) -> None:
    function(http_event("POST", "/predict", b'{"x": [1, 2, 3]}'), LocalContext())
    documents = emf_documents(capfd.readouterr().out)
    served = [d for d in documents if "predictions" in d]
    assert served and served[-1]["predictions"] == [3.0] and served[-1]["batch_size"] == [3.0]
    answered = served[-1]["variant"]
    assert served[-1]["model_version"] == function.variants.version_of(answered)


def test_errors_are_counted_by_code(function: Function, capfd: pytest.CaptureFixture[str]) -> None:
    function(http_event("GET", "/predict?x=nan"), LocalContext())
    errors = [d for d in emf_documents(capfd.readouterr().out) if "errors" in d]
    assert errors and errors[-1]["error_code"] == "invalid_x"


def test_refusals_log_code_and_x_never_the_body(
    function: Function, caplog: pytest.LogCaptureFixture
) -> None:
    secret_body = json.dumps({"x": "abc", "password": "hunter2"}).encode()
    with caplog.at_level(logging.INFO):
        function(http_event("POST", "/predict", secret_body), LocalContext())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and warnings[-1].__dict__["error_code"] == "invalid_x"
    assert all("hunter2" not in str(r.__dict__) for r in caplog.records)


def test_successful_requests_log_x_at_debug_or_with_an_experiment_at_info(
    function: Function, caplog: pytest.LogCaptureFixture
) -> None:
    function.logger.setLevel(logging.DEBUG)
    try:
        function(http_event("GET", "/predict?x=7"), LocalContext())
    finally:
        function.logger.setLevel(logging.INFO)
    served = [r for r in caplog.records if r.getMessage() == "request served"]
    level = logging.DEBUG if function.variants.mode == "none" else logging.INFO
    assert served and served[-1].levelno == level and served[-1].__dict__["x"] == 7.0


@pytest.mark.parametrize(
    ("x", "logged"),
    [
        ("\ud800", "\\ud800"),  # a lone surrogate cannot be encoded as UTF-8
        (10**5000, "integer of 16610 bits"),  # str() refuses more than 4,300 digits
    ],
    ids=["lone surrogate", "5001 digits"],
)
def test_an_unprintable_x_still_gets_its_warning_line(
    function: Function, caplog: pytest.LogCaptureFixture, x: object, logged: str
) -> None:
    # A direct invoke can carry what no HTTP request can.
    response = function({"queryStringParameters": {"x": x}}, LocalContext())
    assert response["statusCode"] == 400
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    # What Lambda's stdout receives: the JSON line, encoded as UTF-8 (a lone surrogate fails here).
    line = function.logger.registered_handler.format(warning).encode("utf-8")
    assert json.loads(line)["x"] == logged
