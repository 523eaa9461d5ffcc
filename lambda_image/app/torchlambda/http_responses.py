"""API Gateway (payload 2.0) responses: strict JSON bodies with the answering model's version and
variant in headers."""

from __future__ import annotations

from typing import Any

import orjson

from torchlambda.contract import MODEL_VARIANT_HEADER, MODEL_VERSION_HEADER, Variant
from torchlambda.errors import ApiError


def json_response(
    status: int,
    payload: dict[str, Any],
    model_version: str,
    variant: Variant,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "content-type": "application/json",
            MODEL_VERSION_HEADER: model_version,
            MODEL_VARIANT_HEADER: variant,
            **(headers or {}),
        },
        # Compact, UTF-8. Every float here is finite: x is validated and outputs are checked.
        "body": orjson.dumps(payload).decode(),
        "isBase64Encoded": False,
    }


def error_response(error: ApiError, model_version: str, variant: Variant) -> dict[str, Any]:
    payload = {"error": {"code": error.code, "message": error.message}}
    headers = {"allow": error.allow} if error.allow else None
    return json_response(error.status, payload, model_version, variant, headers)
