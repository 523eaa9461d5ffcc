"""make serve under load and abuse: concurrent clients, stalled and trickled connections, too many
connections, malformed requests, requests no route takes, and a model that fails init."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lambda_image.local import serve
from tests.lambda_image.lambda_models import write_model

# A real server on a socket, with clients and timeouts.
pytestmark = pytest.mark.integration

Address = tuple[str, int]
REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 10.0  # a bound on every wait below; each normally takes milliseconds


class Gateway(serve.GatewayHandler):
    timeout = 1.0  # the per-connection timeout, short so that a stalled request is answered fast

    def log_message(self, format: str, *args: Any) -> None:
        pass


class OverlapMeter:
    """Wraps the function and records the invocations and the most that ever ran at once."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return self.function(event, context)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture(scope="module")
def meter(function: Callable[..., Any]) -> OverlapMeter:
    return OverlapMeter(function)


@contextmanager
def running(
    gateway: type[serve.GatewayHandler], server_class: type[serve.LocalGateway]
) -> Iterator[Address]:
    """A local server, in a thread of this process."""
    server = server_class(("127.0.0.1", 0), gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def address(meter: OverlapMeter) -> Iterator[Address]:
    """The local server in front of the test model's handler."""
    Gateway.function = staticmethod(meter)
    with running(Gateway, serve.LocalGateway) as address:
        yield address


def get_predict(connection: http.client.HTTPConnection, x: int) -> int:
    connection.request("GET", f"/predict?x={x}")
    with connection.getresponse() as reply:
        assert json.loads(reply.read())["x"] == x
        return reply.status


def raw_exchange(address: Address, data: bytes) -> tuple[int, str, Any]:
    """Send `data` as it is; the status, Content-Type and JSON body of the answer."""
    with socket.create_connection(address, timeout=WAIT_SECONDS) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # the whole request is sent: a short body stays short
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        return reply.status, reply.getheader("content-type", ""), json.loads(reply.read())


def test_stalled_connections_hold_up_no_one(address: Address) -> None:
    with (
        socket.create_connection(address, timeout=WAIT_SECONDS) as idle,
        socket.create_connection(address, timeout=WAIT_SECONDS) as half_sent,
    ):
        half_sent.sendall(b"GET /predict?x=1 HTTP/1.1\r\nHost: local\r\n")  # no blank line
        connection = http.client.HTTPConnection(*address, timeout=WAIT_SECONDS)
        assert get_predict(connection, 42) == 200
        connection.close()
        # Answered while the stalled ones still wait: a server taking one connection at a time
        # would have reached this one only after timing both out, the 408 already sent.
        assert select.select([half_sent, idle], [], [], 0)[0] == []

        reply = http.client.HTTPResponse(half_sent)
        reply.begin()
        assert reply.status == 408
        assert json.loads(reply.read())["error"]["code"] == "request_timeout"
        assert idle.recv(1) == b""  # closed after the timeout, without an answer to nothing


def test_concurrent_clients_are_all_answered_one_invocation_at_a_time(
    address: Address, meter: OverlapMeter
) -> None:
    clients, requests_each = 32, 5
    start = threading.Barrier(clients, timeout=WAIT_SECONDS)

    def client(number: int) -> list[int]:
        connection = http.client.HTTPConnection(*address, timeout=WAIT_SECONDS)
        start.wait()  # all connect at once: more than the old listen backlog of 5
        try:  # one kept-alive connection each
            return [get_predict(connection, number * 10 + i) for i in range(requests_each)]
        finally:
            connection.close()

    with ThreadPoolExecutor(clients) as pool:
        statuses = [s for done in pool.map(client, range(clients)) for s in done]
    assert statuses == [200] * clients * requests_each
    assert meter.most == 1


BIG = 70_000  # over the 65,536-byte limit on the request line and on each header line


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"POST /predict HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400, "bad_request"),
        (b"POST /predict HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad_request"),
        (b"POST /predict HTTP/1.1\r\nContent-Length: 9\r\n\r\n{}", 400, "bad_request"),
        (
            b"POST /predict HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            400,
            "bad_request",
        ),
        (b"POST /predict HTTP/1.1\r\nContent-Length: 20971520\r\n\r\n", 413, "payload_too_large"),
        (
            b"POST /predict HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
            413,
            "payload_too_large",
        ),
        (
            b"POST /predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            411,
            "length_required",
        ),
        (b"GET /" + b"a" * BIG + b" HTTP/1.1\r\n\r\n", 414, "request_line_too_long"),
        (b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * BIG + b"\r\n\r\n", 431, "headers_too_large"),
        (b"garbage\r\n\r\n", 400, "bad_request"),
        (b"GET /health HTTP/1.1 extra\r\n\r\n", 400, "bad_request"),
        (b"GET /health HTTX/1.1\r\n\r\n", 400, "bad_request"),
        (b"\r\n", 400, "bad_request"),
    ],
    ids=[
        "content-length-not-a-number",
        "content-length-negative",
        "body-shorter-than-content-length",
        "content-length-twice-differing",
        "body-over-10-MiB",
        "content-length-of-5000-digits",
        "chunked",
        "request-line-too-long",
        "header-too-long",
        "request-line-one-word",
        "request-line-four-words",
        "request-line-bad-version",
        "request-line-empty",
    ],
)
def test_malformed_requests_get_a_json_refusal(
    address: Address, request_bytes: bytes, status: int, code: str
) -> None:
    got_status, content_type, body = raw_exchange(address, request_bytes)
    assert (got_status, content_type) == (status, "application/json")
    assert body["error"]["code"] == code and body["error"]["message"], body


