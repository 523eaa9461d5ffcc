"""The OpenAPI 3.1 description of the HTTP API, generated from the contract: `make docs` writes it
to docs/openapi.json, and `make serve` serves it at /openapi.json.

Each route of `contract.ROUTES` is one operation: its path, method, operationId and summary come
from the table, the limits from the contract, the local gateway's own refusals from refusals.py.
What each operation takes and answers (OPERATIONS, keyed by the route's operation name) is written
from the handler's code; tests compare it with the handler's answers and fuzz `make serve` with it.

    python -m lambda_image.local.openapi --out docs/openapi.json    # write it
    python -m lambda_image.local.openapi --check docs/openapi.json  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from importlib.metadata import version
from pathlib import Path
from typing import Any

from lambda_image.local.gateway import NOT_FOUND
from lambda_image.local.refusals import ERROR_CODES
from tooling.arguments import OneLineParser
from tooling.atomic import write_file_atomically
from torchlambda.contract import (
    DEFAULT_MAX_ABS_X,
    ENV_MAX_ABS_X,
    EXPERIMENT_MODES,
    MAX_BATCH,
    MAX_BODY_CHARS,
    MAX_X_CHARS,
    MODEL_VARIANT_HEADER,
    MODEL_VERSION_HEADER,
    MODEL_VERSION_LENGTH,
    ROUTES,
    Route,
)
from torchlambda.experiment.request_record import VARIANTS

OPENAPI_VERSION = "3.1.0"
DOCUMENT_PATH = "/openapi.json"  # where `make serve` serves it; the deployed API has no such route
JSON = "application/json"
MIB = 1 << 20
Schema = dict[str, Any]

# The function's refusals, code -> when. The codes are literals in torchlambda (api.py,
# request.py, validation.py, function.py): tests send a request for each through the handler.
MODEL_FAULTS = {
    "model_error": "the model produced NaN or infinity (logged; init's finiteness proof makes "
    "this unreachable for a model it accepted)",
    "internal": "a fault of the function (logged with its traceback; the answer has none)",
}
GATEWAY_REFUSAL = "`make serve` refuses the request itself, before the function runs"
OUT_OF_RANGE = {
    "out_of_range": f"x overflows to infinity, or |x| is above {ENV_MAX_ABS_X} "
    f"({DEFAULT_MAX_ABS_X:,.0f} by default)",
}


@dataclass(frozen=True)
class Operation:
    """What a route takes and answers, beyond the method, path and summary ROUTES gives it."""

    description: str
    answer: str  # the component schema of its 200 body
    answer_description: str
    refusals: Mapping[HTTPStatus, Mapping[str, str]]  # the function's: status -> code -> when
    parameters: tuple[Schema, ...] = ()
    request_body: Schema | None = None


def ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


OPERATIONS: dict[str, Operation] = {
    "predict_one": Operation(
        description="The model's prediction for one x, given in the query string.",
        answer="PredictOne",
        answer_description="The prediction: x as read, and y.",
        parameters=(
            {
                "name": "x",
                "in": "query",
                "required": True,
                "description": "One number, written as a plain decimal (`42`, `-1.5`, `.5`, "
                f"`2e3`) of at most {MAX_X_CHARS} characters. The name is case-sensitive, and a "
                "repeated x (`x=1&x=2`, which the gateway joins into `1,2`) is refused.",
                "schema": ref("schemas", "X"),
            },
        ),
        refusals={
            HTTPStatus.BAD_REQUEST: {
                "missing_x": "no x in the query string, or `x=` (empty)",
                "invalid_x": "x is not a plain decimal number of at most "
                f"{MAX_X_CHARS} characters (`abc`, `nan`, `inf`, `0x10`, `1_000`, `1,2`, "
                "spaces around it, non-ASCII digits)",
                **OUT_OF_RANGE,
            },
            HTTPStatus.INTERNAL_SERVER_ERROR: MODEL_FAULTS,
        },
    ),
    "predict_body": Operation(
        description="The model's predictions for a number or a list of numbers, in a JSON body: "
        "a number in, a number out; a list in, a list of as many out, in order.",
        answer="Predictions",
        answer_description="y for the x sent: a number for a number, a list for a list.",
        request_body={
            "required": True,
            "description": f"A JSON object whose x is a number or a list of 1 to {MAX_BATCH:,} "
            f"numbers (`true` is not a number), at most {MAX_BODY_CHARS // MIB} MiB "
            f"({MAX_BODY_CHARS:,} characters). Other keys are ignored. The body is read as JSON "
            "whatever its Content-Type: API Gateway base64-encodes a non-text body and the "
            "function decodes it.",
            "content": {
                JSON: {
                    "schema": ref("schemas", "PredictBody"),
                    "examples": {
                        "scalar": {"summary": "one number", "value": {"x": 42}},
                        "batch": {"summary": "a list of numbers", "value": {"x": [1, 2.5, 3]}},
                    },
                }
            },
        },
        refusals={
            HTTPStatus.BAD_REQUEST: {
                "invalid_json": "the body is not strict JSON (`NaN` and `Infinity` included)",
                "invalid_body": "no body, a body that is not a JSON object with x, or a "
                "base64-encoded body that is not base64 of UTF-8",
                "invalid_x": "x is not a number or a list of numbers (a string, a bool, null, "
                "an object, a nested list)",
                "empty_batch": "x is an empty list",
                **OUT_OF_RANGE,
            },
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE: {
                "batch_too_large": f"x holds more than {MAX_BATCH:,} numbers",
                "payload_too_large": f"the body is over {MAX_BODY_CHARS // MIB} MiB",
            },
            HTTPStatus.INTERNAL_SERVER_ERROR: MODEL_FAULTS,
        },
    ),
    "feedback": Operation(
        description="Labelled observations: each x with the true y, as it became known. Each "
        "pair is scored by every model the function serves (the champion and, during an "
        "experiment, the challenger) and logged for `make ab-report`; nothing is answered with "
        "a prediction.",
        answer="Recorded",
        answer_description="How many pairs were recorded.",
        request_body={
            "required": True,
            "description": "One pair, a JSON object with x and the true y, or a batch: an "
            f"object whose pairs is a list of 1 to {MAX_BATCH:,} such objects. x within the "
            f"served domain, y any finite number; at most {MAX_BODY_CHARS // MIB} MiB. Other "
            "keys are ignored.",
            "content": {
                JSON: {
                    "schema": ref("schemas", "FeedbackBody"),
                    "examples": {
                        "pair": {"summary": "one observation", "value": {"x": 42, "y": 40.5}},
                        "batch": {
                            "summary": "several observations",
                            "value": {"pairs": [{"x": 1, "y": 3.2}, {"x": 2.5, "y": 4.1}]},
                        },
                    },
                }
            },
        },
        refusals={
            HTTPStatus.BAD_REQUEST: {
                "invalid_json": "the body is not strict JSON (`NaN` and `Infinity` included)",
                "invalid_body": "no body, a body that is not a JSON object with x and y or with "
                "pairs, pairs that is not a list, or an item of it without x and y",
                "invalid_x": "an x is not a number",
                "invalid_y": "a y is not a number",
                "empty_batch": "pairs is an empty list",
                "out_of_range": f"an |x| is above {ENV_MAX_ABS_X}, or an x or y overflows to "
                "infinity",
            },
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE: {
                "batch_too_large": f"pairs holds more than {MAX_BATCH:,} pairs",
                "payload_too_large": f"the body is over {MAX_BODY_CHARS // MIB} MiB",
            },
            HTTPStatus.INTERNAL_SERVER_ERROR: MODEL_FAULTS,
        },
    ),
    "health": Operation(
        description="Whether the function is up, with the champion's version, torch's, and the "
        "experiment it runs.",
        answer="Health",
        answer_description="The function is up.",
        refusals={HTTPStatus.INTERNAL_SERVER_ERROR: {"internal": MODEL_FAULTS["internal"]}},
    ),
}


def number_or_list(item: Schema, what: str) -> Schema:
    return {
        "oneOf": [
            item,
            {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_BATCH},
        ],
        "description": what,
    }


def closed_object(properties: Mapping[str, Schema]) -> Schema:
    """An object with exactly these properties: what the function writes, nothing more."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": dict(properties),
        "additionalProperties": False,
    }


