"""A local endpoint answering every call of an AWS JSON-protocol service (CloudWatch Logs) with one
error, as AWS does: status 400 and the error's type in `__type`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Refusing(BaseHTTPRequestHandler):
    code = "AccessDeniedException"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"__type": self.code, "message": "stand-in refuses"}).encode()
        self.send_response(400)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def json_error_server(code: str) -> Iterator[str]:
    """The URL of an endpoint that fails every call with `code`."""
    handler = type("Refusing", (_Refusing,), {"code": code})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
