"""The smoke test over real HTTP: it passes the real local server and catches a broken handler."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from infra.config import get_environment
from lambda_image.local import serve
from lambda_image.local.function import load_local_function
from ops.aws import AwsClients
from ops.cli import main
from ops.smoke import http_client
from ops.smoke.command import connection_line, latency_line
from ops.smoke.contract import UNROUTED_PATH
from ops.smoke.http_client import HttpClient
from tests.ops.aws_stand_ins import deploy_stacks
from tests.ops.model_files import model_files, version_of
from tests.ops.smoke.local_api import (
    Handler,
    gateway_for,
    local_server,
    self_signed_tls,
    server_for,
)
from torchlambda.contract import route_paths

# Real servers on sockets: the local gateway and misbehaving stand-ins.
pytestmark = pytest.mark.integration

FILES = model_files(seed=7, validation_mse=0.1)
WAIT_SECONDS = 10.0  # a bound on every wait of the stand-in servers below


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    for name, content in FILES.items():
        (directory / name).write_bytes(content)
    return directory


@pytest.fixture(scope="module")
def real_handler(model_dir: Path) -> Handler:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", str(model_dir))
        return load_local_function()


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
    assert f"model version: champion {version_of(FILES)}" in out
    assert "\nconnection setup (TCP): " in out
    assert "\nlatency over 20 requests: p50 " in out


SETUP_LINE = re.compile(
    r"connection setup \((?P<what>[A-Z +]+)\): (?P<ms>\d+\.\d) ms, "
    r"1 connection for (?P<requests>\d+) requests"
)
LATENCY_LINE = re.compile(
    r"latency over 20 requests: p50 (?P<p50>\d+\.\d) ms, p90 \d+\.\d ms, p99 \d+\.\d ms, "
    r"max \d+\.\d ms \(connection setup excluded\)"
)


# Every (method, path) the smoke test sends, routed or not.
EVERY_ROUTE = frozenset(
    (method, path)
    for method in ("GET", "POST", "PUT", "DELETE")
    for path in (*route_paths(), UNROUTED_PATH)
)


def keeping_the_connection(handler: Handler) -> Handler:
    """The API's own 404 for what no route takes, the connection kept open as API Gateway keeps it
    (the local gateway closes it after that 404, so a client must open another): serve it with
    routes=EVERY_ROUTE."""

    def gateway(event: dict[str, Any], context: Any) -> dict[str, Any]:
        http = event["requestContext"]["http"]
        if (http["method"], http["path"]) not in serve.GatewayHandler.routes:
            return {
                "statusCode": 404,
                "headers": {"content-type": "application/json"},
                "body": '{"message":"Not Found"}',
            }
        return handler(event, context)

    return gateway


def requests_made(out: str) -> int:
    """What a passing run sends: one request per check, the latency check's 20 for the last."""
    return out.count("\n  ok    ") - 1 + 20