def schemas() -> dict[str, Schema]:
    version_pattern = f"^[0-9a-f]{{{MODEL_VERSION_LENGTH}}}$"
    return {
        "ModelVersion": {
            "type": "string",
            "pattern": version_pattern,
            "description": f"The first {MODEL_VERSION_LENGTH} hex digits of the served model's "
            "model_id (the sha256 of its architecture and weights).",
        },
        "X": {
            "type": "number",
            "minimum": -DEFAULT_MAX_ABS_X,
            "maximum": DEFAULT_MAX_ABS_X,
            "description": f"An input: finite, with |x| <= {ENV_MAX_ABS_X}, the function's "
            f"setting ({DEFAULT_MAX_ABS_X:,.0f} by default).",
            "examples": [42, -1.5, 2000],
        },
        "Y": {"type": "number", "description": "The model's float32 output for one x; finite."},
        "Variant": {
            "enum": list(VARIANTS),
            "description": "Which model answered: the champion, or during a split experiment "
            "the challenger.",
        },
        "PredictOne": closed_object(
            {
                "x": {"type": "number", "description": "x, as a float"},
                "y": ref("schemas", "Y"),
                "model_version": ref("schemas", "ModelVersion"),
                "variant": ref("schemas", "Variant"),
            }
        ),
        "PredictBody": {
            "type": "object",
            "required": ["x"],
            "properties": {"x": number_or_list(ref("schemas", "X"), "the input or inputs")},
        },
        "Predictions": closed_object(
            {
                "y": number_or_list(ref("schemas", "Y"), "the output or outputs, in order"),
                "model_version": ref("schemas", "ModelVersion"),
                "variant": ref("schemas", "Variant"),
            }
        ),
        "Pair": {
            "type": "object",
            "required": ["x", "y"],
            "properties": {
                "x": ref("schemas", "X"),
                "y": {"type": "number", "description": "the true value for x"},
            },
        },
        "FeedbackBody": {
            "oneOf": [
                # With pairs present the body is a batch, whatever else it holds.
                {"allOf": [ref("schemas", "Pair"), {"not": {"required": ["pairs"]}}]},
                {
                    "type": "object",
                    "required": ["pairs"],
                    "properties": {
                        "pairs": {
                            "type": "array",
                            "items": ref("schemas", "Pair"),
                            "minItems": 1,
                            "maxItems": MAX_BATCH,
                        }
                    },
                },
            ]
        },
        "Recorded": closed_object(
            {
                "recorded": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH},
                "model_version": ref("schemas", "ModelVersion"),
                "variant": {"const": VARIANTS[0]},
            }
        ),
        "Health": closed_object(
            {
                "status": {"const": "ok"},
                "model_version": ref("schemas", "ModelVersion"),
                "variant": {"const": VARIANTS[0]},
                "torch": {"type": "string", "description": "torch's version, e.g. 2.13.0"},
                "experiment": {"enum": list(EXPERIMENT_MODES)},
                "challenger_version": {
                    "oneOf": [ref("schemas", "ModelVersion"), {"type": "null"}],
                    "description": "the challenger's version during an experiment, else null",
                },
            }
        ),
        "Error": closed_object(
            {
                "error": closed_object(
                    {
                        "code": {"type": "string", "description": "stable; see each response"},
                        "message": {"type": "string", "description": "for people; may change"},
                    }
                )
            }
        ),
        "GatewayMessage": closed_object({"message": {"type": "string"}}),
    }


