"""Turns a Lambda event into the few facts the API routes on.

Two shapes arrive: API Gateway HTTP API events (payload format 2.0), and the book's direct-invoke
test event ``{"queryStringParameters": {"x": 42}}``, which is treated as ``GET /predict``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torchlambda.errors import bad_request


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, Any] = field(default_factory=dict)
    body: str | None = None
    body_is_base64: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # names lowercase, as API Gateway sends
    request_id: str = ""  # API Gateway's id of the request; empty for a direct invoke

    def text_body(self) -> str:
        """The body as text, base64 decoded first when API Gateway encoded it."""
        if self.body is None or self.body == "":
            raise bad_request("invalid_body", "a JSON body is required")
        if not self.body_is_base64:
            return self.body
        try:
            return base64.b64decode(self.body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            # ValueError also covers UnicodeDecodeError and non-ASCII characters in the base64.
            raise bad_request("invalid_body", "body is neither valid base64 nor UTF-8") from None


def parse_event(event: Any) -> Request:
    if not isinstance(event, dict):
        raise bad_request("bad_event", "the event must be a JSON object")
    query = event.get("queryStringParameters") or {}
    if not isinstance(query, dict):
        raise bad_request("bad_event", "queryStringParameters must be an object")
    context = event.get("requestContext")
    if context is None:
        return Request(
            method="GET", path="/predict", query=query, headers=_headers(event.get("headers"))
        )
    http = context.get("http") if isinstance(context, dict) else None
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        raise bad_request("bad_event", "not an HTTP API (payload format 2.0) event")
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise bad_request("bad_event", "body must be a string")
    request_id = context.get("requestId")
    return Request(
        method=http["method"].upper(),
        path=_route_path(event, context, http),
        query=query,
        body=body,
        body_is_base64=event.get("isBase64Encoded") is True,
        headers=_headers(event.get("headers")),
        request_id=request_id if isinstance(request_id, str) else "",
    )


def _headers(raw: Any) -> dict[str, str]:
    """Text headers by lowercase name; anything else in an event's headers is not a header."""
    if not isinstance(raw, dict):
        return {}
    return {name.lower(): value for name, value in raw.items() if isinstance(value, str)}


def _route_path(event: dict[str, Any], context: dict[str, Any], http: dict[str, Any]) -> str:
    path = event.get("rawPath") or http.get("path") or "/"
    if not isinstance(path, str):
        return "/"
    # On a named stage (not $default) API Gateway keeps the stage in the path: /dev/predict.
    stage = context.get("stage")
    if isinstance(stage, str) and stage not in ("", "$default"):
        prefix = f"/{stage}"
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :] or "/"
    return path.rstrip("/") or "/"
