"""The evaluation set's rows, a chunk at a time in bounded memory, hashed as they are read.

Book CSV: ``y,x`` per line, or a first line naming the two columns (``y,x`` or ``x,y``). x obeys
the API's rules (``torchlambda.validation``: the grammar, finite, within the serving domain), so
both models are scored only where they would serve; y must be a finite decimal number within
float32's range. A row that breaks a rule stops the evaluation with its line number: dropping it
would score the models on rows other than the set's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import NoReturn

from torchlambda.batch.numbers import Rejection, parse_fast, parse_one
from torchlambda.batch.streams import Readable, blocks, line_chunks
from torchlambda.contract import MAX_X_CHARS
from torchlambda.lifecycle.errors import EvaluationSetError
from torchlambda.predictor.domain import FLOAT32_MAX
from torchlambda.validation import DECIMAL

LAYOUT = "expected y,x rows of numbers (the book's layout) or a first line naming x and y"
SHOWN_CHARS = 40  # of a bad field, in an error


@dataclass(frozen=True)
class Labelled:
    """Rows of the set: x and the true y, in file order."""

    xs: list[float]
    ys: list[float]


@dataclass(frozen=True)
class Columns:
    x: int
    y: int


BOOK = Columns(x=1, y=0)


class LabelledRows:
    """Iterate once for the chunks; then `sha256` and `rows` describe what was read."""

    def __init__(self, source: Readable, name: str, max_abs_x: float) -> None:
        self._source = source
        self._name = name
        self._max_abs_x = max_abs_x
        self._digest = sha256()
        self.rows = 0

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def _hashed(self) -> Iterator[bytes]:
        for block in blocks(self._source):
            self._digest.update(block)
            yield block

    def __iter__(self) -> Iterator[Labelled]:
        columns: Columns | None = None
        next_line = 1
        for block in line_chunks(self._hashed()):
            lines, first_line = block.lines, next_line
            next_line += block.count
            if columns is None:
                opened = self._open(lines, first_line)
                if opened is None:
                    continue  # only blank lines so far
                columns, lines, first_line = opened
            chunk = self._parse(lines, first_line, columns)
            self.rows += len(chunk.xs)
            if chunk.xs:
                yield chunk
        if self.rows == 0:
            raise EvaluationSetError(f"{self._name}: no rows; {LAYOUT}")

    def _open(self, lines: list[bytes], first_line: int) -> tuple[Columns, list[bytes], int] | None:
        """The columns, and the chunk's lines from the first row on (past a header)."""
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            fields = line.split(b",")
            # Numbers by the grammar alone: a value out of range is that row's error, not a header.
            if len(fields) == 2 and not any(
                isinstance(parse_one(field, math.inf), Rejection) for field in fields
            ):
                return BOOK, lines[index:], first_line + index
            names = [field.strip().lower() for field in fields]
            if sorted(names) != [b"x", b"y"]:
                raise EvaluationSetError(f"{self._name}: line {first_line + index}: {LAYOUT}")
            columns = Columns(x=names.index(b"x"), y=names.index(b"y"))
            return columns, lines[index + 1 :], first_line + index + 1
        return None

    def _parse(self, lines: list[bytes], first_line: int, columns: Columns) -> Labelled:
        joined = b",".join(lines)
        # Exactly one comma a line (the joins add len - 1): every line is two fields, none blank.
        if lines and joined.count(b",") == 2 * len(lines) - 1:
            fields = joined.split(b",")
            xs = parse_fast(fields[columns.x :: 2], self._max_abs_x)
            ys = parse_fast(fields[columns.y :: 2], FLOAT32_MAX)
            if xs is not None and ys is not None:
                return Labelled(xs.tolist(), ys.tolist())
        return self._one_by_one(lines, first_line, columns)

    def _one_by_one(self, lines: list[bytes], first_line: int, columns: Columns) -> Labelled:
        """The slow path: each row checked on its own, to name the first bad one."""
        chunk = Labelled([], [])
        for number, line in enumerate(lines, first_line):
            if not line.strip():
                continue
            fields = line.split(b",")
            if len(fields) != 2:
                self._refuse(number, f"{len(fields)} columns; {LAYOUT}")
            x = parse_one(fields[columns.x], self._max_abs_x) if fields[columns.x] else None
            if not isinstance(x, float):
                reason = x.reason if isinstance(x, Rejection) else "x is empty"
                self._refuse(number, f"{_shown(fields[columns.x])}: {reason}")
            chunk.xs.append(x)
            chunk.ys.append(self._y(number, fields[columns.y]))
        return chunk

    def _y(self, number: int, field: bytes) -> float:
        text = field.decode("ascii", "replace")
        if len(text) > MAX_X_CHARS or DECIMAL.fullmatch(text) is None:
            self._refuse(
                number, f"{_shown(field)}: y must be a decimal number such as 42, -1.5 or 2e3"
            )
        value = float(text)
        if not abs(value) <= FLOAT32_MAX:
            self._refuse(
                number,
                f"{_shown(field)}: y must be finite and within float32's range "
                f"(|y| <= {FLOAT32_MAX:.4g}), which the models compute in",
            )
        return value

    def _refuse(self, number: int, reason: str) -> NoReturn:
        raise EvaluationSetError(f"{self._name}: line {number}: {reason}")


def _shown(field: bytes) -> str:
    text = field.decode("utf-8", "replace")
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")
