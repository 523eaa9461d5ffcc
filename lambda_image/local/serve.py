"""Serve the handler on 127.0.0.1 over HTTP, each request as a payload 2.0 event: ``make serve``.

The socket is bound and the URL printed before the model loads, so a client may connect at once;
its request is answered as soon as init is done. One request at a time, like one Lambda sandbox.
"""

from __future__ import annotations

import argparse
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

from lambda_image.local.function import LocalContext, import_handler, model_dir, require_model
from lambda_image.local.gateway import from_result, to_event

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


class GatewayHandler(BaseHTTPRequestHandler):
    function: ClassVar[Any] = None
    server_version = "local-gateway"

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.send_error(413, "payload larger than 10 MiB")
            return
        body = self.rfile.read(length) if length else b""
        event = to_event(
            self.command, self.path, self.headers.items(), body, self.client_address[0]
        )
        response = from_result(self.function(event, LocalContext()))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    args = parser.parse_args(argv)
    require_model()
    server = HTTPServer(("127.0.0.1", args.port), GatewayHandler)
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
