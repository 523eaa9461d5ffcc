"""JSON Lines in and out: each line an object with a numeric ``x``; every field is passed through
and ``y`` added (an input ``y`` is kept as ``y_true``). The API's rules for x in a body apply:
a number (not a bool or a string), finite, within the domain.
"""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

import orjson

from torchlambda.batch.chunks import ParsedChunk, RejectedRow, rejected, values_of
from torchlambda.batch.csv_rows import LABEL_COLUMN, X_COLUMN, Y_COLUMN
from torchlambda.batch.numbers import Values
from torchlambda.batch.streams import MAX_LINE_BYTES, LineBlock
from torchlambda.errors import ApiError
from torchlambda.validation import NUMBER_TYPES, in_domain, strict_json

# orjson reads an integer beyond 64 bits as a float, its digits lost; the standard parser keeps it.
LONG_INTEGER = re.compile(rb"[0-9]{19}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(line: bytes, text: str) -> Any:
    """The line's document as strict_json reads it, with long integers kept exact."""
    if LONG_INTEGER.search(line) is None:
        return strict_json(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "row is not valid JSON") from None


def _dumps(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits or a lone surrogate (both valid JSON), passed through from
        # the input: ASCII escapes keep the surrogate, which UTF-8 cannot encode.
        return json.dumps(document, separators=(",", ":")).encode()


def _rows(documents: list[dict[str, Any]], ys: Values) -> bytes:
    for document, y in zip(documents, ys.tolist(), strict=True):
        if Y_COLUMN in document:
            document[LABEL_COLUMN] = document.pop(Y_COLUMN)
        document[Y_COLUMN] = y
    return b"\n".join(map(_dumps, documents)) + b"\n"


class JsonLines:
    prelude = b""

    def __init__(self, max_abs_x: float) -> None:
        self.max_abs_x = max_abs_x

    def parse(self, block: LineBlock, first_line: int) -> ParsedChunk:
        values: list[float] = []
        rejections: list[RejectedRow] = []
        rows = 0
        documents: list[dict[str, Any]] = []
        for number, line in enumerate(block.lines, first_line):
            if not line.strip():
                continue
            rows += 1
            try:
                document, x = self._document(line)
            except ApiError as error:
                rejections.append(rejected(number, error.code, error.message, line))
                continue
            values.append(x)
            documents.append(document)
        return ParsedChunk(values_of(values), partial(_rows, documents), rows, rejections)

    def _document(self, line: bytes) -> tuple[dict[str, Any], float]:
        if len(line) > MAX_LINE_BYTES:
            raise ApiError(400, "invalid_row", f"row is longer than {MAX_LINE_BYTES} bytes")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_json", "row is not UTF-8 text") from None
        try:
            document = _loads(line, text)
        except ApiError:
            raise ApiError(400, "invalid_json", "row is not valid JSON") from None
        if not isinstance(document, dict) or X_COLUMN not in document:
            raise ApiError(400, "invalid_row", 'each line must be a JSON object with an "x" field')
        x = document[X_COLUMN]
        if type(x) not in NUMBER_TYPES:
            raise ApiError(400, "invalid_x", "x must be a number")
        return document, in_domain(x, self.max_abs_x)
