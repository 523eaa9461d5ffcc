"""docs/operations.md's "Calling a protected API": its Python and curl examples, run against a
server on 127.0.0.1 that checks their SigV4 signatures as API Gateway's IAM authorizer would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

pytestmark = pytest.mark.integration  # servers on sockets, a subprocess

REPO_ROOT = Path(__file__).resolve().parents[3]
SECTION = "## Calling a protected API"
KEY, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-xyz"
AUTHORIZATION = re.compile(
    rf"AWS4-HMAC-SHA256 Credential={KEY}/(?P<date>\d{{8}})/us-west-2/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def code_blocks(language: str) -> list[str]:
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    section = text[text.index(SECTION) :]
    end = re.search(r"\n#{1,2} ", section[len(SECTION) :])
    section = section[: len(SECTION) + end.start()] if end else section
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@contextmanager
def signature_checking_server() -> Iterator[tuple[str, list[Received]]]:
    """Records each request and answers 200 when its signature holds, 403 when not."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            received.append(request)
            ok = signature_holds(request)
            reply = b'{"y": 0.5}' if ok else b'{"message":"Forbidden"}'
            self.send_response(200 if ok else 403)
            self.send_header("content-type", "application/json")
            self.send_header("x-model-version", "0123456789ab")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()
        server.server_close()


def signature_holds(request: Received) -> bool:
    """Sign the request as received, over the headers it says it signed, and compare."""
    match = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    if match is None or "x-amz-date" not in request.headers:
        return False
    signed = match["signed"].split(";")
    url = f"http://{request.headers['host']}{request.target}"
    copy = AWSRequest(
        method=request.method,
        url=url,
        data=request.body,
        headers={name: request.headers[name] for name in signed if name in request.headers},
    )
    copy.context["timestamp"] = request.headers["x-amz-date"]
    auth = SigV4Auth(Credentials(KEY, SECRET, TOKEN), "execute-api", "us-west-2")
    expected = auth.signature(auth.string_to_sign(copy, auth.canonical_request(copy)), copy)
    return match["signature"] == expected and match["date"] == copy.context["timestamp"][:8]


@pytest.fixture
def credentials(aws_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    aws_env.setenv("AWS_ACCESS_KEY_ID", KEY)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    aws_env.setenv("AWS_SESSION_TOKEN", TOKEN)
    return aws_env


def test_the_python_example_signs_for_execute_api(credentials: pytest.MonkeyPatch) -> None:
    [example] = code_blocks("python")
    namespace: dict[str, Any] = {"__name__": "operations_example"}  # not __main__
    exec(compile(example, "docs/operations.md", "exec"), namespace)
    with signature_checking_server() as (url, received):
        post = namespace["call"](url, "POST", "/predict", {"x": [1, 2.5]})
        get = namespace["call"](url, "GET", "/predict?x=42")
    assert (post.status, get.status) == (200, 200), received
    assert [(r.method, r.target) for r in received] == [
        ("POST", "/predict"),
        ("GET", "/predict?x=42"),
    ]
    assert json.loads(received[0].body) == {"x": [1, 2.5]}
    assert all(r.headers["x-amz-security-token"] == TOKEN for r in received)


def test_the_python_example_runs_as_a_script(
    credentials: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    [example] = code_blocks("python")
    script = tmp_path / "call_api.py"
    script.write_text(example)
    with signature_checking_server() as (url, received):
        run = subprocess.run(
            [sys.executable, str(script), url, "/predict", '{"x": [1, 2.5]}'],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stderr
    assert run.stdout == '200 0123456789ab {"y": 0.5}\n'
    assert [(r.method, r.target) for r in received] == [("POST", "/predict")]


def test_a_wrong_signature_is_refused_by_the_checking_server(
    credentials: pytest.MonkeyPatch,
) -> None:
    """The check itself: a request signed with another secret does not pass."""
    [example] = code_blocks("python")
    namespace: dict[str, Any] = {"__name__": "operations_example"}
    exec(compile(example, "docs/operations.md", "exec"), namespace)
    credentials.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with signature_checking_server() as (url, _):
        assert namespace["call"](url, "GET", "/health").status == 403


def curl_with_sigv4() -> str | None:
    curl = shutil.which("curl")
    if curl is None:
        return None
    manual = subprocess.run([curl, "--help", "all"], check=False, capture_output=True, text=True)
    return curl if "--aws-sigv4" in manual.stdout else None


@pytest.mark.skipif(curl_with_sigv4() is None, reason="needs curl 7.75+ (--aws-sigv4)")
def test_the_curl_examples_sign_for_execute_api(credentials: pytest.MonkeyPatch) -> None:
    [shell] = code_blocks("bash")
    # What follows reading ApiUrl from the stack (the API variable, set here instead).
    commands = shell[shell.index("\ncurl ") + 1 :]
    with signature_checking_server() as (url, received):
        run = subprocess.run(
            ["bash", "-euc", commands.replace("curl ", "curl --silent --show-error --fail ")],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "API": url},
        )
    assert run.returncode == 0, (run.stderr, received)
    assert [(r.method, r.target) for r in received] == [
        ("GET", "/predict?x=42"),
        ("POST", "/predict"),
    ]
    assert json.loads(received[1].body) == {"x": [1, 2.5]}
    assert all(r.headers["x-amz-security-token"] == TOKEN for r in received)
