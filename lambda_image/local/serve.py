"""Serve the handler on 127.0.0.1 over HTTP, each request as a payload 2.0 event: ``make serve``.

The socket is bound and the URL printed before the model loads, so a client may connect at once;
its request is answered as soon as init is done. Each connection has its own thread, up to
MAX_CONNECTIONS at once; each read waits at most TIMEOUT_SECONDS and a whole request must arrive
within REQUEST_SECONDS, so a slow or idle client holds up no one else and holds its thread for a
bounded time. The function runs one invocation at a time, like one Lambda sandbox. A request that
no route of the table takes is answered as the deployed HTTP API answers it (404, `{"message":"Not
Found"}`), without calling the function. `GET /openapi.json` is answered with the API's OpenAPI
description (openapi.py), which only this server serves. What the server refuses itself (a
malformed request, a body over 10 MiB, a request left unfinished, one connection too many) is
answered in the API's JSON error envelope, never in HTML.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from lambda_image.local.function import (
    LocalContext,
    load_local_function,
    model_dir,
    require_model,
)
from lambda_image.local.gateway import (
    NOT_FOUND,
    ROUTE_KEYS,
    HttpResponse,
    from_result,
    route_key,
    to_event,
)
from lambda_image.local.openapi import DOCUMENT_PATH, JSON, render
from lambda_image.local.refusals import error_envelope

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from torchlambda.function import Function  # torch: imported only once the URL is printed

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LINE = 65536  # the standard library's limit for the request line and each header line
MAX_EMPTY_LINES = 4  # CRLFs ignored before a request line (RFC 9112 2.2: at least one)
TIMEOUT_SECONDS = 15.0  # for each read and write, and for an idle keep-alive connection
REQUEST_SECONDS = 30.0  # for a whole request (line, headers, body), however it trickles in
MAX_CONNECTIONS = 64  # a thread each; one more is refused at once
LINGER_SECONDS = 2.0  # how long a closing connection reads what the client is still sending
DOCUMENT_ROUTE = ("GET", DOCUMENT_PATH)  # the API's description: served here, not by API Gateway


class LocalGateway(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for idle keep-alive connections
    request_queue_size = 128  # listen backlog: a burst of clients waits instead of being dropped
    max_connections = MAX_CONNECTIONS

    def __init__(
        self,
        server_address: tuple[str, int],
        handler_class: type[BaseHTTPRequestHandler],
        bind_and_activate: bool = True,
    ) -> None:
        super().__init__(server_address, handler_class, bind_and_activate)
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request, client_address)
            return
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse_busy(self, request: socket.socket, client_address: Any) -> None:
        """Answer 503 from the accepting thread without waiting on the client: a refusal that
        needed a thread of its own would bring back the unbounded threads it exists to prevent."""
        message = f"more than {self.max_connections} connections at once; retry later"
        sys.stderr.write(f"{client_address[0]} refused: {message}\n")
        payload = error_envelope(HTTPStatus.SERVICE_UNAVAILABLE, message)
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        try:
            request.setblocking(False)
            request.sendall(head.encode() + payload)  # a few hundred bytes: the send buffer's
            # Read what the client has already sent, so that closing does not reset the connection.
            for _ in range(16):
                if not request.recv(65536):
                    break
        except OSError:
            pass  # nothing more to read (BlockingIOError), or the client is gone
        self.close_request(request)

    def handle_error(self, request: Any, client_address: tuple[str, int]) -> None:
        # A client that hangs up or stops reading is routine: one line, not a traceback.
        error = sys.exception()
        if isinstance(error, ConnectionError | TimeoutError):
            sys.stderr.write(f"{client_address[0]} connection dropped: {error!r}\n")
        else:
            super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:  # a TCP socket
        # Closing with unread input makes the kernel reset the connection, which can destroy a
        # refusal the client has not read yet (a 413 while it still sends its body): say we are
        # done, then read until the client closes too, for a bounded time.
        ends = time.monotonic() + LINGER_SECONDS
        try:
            request.shutdown(socket.SHUT_WR)
            while (left := ends - time.monotonic()) > 0:
                request.settimeout(left)
                if not request.recv(65536):
                    break
        except OSError:
            pass  # already reset, or timed out: close it anyway
        self.close_request(request)


class _DeadlineReader(io.RawIOBase):
    """A connection's input: each read waits at most `idle` seconds and never past `ends`, so a
    client sending a byte now and then cannot stretch a request past its deadline."""

    def __init__(self, sock: socket.socket, raw: io.RawIOBase, idle: float) -> None:
        self.sock, self.raw, self.idle = sock, raw, idle
        self.ends = math.inf
        self.deadline_bound = False  # whether the last read's wait was cut short by `ends`

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        left = self.ends - time.monotonic()
        self.deadline_bound = left < self.idle
        if left <= 0:
            raise TimeoutError("request deadline passed")
        self.sock.settimeout(min(left, self.idle))
        try:
            return self.raw.readinto(buffer)
        finally:
            self.sock.settimeout(self.idle)  # writes keep the usual timeout, not what was left

    def close(self) -> None:
        self.raw.close()  # the socket file: the server closes the socket itself
        super().close()


class GatewayHandler(BaseHTTPRequestHandler):
    function: ClassVar[Any] = None
    routes: ClassVar[frozenset[tuple[str, str]]] = ROUTE_KEYS  # (method, path) pairs that reach it
    document: ClassVar[bytes] = render()  # the API's OpenAPI description, for GET /openapi.json
    # One sandbox runs one invocation at a time; the handler and its logger are not thread-safe.
    invocation_lock: ClassVar[threading.Lock] = threading.Lock()
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway
    default_request_version = "HTTP/1.0"  # not 0.9, whose answers have no status line or headers
    server_version = "local-gateway"
    timeout = TIMEOUT_SECONDS
    request_deadline = REQUEST_SECONDS
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

    def setup(self) -> None:
        super().setup()
        self._input = _DeadlineReader(self.connection, self.rfile.detach(), self.timeout)
        self.rfile = io.BufferedReader(self._input)

    def handle_one_request(self) -> None:
        # Unlike the standard library, which closes a timed-out connection without a word, a
        # request cut short is answered 408; an idle connection closes silently, as keep-alive
        # allows.
        self.close_connection = True
        self._input.ends = time.monotonic() + self.timeout
        if not self._request_arrives():
            return
        self._input.ends = time.monotonic() + self.request_deadline
        self.command = self.requestline = self.request_version = ""  # until parsed, for send_error
        try:
            body = self._read_request()
        except TimeoutError:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, self._timeout_message())
            return
        if body is not None:
            self._answer(body)

    def _timeout_message(self) -> str:
        if self._input.deadline_bound:
            return f"request incomplete after {self.request_deadline:g} s"
        return f"request incomplete: nothing sent for {self.timeout:g} s"

    def _request_arrives(self) -> bool:
        """Wait up to the timeout for a request's first byte; False if none came."""
        try:
            return bool(self.rfile.peek(1))  # type: ignore[attr-defined]  # a BufferedReader
        except (TimeoutError, ConnectionError):
            return False

    def _read_request(self) -> bytes | None:
        """The body of an acceptable request, or None once its refusal has been sent."""
        if not self._read_head():
            return None
        length = self._content_length()
        if length is None:
            return None
        body: bytes = self.rfile.read(length)
        if len(body) < length:
            self.send_error(HTTPStatus.BAD_REQUEST, "body shorter than its Content-Length")
            return None
        return body

    def _read_head(self) -> bool:
        """Read the request line and headers; False once a refusal has been sent."""
        self.raw_requestline = self._request_line()
        if len(self.raw_requestline) > MAX_LINE:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        if not self.raw_requestline.strip():  # parse_request would close without an answer
            self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
            return False
        # Each sends its refusal (400, 431, 505, or the API's 404 for a request no route takes);
        # parse_request checks the route itself when the request expects 100 Continue.
        if not (self.parse_request() and self._routed()):
            return False
        self.path = origin_form(self.path)
        return True

    def _request_line(self) -> bytes:
        """The request line, past the few empty lines a client may send before it."""
        line: bytes = self.rfile.readline(MAX_LINE + 1)
        for _ in range(MAX_EMPTY_LINES):
            if line not in (b"\r\n", b"\n"):
                break
            line = self.rfile.readline(MAX_LINE + 1)
        return line

    def _routed(self) -> bool:
        """Whether a route takes the request; False once the API's own 404 has been sent."""
        key = route_key(self.command, origin_form(self.path))
        if key in self.routes or key == DOCUMENT_ROUTE:
            return True
        self._send(NOT_FOUND, close=True)  # its body, if any, is left unread
        return False

    def handle_expect_100(self) -> bool:
        # Refuse before the client sends a body that would not be read, and never say 100 Continue
        # to a request that will be refused.
        return self._routed() and self._content_length() is not None and super().handle_expect_100()

    def _content_length(self) -> int | None:
        """The body's length in bytes, or None once its refusal has been sent."""
        if "transfer-encoding" in self.headers:
            # Left unread, a chunked body would be parsed as the next request on the connection.
            self.send_error(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
            return None
        values = set(self.headers.get_all("content-length", []))
        if not values:
            return 0
        text = ", ".join(sorted(values))  # two different lengths are no length at all
        if not (text.isascii() and text.isdigit()):  # int() would take "+1", " 1" and "1_0"
            self.send_error(HTTPStatus.BAD_REQUEST, f"Content-Length {text!r} is not a byte count")
            return None
        # More digits than MAX_BODY has is over it: no int() of thousands of digits, which raises.
        digits = text.lstrip("0")
        if len(digits) > len(str(MAX_BODY)) or int(digits or "0") > MAX_BODY:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload larger than 10 MiB")
            return None
        return int(digits or "0")

    def _answer(self, body: bytes) -> None:
        if route_key(self.command, self.path) == DOCUMENT_ROUTE:
            self._send(HttpResponse(HTTPStatus.OK, {"content-type": JSON}, self.document))
            return
        event = to_event(
            self.command, self.path, self.headers.items(), body, self.client_address[0]
        )
        with self.invocation_lock:
            result = self.function(event, LocalContext())
        self._send(from_result(result))

    def _send(self, response: HttpResponse, *, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal, the standard library's included, in the API's JSON error envelope."""
        status = HTTPStatus(code)
        text = ": ".join(part for part in (message or status.phrase, explain) if part)
        payload = error_envelope(status, text)
        self.log_error("code %d, message %s", code, text)
        self.send_response(status)
        self.send_header("Connection", "close")  # the rest of the request may still be unread
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def origin_form(target: str) -> str:
    """The path and query of a request target; an absolute-form one (``http://host/path?q``), which
    RFC 9112 3.2.2 says a server must accept, is reduced to them."""
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return target
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def load_function() -> Function | None:
    """The function, or None once its init error has been reported in one line."""
    from torchlambda.startup import InitError

    try:
        return load_local_function()
    except InitError as error:
        print(f"error: the function failed to initialize: {error}", file=sys.stderr)
        return None


def keep_log(function: Function, path: Path) -> None:
    """Append each log line the function writes to `path` too (`make ab-report-local` reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(function.logger.registered_formatter)
    function.logger.addHandler(handler)
    print(f"logging to {path}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    parser.add_argument(
        "--log", type=Path, help="also append the function's log lines (JSON) to this file"
    )
    args = parser.parse_args(argv)
    require_model()
    server = LocalGateway(("127.0.0.1", args.port), GatewayHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        print(
            f"listening on {url} (model: {model_dir()}); try: curl '{url}/predict?x=42'",
            flush=True,
        )
        function = load_function()
        if function is None:
            return 1
        if args.log is not None:
            keep_log(function, args.log)
        GatewayHandler.function = staticmethod(function)
        print(f"ready: {url}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
