"""Validation of x, by hand: strict grammar, finiteness and a bounded domain.

Python's ``float()`` accepts ``nan``, ``inf``, ``1_000``, surrounding spaces and non-ASCII digits;
``json.loads`` accepts ``NaN`` and ``Infinity``. None of those is a number this API serves.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

import orjson

from torchlambda.contract import MAX_BATCH, MAX_BODY_CHARS, MAX_X_CHARS
from torchlambda.errors import ApiError, bad_request

NUMBER_TYPES = frozenset({int, float})
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def x_from_query(raw: str, max_abs_x: float) -> float:
    """The x of ``GET /predict?x=...``: a plain decimal number in ASCII."""
    if raw == "":
        raise bad_request("missing_x", "query parameter x is empty")
    if len(raw) > MAX_X_CHARS:
        raise bad_request("invalid_x", f"x is longer than {MAX_X_CHARS} characters")
    if DECIMAL.fullmatch(raw) is None:
        raise bad_request("invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3")
    return in_domain(float(raw), max_abs_x)


def x_from_body(body: str, max_abs_x: float) -> tuple[list[float], bool]:
    """The x of ``POST /predict``: a number or a list of 1..10,000 numbers; True if scalar.

    Items of a list are returned as parsed (int or float, all within the domain).
    """
    if len(body) > MAX_BODY_CHARS:
        raise ApiError(413, "payload_too_large", "body is larger than 1 MiB")
    document = strict_json(body)
    if not isinstance(document, dict) or "x" not in document:
        raise bad_request("invalid_body", 'body must be a JSON object like {"x": [1, 2.5]}')
    value = document["x"]
    if _is_number(value):
        return [in_domain(value, max_abs_x)], True
    if not isinstance(value, list):
        raise bad_request("invalid_x", "x must be a number or a list of numbers")
    if not value:
        raise bad_request("empty_batch", "x must hold at least one number")
    if len(value) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"x holds more than {MAX_BATCH} numbers")
    # Exact types (bool is an int subclass, and true is not a number here), collected in C.
    if not set(map(type, value)) <= NUMBER_TYPES:
        raise bad_request("invalid_x", "every item of x must be a number")
    # max() and abs() run in C too: checking 10,000 items costs far less than predicting them.
    in_domain(max(map(abs, value)), max_abs_x)
    return value, False


def _is_number(value: Any) -> bool:
    return type(value) in NUMBER_TYPES


def in_domain(value: float, max_abs_x: float) -> float:
    """`value` as a float if it is finite and within the domain; else a 400."""
    # Comparing before float() keeps huge JSON integers (10**400) from raising OverflowError.
    if not abs(value) <= max_abs_x:
        raise bad_request("out_of_range", f"x must be finite with |x| <= {max_abs_x:g}")
    return float(value)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def strict_json(body: str) -> Any:
    try:
        return orjson.loads(body)  # fast path; refuses NaN, Infinity and lone surrogates
    except orjson.JSONDecodeError:
        pass
    # orjson also refuses numbers beyond 64-bit integers and doubles (1e999, 10**400): valid JSON
    # that deserves "out of range", not "invalid". The standard parser tells the two apart.
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers longer than Python's digit limit.
        raise bad_request("invalid_json", "body is not valid JSON") from None