def test_one_connection_serves_every_check_and_its_setup_is_reported_apart(
    real_handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    with gateway_for(keeping_the_connection(real_handler), EVERY_ROUTE) as gateway:
        code, out = smoke(capsys, gateway.url)
    assert code == 0, out
    assert gateway.accepted == 1  # sockets the server accepted, whatever the client thinks
    setup = SETUP_LINE.search(out)
    assert setup is not None and setup["what"] == "TCP", out
    assert int(setup["requests"]) == requests_made(out) > 30
    assert LATENCY_LINE.search(out), out


def test_over_https_the_handshake_is_timed_apart_from_the_requests(
    real_handler: Handler,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A handshake held back 0.4 s, as a far server's round trips would: the connection line
    shows it, once, and the requests over the open connection do not."""
    context, certificate = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the client trusts only this one
    with gateway_for(
        keeping_the_connection(real_handler), EVERY_ROUTE, tls=context, handshake_delay=0.4
    ) as gateway:
        code, out = smoke(capsys, gateway.url)
    assert code == 0, out
    assert gateway.accepted == 1
    setup = SETUP_LINE.search(out)
    assert setup is not None and setup["what"] == "TCP + TLS", out
    assert float(setup["ms"]) >= 400
    assert int(setup["requests"]) == requests_made(out)
    latency = LATENCY_LINE.search(out)
    assert latency is not None and float(latency["p50"]) < 400, out


def test_an_untrusted_certificate_is_refused(
    real_handler: Handler, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    context, _ = self_signed_tls(tmp_path)  # SSL_CERT_FILE not pointed at it
    with gateway_for(real_handler, tls=context) as gateway:
        code = main(["smoke", "--url", gateway.url, "--deadline", "10"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: cannot reach {gateway.url}: ") and err.count("\n") == 1
    assert "CERTIFICATE_VERIFY_FAILED" in err, err


def test_the_report_lines() -> None:
    assert connection_line([0.0123], 71, tls=True) == (
        "connection setup (TCP + TLS): 12.3 ms, 1 connection for 71 requests"
    )
    assert connection_line([0.002, 0.001, 0.004], 71, tls=False) == (
        "connection setup (TCP): p50 2.0 ms, max 4.0 ms, 3 connections for 71 requests"
    )
    assert latency_line([i / 1000 for i in range(1, 101)]) == (
        "latency over 100 requests: p50 50.0 ms, p90 90.0 ms, p99 99.0 ms, max 100.0 ms "
        "(connection setup excluded)"
    )


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


@pytest.mark.parametrize(
    ("breakage", "violation"),
    [
        (traceback_on_bad_input, "FAIL  GET /predict?x=abc -> 400: status 500 with a traceback"),
        (nan_accepted, "FAIL  GET /predict?x=nan -> 400: status 200, expected 400"),
        (no_version_header, "FAIL  GET /health: no x-model-version or x-model-variant header"),
        (batch_reversed, "FAIL  POST /predict batch of 4: batched y(42)="),
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


def test_checks_what_no_route_takes_from_the_table(
    real_handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    with server_for(real_handler) as url:
        code, out = smoke(capsys, url)
    assert code == 0, out
    # A path no route names, then each routed path with a method the table lacks there.
    for unrouted in (f"GET {UNROUTED_PATH}", "PUT /predict", "POST /health"):
        assert f"  ok    {unrouted} -> 404: 404\n" in out, out


def test_catches_an_api_that_forwards_what_no_route_takes(
    real_handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    """As if the API had a catch-all route: the function answers, 404 or 405, with its version."""
    with server_for(real_handler, routes=EVERY_ROUTE) as url:
        code, out = smoke(capsys, url)
    assert code == 1
    assert "FAIL  PUT /predict -> 404: status 405, expected 404" in out, out
    assert "FAIL  POST /health -> 404: status 405, expected 404" in out, out
    assert (
        f"FAIL  GET {UNROUTED_PATH} -> 404: answered by the function, not the gateway: "
        "the API routes more than the table"
    ) in out, out


def test_unreachable_api_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["smoke", "--url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: cannot reach http://127.0.0.1:9: ") and err.count("\n") == 1


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


@pytest.mark.parametrize("status", [302, 307])
def test_redirects_are_not_followed_with_the_signature(
    clients: AwsClients, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    elsewhere_got: list[dict[str, str]] = []

    def elsewhere(event: dict[str, Any], context: Any) -> dict[str, Any]:
        elsewhere_got.append(event["headers"])  # authorization and x-amz-security-token included
        return answer(200, {"status": "ok"})

    with server_for(elsewhere) as other_url:
        location = f"{other_url}/health"

        def redirect(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return {"statusCode": status, "headers": {"location": location}, "body": ""}

        with server_for(redirect) as url:
            deploy_stacks(clients.cloudformation, get_environment("staging"), {"ApiUrl": url})
            code = main(["smoke", "--env", "staging", "--requests", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"FAIL  GET /health: redirected ({status}) to {location}; not followed, "
        "credentials never leave the API's host"
    ) in out, out
    assert elsewhere_got == []


Answer = Callable[[socket.socket, threading.Event], None]


@contextmanager
def raw_server(answer: Answer, connections: int) -> Iterator[str]:
    """A server on 127.0.0.1 that reads each request, then lets `answer` write on the bare socket;
    it accepts at most `connections` connections, and `answer` gets an event set at the end."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        accepted = 0
        while accepted < connections and not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted += 1
            with connection:
                connection.settimeout(WAIT_SECONDS)
                connection.recv(65536)  # the request: small, so in one piece here
                answer(connection, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(WAIT_SECONDS)
        listener.close()


def trickle(connection: socket.socket, stop: threading.Event) -> None:
    """The start of a valid answer, a byte every half second for 20 s unless the client quits."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
    for byte in reply[:40]:
        if stop.wait(0.5):
            return
        try:
            connection.sendall(bytes([byte]))
        except OSError:
            return


def test_a_trickling_server_is_stopped_by_the_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    with raw_server(trickle, connections=1) as url:
        code = main(["smoke", "--url", url, "--deadline", "2"])
    assert time.monotonic() - started < 15  # not the 20 s the answer would take
    assert code == 1
    assert capsys.readouterr().err == (
        "error: the run's 2 s deadline passed during GET /health; stopped (--deadline sets it)\n"
    )


def test_each_request_has_its_own_time_limit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_client, "TIMEOUT_SECONDS", 1)
    with raw_server(trickle, connections=1) as url:
        code = main(["smoke", "--url", url])
    assert code == 1
    assert capsys.readouterr().err == f"error: no answer from {url} to GET /health within 1 s\n"


def answer_and_hang_up(connection: socket.socket, stop: threading.Event) -> None:
    """Answer as if keeping the connection alive, then close it (as idle connections are)."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


def test_a_connection_the_server_closed_is_replaced() -> None:
    with raw_server(answer_and_hang_up, connections=2) as url:
        client = HttpClient(url, None, WAIT_SECONDS)
        try:
            assert [client.request("GET", "/health").status for _ in range(2)] == [200, 200]
        finally:
            client.close()
    assert len(client.connect_seconds) == 2


def answer_then_drop_the_next(connection: socket.socket, stop: threading.Event) -> None:
    """Answer and keep the connection, then close it unanswered when the next request comes: an
    idle connection the server closed just as the client reused it, too late for urllib3's check
    of a pooled connection to notice."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    with suppress(OSError):
        connection.recv(65536)


def test_a_request_the_reused_connection_dropped_is_sent_again_on_a_new_one() -> None:
    with raw_server(answer_then_drop_the_next, connections=2) as url:
        client = HttpClient(url, None, WAIT_SECONDS)
        try:
            assert [client.request("GET", "/health").status for _ in range(2)] == [200, 200]
            assert len(client.connect_seconds) == 2 and client.requests == 2
        finally:
            client.close()


def hang_up(connection: socket.socket, stop: threading.Event) -> None:
    """Close without a word: http.client's RemoteDisconnected."""


def cut_short(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")


def not_http(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def claim_3_gb(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000000\r\n\r\n{}")


def stream_without_end(connection: socket.socket, stop: threading.Event) -> None:
    """A body with no length, sent until the client stops reading (or 4 MiB)."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
    for _ in range(64):
        if stop.is_set():
            return
        try:
            connection.sendall(b"0," * 32768)
        except OSError:
            return


@pytest.mark.parametrize(
    ("answer", "violation"),
    [
        (
            hang_up,
            "connection closed before the response ended "
            "(RemoteDisconnected: Remote end closed connection without response)",
        ),
        (
            cut_short,
            "connection closed before the response ended "
            "(IncompleteRead: IncompleteRead(2 bytes read, 8 more expected))",
        ),
        (not_http, "malformed response (BadStatusLine: 'SSH-2.0-OpenSSH_9.6\\r\\n')"),
        (
            claim_3_gb,
            "body of 3000000000 bytes (Content-Length) is over the 16 MiB limit; not read",
        ),
        (stream_without_end, "body over the 1 MiB limit; not read further"),
    ],
    ids=["no-answer", "body-cut-short", "not-http", "content-length-3-GB", "endless-body"],
)
def test_a_broken_response_fails_its_check_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: Answer,
    violation: str,
) -> None:
    if answer is stream_without_end:
        monkeypatch.setattr(http_client, "MAX_BODY", 1024 * 1024)  # not 16 MiB per request
    with raw_server(answer, connections=100) as url:  # a connection per check, as each fails
        code, out = smoke(capsys, url)
    assert code == 1
    assert f"  FAIL  GET /health: {violation}\n" in out, out
    # Every check ran, the last included, and was reported.
    assert "  FAIL  latency over 20 requests: " in out, out
    assert out.rstrip().endswith("contract violation(s)")


@pytest.mark.parametrize(
    "url", ["http://api.example.com", "http://10.0.0.1:8080/", "http://127.0.0.1.example.com"]
)
def test_requests_are_never_signed_over_plain_http_to_another_host(
    aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    # --deadline: should the refusal be missing, the run stops soon instead of hanging.
    assert main(["smoke", "--env", "staging", "--url", url, "--deadline", "3"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: URL={url!r} is plain http: the SigV4 signature and session token would cross "
        "the network in cleartext; use https (plain http is signed only to 127.0.0.1, ::1 or "
        "localhost)\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("10.0.0.1", False),
        ("::2", False),
        ("api.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert http_client.is_loopback(host) is loopback
