"""The smoke test's HTTP client: one urllib3 connection for the whole run, SigV4 when the API uses
IAM, connection setup timed apart from the requests.

A pool of one connection (a new TLS session per request would inflate the latency figures), no
retries and no redirects: a 3xx comes back as it is, so a signature cannot travel to another host;
nor is anything signed over plain http, except to this machine. Every request ends within
TIMEOUT_SECONDS and within the run's deadline, however slowly the server sends (urllib3's timeouts
bound each socket read, not the whole response, so each read here waits only until a fixed
instant), and reads at most MAX_BODY bytes of a response body. A response that breaks off or is too
big is a BrokenResponse, which fails that request alone; only an API that cannot be reached, or
time running out, stops the run.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

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
    seconds: float  # from sending the request to the body's end, connection setup excluded


class BrokenResponse(Exception):
    """The server answered, but not with a whole, acceptable HTTP response: the connection closed
    mid-response, the response was malformed, or its body was over MAX_BODY."""


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


@dataclass
class Stopwatch:
    """What the client's connection reports: the instant the current request must end by, and the
    seconds each connection took to open (TCP connect, plus the TLS handshake over https)."""

    ends: float = 0.0
    connects: list[float] = field(default_factory=list)


class _DeadlineReader(io.RawIOBase):
    """A response's bytes, each read waiting only until the request's end: a fixed instant rather
    than an idle time, so a server trickling a byte at a time cannot stretch the request past it."""

    def __init__(self, sock: socket.socket, raw: io.RawIOBase, stopwatch: Stopwatch) -> None:
        self.sock, self.raw, self.stopwatch = sock, raw, stopwatch

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        left = self.stopwatch.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        return self.raw.readinto(buffer)

    def close(self) -> None:
        self.raw.close()  # the socket file: the connection keeps the socket itself
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response (which urllib3 wraps), reading through a _DeadlineReader."""

    def __init__(
        self, sock: socket.socket, method: str | None = None, *, stopwatch: Stopwatch
    ) -> None:
        super().__init__(sock, method=method)
        self.fp = io.BufferedReader(_DeadlineReader(sock, self.fp.detach(), stopwatch))


