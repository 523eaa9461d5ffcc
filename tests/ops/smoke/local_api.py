"""The inference API on 127.0.0.1: the real local server (`make serve`), or a faulty handler."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from pathlib import Path
from typing import Any

from lambda_image.local import serve

REPO_ROOT = Path(__file__).resolve().parents[3]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@contextmanager
def local_server(
    model_dir: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """Run `python -m lambda_image.local.serve` (what `make serve` runs) on a free port, with
    `env` added to its environment and its log appended to `log`."""
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "lambda_image.local.serve", "--port", "0"),
            *(("--log", str(log)) if log is not None else ()),
        ],
        cwd=REPO_ROOT,
        # As `make serve` sets them: no metrics lines outside Lambda.
        env={
            **os.environ,
            "MODEL_DIR": str(model_dir),
            "POWERTOOLS_METRICS_DISABLED": "true",
            **(env or {}),
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


class Gateway(HTTPServer):
    """One connection at a time, counting those it accepts; over TLS when given a context, its
    handshake held back by `handshake_delay` seconds (a far-away server's round trips)."""

    def __init__(
        self, handler: type[serve.GatewayHandler], tls: ssl.SSLContext | None, delay: float
    ) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.tls, self.handshake_delay = tls, delay
        self.accepted = 0
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server_address[1]}"

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        self.accepted += 1
        if self.tls is None:
            return connection, address
        time.sleep(self.handshake_delay)
        return self.tls.wrap_socket(connection, server_side=True), address


@contextmanager
def gateway_for(
    function: Handler,
    routes: frozenset[tuple[str, str]] = serve.GatewayHandler.routes,
    *,
    tls: ssl.SSLContext | None = None,
    handshake_delay: float = 0.0,
) -> Iterator[Gateway]:
    """The local server's gateway in front of `function`, in a thread of this process; `routes`,
    the (method, path) pairs it forwards, default to the table's."""
    attributes = {"function": staticmethod(function), "routes": routes}
    handler = type("Gateway", (serve.GatewayHandler,), attributes)
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = Gateway(handler, tls, handshake_delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def server_for(
    function: Handler, routes: frozenset[tuple[str, str]] = serve.GatewayHandler.routes
) -> Iterator[str]:
    """gateway_for's URL."""
    with gateway_for(function, routes) as gateway:
        yield gateway.url


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the certificate a client must trust (SSL_CERT_FILE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