def error_content(codes: list[str]) -> Schema:
    """The API's error envelope, with one of these codes."""
    only_these = {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}
    return {JSON: {"schema": {"allOf": [ref("schemas", "Error"), only_these]}}}


def refusal(status: HTTPStatus, function_codes: Mapping[str, str]) -> Schema:
    """The answer with this status: the function's refusals, the local gateway's, or either."""
    gateway_code = ERROR_CODES.get(status)
    if not function_codes and gateway_code is not None:
        return ref("responses", gateway_code)  # the same for every operation
    codes = list(function_codes)
    lines = [f"- `{code}`: {when}" for code, when in function_codes.items()]
    if gateway_code is not None:
        codes += [gateway_code] if gateway_code not in codes else []
        lines.append(f"- `{gateway_code}`: {GATEWAY_REFUSAL}")
    return {
        "description": "\n".join([status.phrase, "", *lines]),
        # The function's answers carry the model version; the local gateway's own refusals do not.
        "headers": model_headers(gateway_code is None),
        "content": error_content(codes),
    }


def gateway_refusals() -> dict[str, Schema]:
    """`make serve`'s own refusals, which any operation may get, by their code."""
    return {
        code: {
            "description": f"{status.phrase}: {GATEWAY_REFUSAL}",
            "content": error_content([code]),
        }
        for status, code in ERROR_CODES.items()
    }


