"""Validation of x, by hand: strict grammar, finiteness and a bounded domain.

Python's ``float()`` accepts ``nan``, ``inf``, ``1_000``, surrounding spaces and non-ASCII digits;
``json.loads`` accepts ``NaN`` and ``Infinity``. None of those is a number this API serves.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, NoReturn

import orjson

from torchlambda.contract import MAX_BATCH, MAX_BODY_CHARS, MAX_X_CHARS
from torchlambda.errors import ApiError, bad_request

NUMBER_TYPES = frozenset({int, float})
MAX_FINITE = sys.float_info.max  # a true y need only be a finite number
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
    document = json_object(body, 'body must be a JSON object like {"x": [1, 2.5]}', "x")
    return numbers_in(document, "x", max_abs_x)


def pairs_from_body(body: str, max_abs_x: float) -> tuple[list[float], list[float]]:
    """The x and y of ``POST /feedback``: ``{"x": 1, "y": 3.2}``, or a batch of 1..10,000 such
    pairs, ``{"pairs": [{"x": 1, "y": 3.2}, ...]}``; each x in the domain, each y finite."""
    shape = 'body must be a JSON object like {"x": 1, "y": 3.2} or {"pairs": [{"x": 1, "y": 3.2}]}'
    document = json_object(body, shape)
    if "pairs" not in document:
        if "x" not in document or "y" not in document:
            raise bad_request("invalid_body", shape)
        return [scalar_in(document, "x", max_abs_x)], [scalar_in(document, "y", MAX_FINITE)]
    pairs = document["pairs"]
    if not isinstance(pairs, list):
        raise bad_request("invalid_body", 'pairs must be a list of objects like {"x": 1, "y": 3.2}')
    if not pairs:
        raise bad_request("empty_batch", "pairs must hold at least one pair")
    if len(pairs) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"pairs holds more than {MAX_BATCH} pairs")
    if not all(type(pair) is dict and "x" in pair and "y" in pair for pair in pairs):
        raise bad_request("invalid_body", "every item of pairs must be an object with x and y")
    xs = checked_numbers([pair["x"] for pair in pairs], "x", max_abs_x)
    ys = checked_numbers([pair["y"] for pair in pairs], "y", MAX_FINITE)
    return xs, ys


def json_object(body: str, shape: str, *keys: str) -> dict[str, Any]:
    """The body as a JSON object holding `keys`; `shape` says what a good one looks like."""
    if len(body) > MAX_BODY_CHARS:
        raise ApiError(413, "payload_too_large", "body is larger than 1 MiB")
    document = strict_json(body)
    if not isinstance(document, dict) or any(key not in document for key in keys):
        raise bad_request("invalid_body", shape)
    return document


def numbers_in(document: dict[str, Any], key: str, bound: float) -> tuple[list[float], bool]:
    """`document[key]`: a number or a list of 1..MAX_BATCH numbers within +-`bound`; True if
    scalar."""
    value = document[key]
    if _is_number(value):
        return [in_domain(value, bound, key)], True
    if not isinstance(value, list):
        raise bad_request(f"invalid_{key}", f"{key} must be a number or a list of numbers")
    if not value:
        raise bad_request("empty_batch", f"{key} must hold at least one number")
    if len(value) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"{key} holds more than {MAX_BATCH} numbers")
    return checked_numbers(value, key, bound), False


def scalar_in(document: dict[str, Any], key: str, bound: float) -> float:
    value = document[key]
    if not _is_number(value):
        raise bad_request(f"invalid_{key}", f"{key} must be a number")
    return in_domain(value, bound, key)


def checked_numbers(values: list[Any], key: str, bound: float) -> list[float]:
    """`values` as they are, once each is proven a number within +-`bound`."""
    # Exact types (bool is an int subclass, and true is not a number here), collected in C.
    if not set(map(type, values)) <= NUMBER_TYPES:
        raise bad_request(f"invalid_{key}", f"every {key} must be a number")
    # max() and abs() run in C too: checking 10,000 items costs far less than predicting them.
    in_domain(max(map(abs, values)), bound, key)
    return values


def _is_number(value: Any) -> bool:
    return type(value) in NUMBER_TYPES


def in_domain(value: float, bound: float, name: str = "x") -> float:
    """`value` as a float if it is finite and within +-`bound`; else a 400."""
    # Comparing before float() keeps huge JSON integers (10**400) from raising OverflowError.
    if not abs(value) <= bound:
        limit = "" if bound == MAX_FINITE else f" with |{name}| <= {bound:g}"
        raise bad_request("out_of_range", f"{name} must be finite{limit}")
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