@pytest.mark.parametrize(
    ("request_line", "status"),
    [(b"POST /predict HTTP/1.1", b"413"), (b"PUT /predict HTTP/1.1", b"404")],
    ids=["body-over-10-MiB", "no-route"],
)
def test_a_refused_request_gets_no_100_continue(
    address: Address, request_line: bytes, status: bytes
) -> None:
    with socket.create_connection(address, timeout=WAIT_SECONDS) as sock:
        sock.sendall(request_line + b"\r\nContent-Length: 20971520\r\nExpect: 100-continue\r\n\r\n")
        # The refusal comes first: a 100 would invite a body the server will not read.
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 " + status + b" ")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b'PUT /predict HTTP/1.1\r\nContent-Length: 8\r\n\r\n{"x": 1}',
        b"DELETE /predict?x=1 HTTP/1.1\r\n\r\n",
        b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"OPTIONS /predict HTTP/1.1\r\n\r\n",
        b"BREW /predict HTTP/1.1\r\n\r\n",
        b"GET /predictions?x=1 HTTP/1.1\r\n\r\n",
        b"GET /predict/?x=1 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET http://127.0.0.1/nope HTTP/1.1\r\n\r\n",
    ],
    ids=[
        "method-of-no-route",
        "delete",
        "post-to-a-get-route",
        "options",
        "unknown-method",
        "unknown-path",
        "trailing-slash",
        "root",
        "absolute-form",
    ],
)
def test_a_request_no_route_takes_is_answered_by_the_gateway(
    address: Address, meter: OverlapMeter, request_bytes: bytes
) -> None:
    calls = meter.calls
    status, content_type, body = raw_exchange(address, request_bytes)
    # What API Gateway answers for a request that matches no route; the function never runs.
    assert (status, content_type, body) == (404, "application/json", {"message": "Not Found"})
    assert meter.calls == calls


