"""What API Gateway's HTTP API does around the function: the routes that reach it, HTTP request ->
payload 2.0 event, and the function's result -> HTTP response. Only the parts this API relies on
are reproduced."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from torchlambda.contract import ROUTES

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
# The API's routes, as (method, path): the deployed API has these and no other, so a request that
# matches none never reaches the function.
ROUTE_KEYS = frozenset((route.method, route.path) for route in ROUTES)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


# What API Gateway answers itself, whatever the method, for a request no route takes.
NOT_FOUND = HttpResponse(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')


def route_key(method: str, target: str) -> tuple[str, str]:
    """The (method, path) of an origin-form request target, as the routes are matched: exactly,
    on the $default stage."""
    return method, target.partition("?")[0]


def to_event(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    path, _, raw_query = target.partition("?")
    matched_route = f"{method} {path}"  # the gateway forwards only requests that match a route
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        # The gateway joins repeated parameters with a comma: ?x=1&x=2 arrives as "1,2".
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": matched_route,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": merged.get("host", "127.0.0.1"),
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": matched_route,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if body:
        event.update(_encode_body(body, merged.get("content-type", "")))
    return event


def _encode_body(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.lower().startswith(TEXT_TYPES):
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def from_result(result: Any) -> HttpResponse:
    if isinstance(result, dict) and "statusCode" in result:
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        return HttpResponse(int(result["statusCode"]), headers, body)
    # A result without statusCode is sent as JSON with 200, as the gateway does.
    body = json.dumps(result).encode("utf-8")
    return HttpResponse(200, {"content-type": "application/json"}, body)