def model_headers(required: bool) -> Schema:
    return {
        MODEL_VERSION_HEADER: {
            "description": "The answering model's version, as in the body's model_version.",
            "required": required,
            "schema": ref("schemas", "ModelVersion"),
        },
        MODEL_VARIANT_HEADER: {
            "description": "The answering model's variant, as in the body's variant.",
            "required": required,
            "schema": ref("schemas", "Variant"),
        },
    }


def operation_object(route: Route) -> Schema:
    try:
        operation = OPERATIONS[route.operation]
    except KeyError:
        raise KeyError(
            f"route {route.method} {route.path} ({route.operation}) is not described: "
            "add it to OPERATIONS in lambda_image/local/openapi.py"
        ) from None
    responses: dict[str, Schema] = {
        "200": {
            "description": operation.answer_description,
            "headers": model_headers(True),
            "content": {JSON: {"schema": ref("schemas", operation.answer)}},
        }
    }
    for status in sorted({*operation.refusals, *ERROR_CODES}):
        responses[str(status.value)] = refusal(status, operation.refusals.get(status, {}))
    described: Schema = {
        "operationId": route.operation,
        "summary": route.summary,
        "description": operation.description,
    }
    if operation.parameters:
        described["parameters"] = list(operation.parameters)
    if operation.request_body is not None:
        described["requestBody"] = operation.request_body
    described["responses"] = responses
    return described


def paths() -> dict[str, Schema]:
    items: dict[str, Schema] = {}
    for route in ROUTES:
        items.setdefault(route.path, {})[route.method.lower()] = operation_object(route)
    return items


DESCRIPTION = f"""\
TorchLambda's inference API: a PyTorch model on AWS Lambda behind an API Gateway HTTP API.

Generated from the routes table (`torchlambda/contract.py`) by `lambda_image/local/openapi.py`
(`make docs`); docs/api.md tells the rest. The base URL of a deployed environment is its
`ApiUrl` stack output; routes also match behind a named stage (`/dev/predict` on stage `dev`).

Every answer of the function is strict JSON (never NaN or Infinity) with an
`{MODEL_VERSION_HEADER}` header; its errors are `{{"error": {{"code": "...", "message": "..."}}}}`
and never hold a traceback or the request body.

A request that no route takes (another path, or a method the path has no route for) never reaches
the function: API Gateway answers it {NOT_FOUND.status} `{NOT_FOUND.body.decode()}` itself
(`#/components/responses/NotFound`), and so does `make serve`. API Gateway's other answers of its
own have the same shape (`GatewayMessage`): 403 where the environment uses IAM auth, 429 when
throttled. The `make serve` refusals listed under each operation are the local server's only.

`make serve` serves this document at `{DOCUMENT_PATH}`; the deployed HTTP API has no such route."""


def document() -> Schema:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "TorchLambda inference API",
            "version": version("torchlambda"),
            "description": DESCRIPTION,
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "responses": {
                **gateway_refusals(),
                "NotFound": {
                    "description": "No route takes the request (the gateway's own answer; the "
                    "function never sees it).",
                    "content": {
                        NOT_FOUND.headers["content-type"]: {
                            "schema": ref("schemas", "GatewayMessage"),
                            "example": json.loads(NOT_FOUND.body),
                        }
                    },
                },
            },
        },
    }


def render() -> bytes:
    """The document as committed in docs/openapi.json: stable key order, two-space indent."""
    return (json.dumps(document(), indent=2) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m lambda_image.local.openapi", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", type=Path, help="write the document to this file")
    action.add_argument("--check", type=Path, help="exit 1 if this file is not the document")
    args = parser.parse_args(argv)
    if args.check is not None:
        try:
            current = args.check.read_bytes()
        except OSError as error:
            print(f"error: {args.check}: {error.strerror}; run `make docs`", file=sys.stderr)
            return 1
        if current != render():
            print(f"error: {args.check} is stale; run `make docs` to refresh it", file=sys.stderr)
            return 1
        return 0
    try:
        write_file_atomically(args.out, render())
    except OSError as error:
        print(f"error: {args.out}: cannot write ({error.strerror or error})", file=sys.stderr)
        return 1
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
