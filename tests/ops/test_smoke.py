"""The smoke test over real HTTP: it passes the real local server and catches a broken handler."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.config import get_environment
from lambda_image.local.function import import_handler
from ops.aws import AwsClients
from ops.cli import main
from ops.smoke import percentile
from tests.ops.aws_stand_ins import deploy_stacks
from tests.ops.local_api import Handler, local_server, server_for
from tests.ops.model_files import model_files, sha256_of

FILES = model_files(seed=7, validation_mse=0.1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    for name, content in FILES.items():
        (directory / name).write_bytes(content)
    return directory


@pytest.fixture(scope="module")
def real_handler(model_dir: Path) -> Iterator[Handler]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", str(model_dir))
        yield import_handler().handler


def smoke(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    code = main(["smoke", "--url", url, "--requests", "20"])
    return code, capsys.readouterr().out


def test_passes_against_the_real_local_server(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_server(model_dir) as url:
        code, out = smoke(capsys, url)
    assert code == 0, out
    assert "FAIL" not in out and out.rstrip().endswith("contract holds")
    assert f"model version: {sha256_of(FILES)[:12]}" in out
    assert "latency over 20 requests: p50 " in out


def answer(status: int, body: Any) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": text}


def traceback_on_bad_input(handler: Handler, event: dict[str, Any], context: Any) -> dict:
    result = handler(event, context)
    if result["statusCode"] == 400:
        return answer(500, "Traceback (most recent call last):\n  ValueError: could not convert")
    return result


def nan_accepted(handler: Handler, event: dict[str, Any], context: Any) -> dict:
    result = handler(event, context)
    if (event.get("queryStringParameters") or {}).get("x") == "nan":
        result |= {"statusCode": 200, "body": '{"x": NaN, "y": NaN}'}
    return result


def no_version_header(handler: Handler, event: dict[str, Any], context: Any) -> dict:
    result = handler(event, context)
    result["headers"] = {k: v for k, v in result["headers"].items() if k != "x-model-version"}
    return result


def batch_reversed(handler: Handler, event: dict[str, Any], context: Any) -> dict:
    result = handler(event, context)
    body = json.loads(result["body"])
    if event["requestContext"]["http"]["method"] == "POST" and isinstance(body.get("y"), list):
        body["y"] = body["y"][::-1]
        result["body"] = json.dumps(body)
    return result


def route_errors_as_500(handler: Handler, event: dict[str, Any], context: Any) -> dict:
    result = handler(event, context)
    if result["statusCode"] in (404, 405):
        return answer(500, {"error": {"code": "internal", "message": "no route"}})
    return result


@pytest.mark.parametrize(
    ("breakage", "violation"),
    [
        (traceback_on_bad_input, "FAIL  GET /predict?x=abc -> 400: status 500 with a traceback"),
        (nan_accepted, "FAIL  GET /predict?x=nan -> 400: status 200, expected 400"),
        (no_version_header, "FAIL  GET /health: no x-model-version header"),
        (batch_reversed, "FAIL  POST /predict batch of 4: batched y(42)="),
        (route_errors_as_500, "FAIL  GET /no-such-route -> 404: status 500, expected (404,)"),
    ],
)
def test_catches_a_broken_handler(
    real_handler: Handler,
    capsys: pytest.CaptureFixture[str],
    breakage: Any,
    violation: str,
) -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return breakage(real_handler, event, context)

    with server_for(broken) as url:
        code, out = smoke(capsys, url)
    assert code == 1
    assert violation in out, out
    assert out.rstrip().endswith("contract violation(s)")


def test_unreachable_api_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["smoke", "--url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: cannot reach http://127.0.0.1:9: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0, 1.0, 3.0], 0.5, 3.0),
        ([float(i) for i in range(1, 101)], 0.99, 99.0),
        ([7.0], 0.99, 7.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert math.isclose(percentile(values, fraction), expected)


def test_iam_environment_reads_api_url_and_signs(
    clients: AwsClients, real_handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    """staging uses IAM auth: ApiUrl comes from its Serving stack, every request is SigV4-signed."""
    staging = get_environment("staging")
    authorizations: list[str] = []

    def recording(event: dict[str, Any], context: Any) -> dict[str, Any]:
        authorizations.append(event["headers"].get("authorization", ""))
        return real_handler(event, context)

    with server_for(recording) as url:
        deploy_stacks(clients.cloudformation, staging, {"ApiUrl": url + "/"})
        code = main(["smoke", "--env", "staging", "--requests", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0] == f"smoke test of {url}/ (auth: SigV4 (execute-api))"
    assert authorizations and all(
        re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=testing/\d{8}/us-west-2/execute-api/aws4_request, "
            r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}",
            header,
        )
        for header in authorizations
    ), authorizations[:2]


def test_needs_an_environment_or_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke"]) == 1
    assert capsys.readouterr().err == (
        "error: give ENV=<env> (reads the stack's ApiUrl) or URL=<base url>\n"
    )
