"""A small HTTP client for the deployed API, signing requests with SigV4 when the API uses IAM."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ops.errors import OpsError

TIMEOUT_SECONDS = 35  # above API Gateway's 30 s integration limit: its own 504 is what we see


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    seconds: float


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


class HttpClient:
    def __init__(self, base_url: str, signer: Signer | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise OpsError(f"URL={base_url!r} is not an http(s) URL; e.g. http://127.0.0.1:8080")
        self.base_url = base_url.rstrip("/")
        self.signer = signer

    def request(
        self, method: str, path: str, query: str = "", body: bytes | None = None
    ) -> Response:
        url = self.base_url + path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.signer is not None:
            headers = self.signer.headers(method, url, body, headers)
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
                status, reply_headers, content = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry a response to check
            status, reply_headers, content = error.code, error.headers, error.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise OpsError(f"cannot reach {self.base_url}: {reason}") from None
        return Response(
            status=status,
            headers={name.lower(): value for name, value in reply_headers.items()},
            body=content,
            seconds=time.perf_counter() - started,
        )
