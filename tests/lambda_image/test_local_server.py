"""make serve under load and abuse: concurrent clients, stalled connections, malformed requests."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import pytest

from lambda_image.local import serve

Address = tuple[str, int]
WAIT_SECONDS = 10.0  # a bound on every wait below; each normally takes milliseconds


class Gateway(serve.GatewayHandler):
    timeout = 1.0  # the per-connection timeout, short so that a stalled request is answered fast

    def log_message(self, format: str, *args: Any) -> None:
        pass


class OverlapMeter:
    """Wraps the function and records the most invocations that ever ran at once."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return self.function(event, context)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture(scope="module")
def meter(handler_module: ModuleType) -> OverlapMeter:
    return OverlapMeter(handler_module.handler)


@pytest.fixture(scope="module")
def address(meter: OverlapMeter) -> Iterator[Address]:
    """The local server, in a thread of this process, in front of the test model's handler."""
    Gateway.function = staticmethod(meter)
    server = serve.LocalGateway(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


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
        (b"BREW /predict HTTP/1.1\r\n\r\n", 404, "not_found"),
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
        "unknown-method",
        "content-length-not-a-number",
        "content-length-negative",
        "body-shorter-than-content-length",
        "content-length-twice-differing",
        "body-over-10-MiB",
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


def test_an_oversized_body_is_refused_before_it_is_sent(address: Address) -> None:
    with socket.create_connection(address, timeout=WAIT_SECONDS) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nContent-Length: 20971520\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 413 ")  # not 100 Continue
