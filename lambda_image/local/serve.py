"""Serve the handler on 127.0.0.1 over HTTP, each request as a payload 2.0 event: ``make serve``.

The socket is bound and the URL printed before the model loads, so a client may connect at once;
its request is answered as soon as init is done. Each connection has its own thread and read
timeout, so an idle or slow client holds up no one else, but the function runs one invocation at a
time, like one Lambda sandbox. What the gateway refuses itself (a malformed request, a body over
10 MiB, a request left unfinished) is answered in the API's JSON error envelope, never in HTML.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from lambda_image.local.function import LocalContext, import_handler, model_dir, require_model
from lambda_image.local.gateway import from_result, to_event

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LINE = 65536  # the standard library's limit for the request line and each header line
TIMEOUT_SECONDS = 15.0  # for each read and write, and for an idle keep-alive connection
LINGER_SECONDS = 2.0  # how long a closing connection reads what the client is still sending
# The methods an HTTP API route can name; the function answers those it does not serve itself.
FORWARDED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# Stable codes for the refusals the gateway makes itself, as the function's own codes are.
ERROR_CODES = {
    HTTPStatus.BAD_REQUEST: "bad_request",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.REQUEST_TIMEOUT: "request_timeout",
    HTTPStatus.LENGTH_REQUIRED: "length_required",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTPStatus.REQUEST_URI_TOO_LONG: "request_line_too_long",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "headers_too_large",
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: "http_version_not_supported",
}


class LocalGateway(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for idle keep-alive connections
    request_queue_size = 128  # listen backlog: a burst of clients waits instead of being dropped

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


class GatewayHandler(BaseHTTPRequestHandler):
    function: ClassVar[Any] = None
    # One sandbox runs one invocation at a time; the handler and its logger are not thread-safe.
    invocation_lock: ClassVar[threading.Lock] = threading.Lock()
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway
    default_request_version = "HTTP/1.0"  # not 0.9, whose answers have no status line or headers
    server_version = "local-gateway"
    timeout = TIMEOUT_SECONDS
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

    def handle_one_request(self) -> None:
        # Unlike the standard library, which closes a timed-out connection without a word, a
        # request cut short is answered 408; an idle connection closes silently, as keep-alive
        # allows.
        self.close_connection = True
        if not self._request_arrives():
            return
        self.command = self.requestline = self.request_version = ""  # until parsed, for send_error
        try:
            body = self._read_request()
        except TimeoutError:
            self.send_error(
                HTTPStatus.REQUEST_TIMEOUT,
                f"request incomplete: nothing sent for {self.timeout:g} s",
            )
            return
        if body is not None:
            self._answer(body)

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
        self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
        if len(self.raw_requestline) > MAX_LINE:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        if not self.raw_requestline.strip():  # parse_request would close without an answer
            self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
            return False
        if not self.parse_request():  # it has sent 400, 431 or 505
            return False
        if self.command not in FORWARDED_METHODS:
            # What the deployed HTTP API answers for a method no route names (not 405: its Allow
            # header would have to list methods for a path the gateway knows nothing about).
            self.send_error(HTTPStatus.NOT_FOUND, f"no route for method {self.command!r}")
            return False
        return True

    def handle_expect_100(self) -> bool:
        # Refuse before the client sends a body that would not be read.
        return self._content_length() is not None and super().handle_expect_100()

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
        if int(text) > MAX_BODY:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload larger than 10 MiB")
            return None
        return int(text)

    def _answer(self, body: bytes) -> None:
        event = to_event(
            self.command, self.path, self.headers.items(), body, self.client_address[0]
        )
        with self.invocation_lock:
            result = self.function(event, LocalContext())
        response = from_result(result)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal, the standard library's included, in the API's JSON error envelope."""
        status = HTTPStatus(code)
        text = ": ".join(part for part in (message or status.phrase, explain) if part)
        error = {"code": ERROR_CODES.get(status, status.name.lower()), "message": text}
        payload = json.dumps({"error": error}).encode()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    args = parser.parse_args(argv)
    require_model()
    server = LocalGateway(("127.0.0.1", args.port), GatewayHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"listening on {url} (model: {model_dir()}); try: curl '{url}/predict?x=42'", flush=True)
    GatewayHandler.function = staticmethod(import_handler().handler)
    print(f"ready: {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
