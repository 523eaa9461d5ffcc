"""The inference API on 127.0.0.1: the real local server (`make serve`), or a faulty handler."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from pathlib import Path
from typing import Any

from lambda_image.local import serve

REPO_ROOT = Path(__file__).resolve().parents[3]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@contextmanager
def local_server(model_dir: Path) -> Iterator[str]:
    """Run `python -m lambda_image.local.serve` (what `make serve` runs) on a free port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lambda_image.local.serve", "--port", "0"],
        cwd=REPO_ROOT,
        # As `make serve` sets them: no metrics lines or tracing outside Lambda.
        env={
            **os.environ,
            "MODEL_DIR": str(model_dir),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # "ready: <url>" once the model has loaded
            if line.startswith("ready: "):
                url = line.split()[1]
                break
        else:
            raise AssertionError(f"local server exited with {process.wait()} before it was ready")
        # Keep reading its stdout so the server never blocks on a full pipe.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def server_for(
    function: Handler, routes: frozenset[tuple[str, str]] = serve.GatewayHandler.routes
) -> Iterator[str]:
    """The local server's gateway in front of `function`, in a thread of this process; `routes`,
    the (method, path) pairs it forwards, default to the table's."""
    attributes = {"function": staticmethod(function), "routes": routes}
    gateway = type("Gateway", (serve.GatewayHandler,), attributes)
    gateway.log_message = lambda *args: None  # type: ignore[method-assign]
    server = HTTPServer(("127.0.0.1", 0), gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
