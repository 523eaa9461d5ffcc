"""make serve / make invoke: HTTP <-> payload 2.0 translation and the tools themselves."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lambda_image.local import invoke
from lambda_image.local.gateway import from_result, to_event
from tests.lambda_image.conftest import load_handler

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "lambda_image" / "events"


def test_request_becomes_a_payload_2_event() -> None:
    event = to_event(
        "GET",
        "/predict?x=1&x=2&y=",
        [("Host", "h"), ("X-Trace", "a"), ("x-trace", "b")],
        b"",
        "10.0.0.1",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /predict"
    assert event["rawPath"] == "/predict" and event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["headers"]["x-trace"] == "a,b"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert "body" not in event


def test_binary_bodies_are_base64_and_json_stays_text() -> None:
    binary = to_event(
        "POST", "/predict", [("content-type", "application/octet-stream")], b"\x00\x01", ""
    )
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\x01"
    text = to_event("POST", "/predict", [("content-type", "application/json")], b'{"x": 1}', "")
    assert text["isBase64Encoded"] is False and text["body"] == '{"x": 1}'


def test_result_becomes_an_http_response() -> None:
    response = from_result(
        {"statusCode": 404, "headers": {"a": "b"}, "body": "{}", "isBase64Encoded": False}
    )
    assert (response.status, response.headers, response.body) == (404, {"a": "b"}, b"{}")
    assert from_result({"plain": 1}).body == b'{"plain": 1}'


@pytest.mark.parametrize("event_file", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_sample_events_get_their_answers(
    event_file: Path,
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    load_handler(model_dir, POWERTOOLS_METRICS_DISABLED="true")  # the module invoke will use
    assert invoke.main([str(event_file)]) == 0
    out = capsys.readouterr().out
    # Log lines (one JSON object per line) may precede the indented response, printed last.
    response = json.loads(out[out.rfind("\n{\n") + 1 :] if "\n{\n" in out else out)
    expected = 400 if event_file.name.startswith("bad") else 200
    assert response["statusCode"] == expected


def test_serve_says_how_to_get_a_model_when_there_is_none(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lambda_image.local.serve", "--port", "0"],
        cwd=REPO,
        env={**os.environ, "MODEL_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "make train" in result.stderr


@pytest.mark.slow
def test_serve_answers_http_on_127_0_0_1(model_dir: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "lambda_image.local.serve", "--port", "0"],
        cwd=REPO,
        env={**os.environ, "MODEL_DIR": str(model_dir), "POWERTOOLS_METRICS_DISABLED": "true"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        first_line = server.stdout.readline()
        url = first_line.split("listening on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/predict?x=42", timeout=60) as reply:
            assert reply.status == 200 and reply.headers["x-model-version"]
            assert json.load(reply)["x"] == 42.0
        request = urllib.request.Request(
            f"{url}/predict", data=b'{"x": [1, 2]}', headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert len(json.load(reply)["y"]) == 2
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/predict?x=abc", timeout=30)
        assert refused.value.code == 400
        assert json.load(refused.value)["error"]["code"] == "invalid_x"
    finally:
        server.kill()
        server.wait(timeout=10)