def test_a_head_request_is_not_a_get(address: Address, meter: OverlapMeter) -> None:
    calls = meter.calls
    connection = http.client.HTTPConnection(*address, timeout=WAIT_SECONDS)
    try:
        connection.request("HEAD", "/health")
        with connection.getresponse() as reply:
            assert (reply.status, reply.read()) == (404, b"")
            assert reply.getheader("content-length") == str(len(b'{"message":"Not Found"}'))
    finally:
        connection.close()
    assert meter.calls == calls


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\r\nGET /predict?x=1 HTTP/1.1\r\nHost: local\r\n\r\n",
        b"\r\n\r\nGET /predict?x=1 HTTP/1.1\r\nHost: local\r\n\r\n",
        b"GET http://{authority}/predict?x=1 HTTP/1.1\r\nHost: {authority}\r\n\r\n",
        b"GET HTTP://{authority}/predict?x=1 HTTP/1.1\r\nHost: {authority}\r\n\r\n",
    ],
    ids=["after-an-empty-line", "after-two-empty-lines", "absolute-form", "absolute-form-caps"],
)
def test_requests_rfc_9112_lets_a_client_send_are_answered(
    address: Address, request_bytes: bytes
) -> None:
    authority = f"{address[0]}:{address[1]}".encode()
    status, _, body = raw_exchange(address, request_bytes.replace(b"{authority}", authority))
    assert (status, body["x"]) == (200, 1), body


class Strict(Gateway):
    timeout = 5.0  # each read: longer than any gap below, so only the deadline can end a request
    request_deadline = 1.5


class TwoConnections(serve.LocalGateway):
    max_connections = 2


@pytest.fixture
def strict_address(meter: OverlapMeter) -> Iterator[Address]:
    """A server with a short request deadline and room for two connections."""
    Strict.function = staticmethod(meter)
    with running(Strict, TwoConnections) as address:
        yield address


def test_a_request_trickled_in_is_cut_off_at_its_deadline(strict_address: Address) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: local\r\nX-Slow: " + b"a" * 40 + b"\r\n\r\n"
    started = time.monotonic()
    with socket.create_connection(strict_address, timeout=WAIT_SECONDS) as sock:
        for byte in request:  # a byte every 0.1 s: 7 s in all, each read well within its timeout
            sock.sendall(bytes([byte]))
            if select.select([sock], [], [], 0.1)[0]:
                break  # answered before the request is complete
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        body = json.loads(reply.read())
    assert reply.status == 408, body
    assert body["error"] == {
        "code": "request_timeout",
        "message": "request incomplete after 1.5 s",
    }
    assert time.monotonic() - started < 5.0


def test_a_connection_over_the_cap_is_refused_at_once(strict_address: Address) -> None:
    with (
        socket.create_connection(strict_address, timeout=WAIT_SECONDS),
        socket.create_connection(strict_address, timeout=WAIT_SECONDS),
    ):
        started = time.monotonic()
        with socket.create_connection(strict_address, timeout=WAIT_SECONDS) as third:
            reply = http.client.HTTPResponse(third)
            reply.begin()
            content_type, body = reply.getheader("content-type"), json.loads(reply.read())
        # At once: not after the 5 s the first two may stay idle.
        assert time.monotonic() - started < 2.5
    assert (reply.status, content_type) == (503, "application/json")
    assert body["error"]["code"] == "too_many_connections" and body["error"]["message"]
    # The two closed, their places are free again.
    assert wait_for_health(strict_address) == 200


def wait_for_health(address: Address) -> int | None:
    """GET /health until it is answered 200 (a closed connection's thread ends a moment later)."""
    ends = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            status: int | None = raw_exchange(address, b"GET /health HTTP/1.1\r\n\r\n")[0]
        except OSError:  # still at the cap: refused, and closed before the request was sent
            status = None
        if status == 200 or time.monotonic() > ends:
            return status
        time.sleep(0.05)


def test_a_model_that_fails_init_is_one_error_line(tmp_path: Path) -> None:
    model = write_model(tmp_path / "model", card_overrides={"sha256": "0" * 64})
    result = subprocess.run(
        [sys.executable, "-m", "lambda_image.local.serve", "--port", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, "MODEL_DIR": str(model), "POWERTOOLS_METRICS_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: the function failed to initialize: "), result.stderr
    assert "does not match the model card" in last
