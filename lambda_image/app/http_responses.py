"""API Gateway (payload 2.0) responses: strict JSON bodies with the model version in a header."""

from __future__ import annotations

import json
from typing import Any

from errors import ApiError


def json_response(
    status: int, payload: dict[str, Any], model_version: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "content-type": "application/json",
            "x-model-version": model_version,
            **(headers or {}),
        },
        # allow_nan=False: a NaN that slipped through raises here instead of reaching a client.
        "body": json.dumps(payload, allow_nan=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(error: ApiError, model_version: str) -> dict[str, Any]:
    payload = {"error": {"code": error.code, "message": error.message}}
    headers = {"allow": error.allow} if error.allow else None
    return json_response(error.status, payload, model_version, headers)