class _TimedConnection(HTTPConnection):
    """urllib3's connection, timing connect() and reading responses against the deadline."""

    def __init__(self, *args: Any, stopwatch: Stopwatch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopwatch = stopwatch
        self.response_class = partial(_DeadlineResponse, stopwatch=stopwatch)  # type: ignore[assignment]

    def connect(self) -> None:
        started = time.perf_counter()
        super().connect()  # the TLS handshake too, in HTTPSConnection's
        self.stopwatch.connects.append(time.perf_counter() - started)


class _TimedHTTPSConnection(_TimedConnection, HTTPSConnection):
    pass


class _Pool(urllib3.HTTPConnectionPool):
    ConnectionCls = _TimedConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TimedHTTPSConnection


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
        self.tls = parsed.scheme == "https"
        self.signer = signer
        self.deadline_seconds = deadline_seconds
        self.requests = 0
        self.stopwatch = Stopwatch()
        self._run_ends = time.monotonic() + deadline_seconds
        self._base_path = parsed.path.rstrip("/")
        # One connection, never more (block=True: a second would wait for it, not open another);
        # urllib3 discards it when the server has closed it and opens the next in its place.
        pool = _HTTPSPool if self.tls else _Pool
        self._pool = pool(
            parsed.hostname, port, maxsize=1, block=True, retries=False, stopwatch=self.stopwatch
        )

    @property
    def connect_seconds(self) -> list[float]:
        """How long each connection the run opened took to set up, in order."""
        return list(self.stopwatch.connects)

    def close(self) -> None:
        self._pool.close()

    def request(
        self, method: str, path: str, query: str = "", body: bytes | None = None
    ) -> Response:
        suffix = path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.signer is not None:
            headers = self.signer.headers(method, self.base_url + suffix, body, headers)
        self.stopwatch.ends = min(time.monotonic() + TIMEOUT_SECONDS, self._run_ends)
        self.requests += 1
        opened = len(self.stopwatch.connects)
        started = time.perf_counter()
        try:
            reply = self._exchange(method, self._base_path + suffix, body, headers)
        except TimeoutError:
            if self.stopwatch.ends < self._run_ends:
                raise OpsError(
                    f"no answer from {self.base_url} to {method} {suffix} "
                    f"within {TIMEOUT_SECONDS} s"
                ) from None
            raise OpsError(
                f"the run's {self.deadline_seconds:g} s deadline passed during {method} {suffix}; "
                "stopped (--deadline sets it)"
            ) from None
        except OSError as error:
            raise OpsError(f"cannot reach {self.base_url}: {error}") from None
        status, reply_headers, content = reply
        setup = sum(self.stopwatch.connects[opened:])
        return Response(
            status=status,
            headers=reply_headers,
            body=content,
            seconds=time.perf_counter() - started - setup,
        )

    def _exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body; raises builtin TimeoutError or OSError for the run to stop,
        BrokenResponse for this request alone to fail."""
        opened = len(self.stopwatch.connects)
        try:
            return self._send(method, target, body, headers)
        except _Dropped as dropped:
            if len(self.stopwatch.connects) > opened:
                raise BrokenResponse(str(dropped)) from None
        # The server closed the kept-alive connection while it was idle, and urllib3 had not
        # noticed yet: once more, on a new one.
        try:
            return self._send(method, target, body, headers)
        except _Dropped as dropped:
            raise BrokenResponse(str(dropped)) from None

    def _send(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        left = self.stopwatch.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        try:
            reply = self._pool.urlopen(
                method,
                target,
                body=body,
                headers=headers,
                retries=False,
                redirect=False,
                # To connect and to send; each read of the response waits only until `ends`.
                timeout=urllib3.Timeout(connect=left, read=left),
                preload_content=False,
                decode_content=False,  # the raw bytes, never inflated past MAX_BODY
            )
        except HTTPError as error:
            raise _translated(error, answered=False) from None
        try:
            content = read_body(reply)
        except HTTPError as error:
            reply.close()  # the rest of that response may still be unread
            raise _translated(error, answered=True) from None
        except BrokenResponse:
            reply.close()
            raise
        finally:
            reply.release_conn()  # back to the pool, open or (to be replaced) closed
        return reply.status, {name.lower(): value for name, value in reply.headers.items()}, content


class _Dropped(BrokenResponse):
    """The connection was closed or reset before the answer began: on a kept-alive connection,
    maybe only for idleness."""


def _translated(error: HTTPError, *, answered: bool) -> Exception:
    """urllib3's exception as what `request` handles: TimeoutError or OSError to stop the run, a
    BrokenResponse to fail this request alone."""
    if isinstance(error, NewConnectionError):  # refused, or the name did not resolve
        return OSError(_reason(error))
    cause = error.args[-1] if isinstance(error, ProtocolError) and error.args else None
    if isinstance(error, Urllib3Timeout) or isinstance(cause, TimeoutError):
        return TimeoutError("timed out")
    if isinstance(cause, (ConnectionError, http.client.HTTPException)):
        return _broken(cause, before_the_answer=not answered)
    return OSError(str(cause) if isinstance(cause, OSError) else _reason(error))


def _broken(cause: Exception, *, before_the_answer: bool) -> BrokenResponse:
    if isinstance(cause, ConnectionError) and before_the_answer:
        return _Dropped(f"connection closed before the response ended ({_describe(cause)})")
    if isinstance(cause, (ConnectionError, http.client.IncompleteRead)):
        return BrokenResponse(f"connection closed before the response ended ({_describe(cause)})")
    return BrokenResponse(f"malformed response ({_describe(cause)})")


def _reason(error: HTTPError) -> str:
    """The socket's own words when urllib3 wraps them (its message starts with the connection)."""
    cause = error.__cause__
    return str(cause) if isinstance(cause, OSError) else str(error)


def _describe(error: BaseException) -> str:
    """The error's name and words, on one line whatever the server sent."""
    text = str(error)
    if not text.isprintable():
        text = repr(text)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def read_body(reply: urllib3.BaseHTTPResponse) -> bytes:
    """The response's body, refused unread when over MAX_BODY: a client reading whatever the server
    sends could be made to hold gigabytes."""
    length = reply.length_remaining
    if length is not None and length > MAX_BODY:  # a Content-Length: refuse before reading
        raise BrokenResponse(
            f"body of {length} bytes (Content-Length) is over the "
            f"{MAX_BODY / MIB:g} MiB limit; not read"
        )
    if length is not None:
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
