"""A stand-in for the Lambda Runtime API on 127.0.0.1: hands out events, collects the answers.

Kept for the one thing the Lambda Runtime Interface Emulator (RIE), which runs the image's entry
point in `test_runtime_interface`, does not show: which Runtime API call carried an answer. The
RIE answers its invoke with 200 and the payload whether the runtime posted it to
/invocation/{id}/response or to /invocation/{id}/error, adds no X-Amz-Function-Error header, and
logs "status: success" for both. On Lambda the second is a function error: counted in the Errors
metric, and turned by API Gateway into a bare 500 instead of the function's JSON. This stand-in
records the call itself (`Report.kind`), so the tests can show that every answer of the handler,
refusals included, is a response. `test_only_the_stand_in_tells_a_function_error_from_a_response`
checks that the RIE still cannot tell the two apart; when a pinned RIE can, this module can go.

Implements what the runtime interface client calls: GET /runtime/invocation/next (blocks until
an event is queued), POST /runtime/invocation/{id}/response and /error, POST /runtime/init/error.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass(frozen=True)
class Report:
    kind: str  # "response", "error" or "init_error"
    request_id: str | None
    body: Any
    error_type: str | None


class RuntimeApi:
    def __init__(self) -> None:
        self._events: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self.reports: queue.Queue[Report] = queue.Queue()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._events.put(None)  # releases a handler thread blocked in GET next
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: Any, timeout: float = 30.0) -> Report:
        """Queue one event and wait for the function's response, error or init error."""
        request_id = f"request-{next(self._ids)}"
        self._events.put((request_id, json.dumps(event).encode("utf-8")))
        return self.reports.get(timeout=timeout)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404, b"{}")
                    return
                item = api._events.get()
                if item is None:
                    api._events.put(None)
                    self._reply(500, b"{}")
                    return
                request_id, body = item
                self._reply(
                    200,
                    body,
                    {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(int((time.time() + 30) * 1000)),
                        "Lambda-Runtime-Invoked-Function-Arn": (
                            "arn:aws:lambda:us-east-1:123456789012:function:test"
                        ),
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    report = Report("init_error", None, body, error_type)
                elif (
                    len(parts) == 3
                    and parts[0] == "invocation"
                    and parts[2] in ("response", "error")
                ):
                    report = Report(parts[2], parts[1], body, error_type)
                else:
                    self._reply(404, b"{}")
                    return
                self._reply(202, b'{"status":"OK"}')
                api.reports.put(report)

            def _reply(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
