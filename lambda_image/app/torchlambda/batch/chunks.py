"""What a format gives the scorer: a block of lines parsed into x values, rejections and a renderer.

Parsing and rendering are apart so that they can run in other threads than the model's forward
pass (``torchlambda.batch.scoring``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import orjson

from torchlambda.batch.numbers import Values
from torchlambda.batch.streams import LineBlock

# Predicts y for each x (in the order given); the worker wraps the loaded model's Predictor.
Predict = Callable[[Values], Values]
ROW_ECHO_CHARS = 200  # of a rejected row, kept in the errors object to find it by eye


@dataclass(frozen=True)
class RejectedRow:
    line: int  # 1-based, in the input object (a header is line 1)
    code: str  # the API's error code for the same x (invalid_x, out_of_range, ...) or invalid_row
    reason: str
    row: str

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"line": self.line, "code": self.code, "reason": self.reason, "row": self.row}
        )


def rejected(line: int, code: str, reason: str, raw: bytes) -> RejectedRow:
    return RejectedRow(line, code, reason, raw[:ROW_ECHO_CHARS].decode("utf-8", "replace"))


# Turns the predictions for a chunk's accepted rows into its output bytes.
Render = Callable[[Values], bytes]


def _nothing(ys: Values) -> bytes:
    return b""


def values_of(xs: list[float]) -> Values:
    return np.array(xs, dtype=np.float64)


@dataclass(frozen=True)
class ParsedChunk:
    """A block of lines, parsed: the x of each accepted row, in order, and how to write them."""

    values: Values = field(default_factory=lambda: values_of([]))
    render: Render = _nothing
    rows: int = 0  # data rows read (blank lines are not rows)
    rejections: list[RejectedRow] = field(default_factory=list)


class Codec(Protocol):
    """One input format: parses a chunk of complete lines, and renders it with predictions."""

    @property
    def prelude(self) -> bytes:
        """Written before the first row (a headered CSV's header)."""
        ...

    def parse(self, block: LineBlock, first_line: int) -> ParsedChunk: ...


def encoded(ys: Values) -> list[bytes]:
    """Each y as the API writes it (orjson: the shortest text that reads back the same float;
    from a float64 array, the same text as from the list of its floats, without the list)."""
    return orjson.dumps(ys, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",") if len(ys) else []
