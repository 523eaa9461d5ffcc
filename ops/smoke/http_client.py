"""A small HTTP client for the deployed API, signing requests with SigV4 when the API uses IAM.

It keeps one connection for the whole run (a new TLS session per request would inflate the latency
figures) and never follows a redirect: http.client does not, so a signature cannot travel to
another host; nor does it sign over plain http, except to this machine. Every request ends within
TIMEOUT_SECONDS and within the run's deadline, however slowly the server sends, and reads at most
MAX_BODY bytes of a response body. A response that breaks off or is too big is a BrokenResponse,
which fails that request alone; only an API that cannot be reached, or time running out, stops the
run.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import time
import urllib.parse
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ops.errors import OpsError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

TIMEOUT_SECONDS = 35  # above API Gateway's 30 s integration limit: its own 504 is what we see
MAX_BODY = 16 * 1024 * 1024  # above the API's 6 MB response limit; a bigger body is not read
MIB = 1024 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    seconds: float


class BrokenResponse(Exception):
    """The server answered, but not with a whole, acceptable HTTP response: the connection closed
    mid-response, the response was malformed, or its body was over MAX_BODY."""


class _Dropped(BrokenResponse):
    """The connection was closed or reset: on a kept-alive connection, maybe only for idleness."""


class Signer:
    """SigV4 for API Gateway (service `execute-api`) with the caller's AWS credentials."""

    def __init__(self, credentials: Any, region: str) -> None:
        self.auth = SigV4Auth(credentials, "execute-api", region)

    def headers(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        self.auth.add_auth(request)
        return dict(request.headers.items())


class _DeadlineReader(io.RawIOBase):
    """A response's bytes, each read waiting only until `ends`: a fixed instant rather than an
    idle time, so a server trickling a byte at a time cannot stretch the request past it."""

    def __init__(self, sock: socket.socket, raw: io.RawIOBase, ends: float) -> None:
        self.sock, self.raw, self.ends = sock, raw, ends

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        return self.raw.readinto(buffer)

    def close(self) -> None:
        self.raw.close()  # the socket file: the connection keeps the socket itself
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, method: str | None = None, *, ends: float) -> None:
        super().__init__(sock, method=method)
        self.fp = io.BufferedReader(_DeadlineReader(sock, self.fp.detach(), ends))


class HttpClient:
    def __init__(self, base_url: str, signer: Signer | None, deadline_seconds: float) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise OpsError(f"URL={base_url!r} is not an http(s) URL; e.g. http://127.0.0.1:8080")
        try:
            port = parsed.port
        except ValueError:
            raise OpsError(f"URL={base_url!r} has an invalid port") from None
        if signer is not None and parsed.scheme == "http" and not is_loopback(parsed.hostname):
            raise OpsError(
                f"URL={base_url!r} is plain http: the SigV4 signature and session token would "
                "cross the network in cleartext; use https (plain http is signed only to "
                "127.0.0.1, ::1 or localhost)"
            )
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.deadline_seconds = deadline_seconds
        self._run_ends = time.monotonic() + deadline_seconds
        self._base_path = parsed.path.rstrip("/")
        kind = (
            http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        )
        self._connection = kind(parsed.hostname, port)

    def close(self) -> None:
        self._connection.close()

    def request(
        self, method: str, path: str, query: str = "", body: bytes | None = None
    ) -> Response:
        suffix = path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.signer is not None:
            headers = self.signer.headers(method, self.base_url + suffix, body, headers)
        ends = min(time.monotonic() + TIMEOUT_SECONDS, self._run_ends)
        started = time.perf_counter()
        try:
            status, reply_headers, content = self._exchange(
                method, self._base_path + suffix, body, headers, ends
            )
        except TimeoutError:
            self.close()
            if ends < self._run_ends:
                raise OpsError(
                    f"no answer from {self.base_url} to {method} {suffix} "
                    f"within {TIMEOUT_SECONDS} s"
                ) from None
            raise OpsError(
                f"the run's {self.deadline_seconds:g} s deadline passed during {method} {suffix}; "
                "stopped (--deadline sets it)"
            ) from None
        except BrokenResponse:
            self.close()  # the rest of that response may still be unread
            raise
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise OpsError(f"cannot reach {self.base_url}: {error}") from None
        return Response(
            status=status,
            headers={name.lower(): value for name, value in reply_headers},
            body=content,
            seconds=time.perf_counter() - started,
        )

    def _exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str], ends: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self._connection.sock is not None:  # kept open since the last request
            try:
                return self._send(method, target, body, headers, ends)
            except _Dropped:
                # The server closed the kept-alive connection while it was idle: once more on a
                # new one.
                self.close()
        self._connect(ends)  # an error here means the API cannot be reached at all
        try:
            return self._send(method, target, body, headers, ends)
        except _Dropped as dropped:
            raise BrokenResponse(str(dropped)) from None

    def _connect(self, ends: float) -> None:
        left = ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._connection.timeout = left  # to connect, and shake hands
        self._connection.connect()

    def _send(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str], ends: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = self._connection
        left = ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        if connection.sock is not None:
            connection.sock.settimeout(left)  # to send: sendall's timeout covers all of it
        # To receive: each read of the response waits only until `ends`.
        connection.response_class = partial(_DeadlineResponse, ends=ends)  # type: ignore[assignment]
        try:
            connection.request(method, target, body=body, headers=headers)
            with connection.getresponse() as reply:
                return reply.status, reply.getheaders(), read_body(reply)
        except ConnectionError as error:
            raise _Dropped(
                f"connection closed before the response ended ({_describe(error)})"
            ) from None
        except http.client.IncompleteRead as error:
            raise BrokenResponse(
                f"connection closed before the response ended ({_describe(error)})"
            ) from None
        except http.client.HTTPException as error:
            raise BrokenResponse(f"malformed response ({_describe(error)})") from None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def read_body(reply: http.client.HTTPResponse) -> bytes:
    """The response's body, refused unread when over MAX_BODY: a client reading whatever the server
    sends could be made to hold gigabytes."""
    if reply.length is not None:  # a Content-Length: refuse before reading any of it
        if reply.length > MAX_BODY:
            raise BrokenResponse(
                f"body of {reply.length} bytes (Content-Length) is over the "
                f"{MAX_BODY / MIB:g} MiB limit; not read"
            )
        return reply.read()  # IncompleteRead if the connection closes before its end
    content = reply.read(MAX_BODY + 1)  # chunked, or until the connection closes
    if len(content) > MAX_BODY:
        raise BrokenResponse(f"body over the {MAX_BODY / MIB:g} MiB limit; not read further")
    return content


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
