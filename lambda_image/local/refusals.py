"""The refusals `make serve`'s gateway makes itself, before any route or the function: a stable code
for each status and the API's JSON error envelope they are answered in.

The server (serve.py) sends them and the API description (openapi.py) documents them; both import
them from here, as the server also serves the description.
"""

from __future__ import annotations

import json
from http import HTTPStatus

# Stable codes for the refusals the gateway makes itself, as the function's own codes are.
ERROR_CODES = {
    HTTPStatus.BAD_REQUEST: "bad_request",
    HTTPStatus.REQUEST_TIMEOUT: "request_timeout",
    HTTPStatus.LENGTH_REQUIRED: "length_required",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTPStatus.REQUEST_URI_TOO_LONG: "request_line_too_long",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "headers_too_large",
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: "http_version_not_supported",
    HTTPStatus.SERVICE_UNAVAILABLE: "too_many_connections",
}


def error_envelope(status: HTTPStatus, message: str) -> bytes:
    """The API's JSON error body for a refusal the gateway makes itself."""
    error = {"code": ERROR_CODES.get(status, status.name.lower()), "message": message}
    return json.dumps({"error": error}).encode()
