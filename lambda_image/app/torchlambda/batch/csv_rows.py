"""CSV in, CSV out: the book's layout (``y,x`` or ``x``, no header) and headered CSV with ``x``.

The output keeps each input row's text and adds the prediction: the book's layout becomes
``y,x`` (a labelled input keeps its label as a third column, ``y_true``), a headered CSV gains a
``y`` column (an input column ``y`` is renamed ``y_true``). A block of the book's rows is checked
and split from its text as a whole (``book_fields``); a headered block without quotes is split
on commas in C; quoted CSV goes through the csv module, row by row. A quoted field may not hold a
line break.
"""

from __future__ import annotations

import csv
import io
import math
from functools import partial

from torchlambda.batch.chunks import (
    Codec,
    ParsedChunk,
    RejectedRow,
    encoded,
    rejected,
    values_of,
)
from torchlambda.batch.numbers import (
    Rejection,
    Values,
    book_fields,
    parse_fast,
    parse_numbers,
    parse_one,
)
from torchlambda.batch.streams import MAX_LINE_BYTES, LineBlock

X_COLUMN, Y_COLUMN, LABEL_COLUMN = "x", "y", "y_true"


class LayoutError(ValueError):
    """The first line is neither the book's row of numbers nor a header with an x column."""


def _too_long(line: int, raw: bytes) -> RejectedRow:
    return rejected(line, "invalid_row", f"row is longer than {MAX_LINE_BYTES} bytes", raw)


def _book_rows(xs: list[bytes], labels: list[bytes], ys: Values) -> bytes:
    """`y,x` rows, or `y,x,y_true` when the input had labels."""
    columns = (
        zip(encoded(ys), xs, labels, strict=True) if labels else zip(encoded(ys), xs, strict=True)
    )
    return b"\n".join(map(b",".join, columns)) + b"\n"


def _extended_rows(lines: list[bytes], ys: Values) -> bytes:
    """Each input row as it was, with `,y` appended."""
    return b"\n".join(map(b",".join, zip(lines, encoded(ys), strict=True))) + b"\n"


class BookCsv:
    """``x`` or ``y,x`` per line, no header; out: ``y,x`` or ``y,x,y_true``."""

    prelude = b""

    def __init__(self, columns: int, max_abs_x: float) -> None:
        self.columns = columns
        self.max_abs_x = max_abs_x

    def parse(self, block: LineBlock, first_line: int) -> ParsedChunk:
        fields = book_fields(block.text, self.columns)
        if fields is not None:
            xs = fields[self.columns - 1 :: self.columns]
            values = parse_numbers(xs, self.max_abs_x)
            if values is not None:
                labels = fields[0::2] if self.columns == 2 else []
                return ParsedChunk(values, partial(_book_rows, xs, labels), len(xs))
        return self._one_by_one(block.lines, first_line)

    def _one_by_one(self, lines: list[bytes], first_line: int) -> ParsedChunk:
        values: list[float] = []
        rejections: list[RejectedRow] = []
        rows = 0
        xs: list[bytes] = []
        labels: list[bytes] = []
        for number, line in enumerate(lines, first_line):
            if not line.strip():
                continue
            rows += 1
            fields = line.split(b",")
            if len(line) > MAX_LINE_BYTES:
                rejections.append(_too_long(number, line))
                continue
            if len(fields) != self.columns:
                shape = "x" if self.columns == 1 else "y,x"
                rejections.append(
                    rejected(
                        number,
                        "invalid_row",
                        f"expected {self.columns} column(s) ({shape}), found {len(fields)}",
                        line,
                    )
                )
                continue
            value = parse_one(fields[-1], self.max_abs_x)
            if isinstance(value, Rejection):
                rejections.append(rejected(number, value.code, value.reason, line))
                continue
            values.append(value)
            xs.append(fields[-1])
            if self.columns == 2:
                labels.append(fields[0])
        return ParsedChunk(values_of(values), partial(_book_rows, xs, labels), rows, rejections)


class HeaderedCsv:
    """A header naming an ``x`` column; every column is passed through and ``y`` appended."""

    def __init__(self, header: bytes, max_abs_x: float) -> None:
        names = _csv_fields(header.decode("utf-8-sig", "replace"))
        if names is None or X_COLUMN not in names:
            raise LayoutError(
                "the first line is neither a header with an x column nor the book's "
                "row of numbers (y,x or x)"
            )
        self.names = names
        self.x_index = names.index(X_COLUMN)
        self.max_abs_x = max_abs_x
        renamed = [LABEL_COLUMN if name == Y_COLUMN else name for name in names]
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow([*renamed, Y_COLUMN])
        self.prelude = text.getvalue().encode()

    def parse(self, block: LineBlock, first_line: int) -> ParsedChunk:
        lines = block.lines
        # A row cut at MAX_LINE_BYTES (by line_chunks) goes one by one, to be rejected.
        too_long = max(map(len, lines), default=0) > MAX_LINE_BYTES
        if not too_long and not any(b'"' in line for line in lines):
            rows = [line.split(b",") for line in lines]
            if set(map(len, rows)) == {len(self.names)}:
                values = parse_fast([row[self.x_index] for row in rows], self.max_abs_x)
                if values is not None:
                    return ParsedChunk(values, partial(_extended_rows, lines), len(lines))
        return self._one_by_one(lines, first_line)

    def _one_by_one(self, lines: list[bytes], first_line: int) -> ParsedChunk:
        values: list[float] = []
        rejections: list[RejectedRow] = []
        rows = 0
        kept: list[bytes] = []
        for number, line in enumerate(lines, first_line):
            if not line.strip():
                continue
            rows += 1
            if len(line) > MAX_LINE_BYTES:
                rejections.append(_too_long(number, line))
                continue
            x_field = self._x_field(line)
            value = (
                x_field if isinstance(x_field, Rejection) else parse_one(x_field, self.max_abs_x)
            )
            if isinstance(value, Rejection):
                rejections.append(rejected(number, value.code, value.reason, line))
                continue
            values.append(value)
            kept.append(line)
        return ParsedChunk(values_of(values), partial(_extended_rows, kept), rows, rejections)

    def _x_field(self, line: bytes) -> bytes | Rejection:
        """The row's x field, or why the row has none."""
        try:
            fields = _csv_fields(line.decode("utf-8"))
        except UnicodeDecodeError:
            return Rejection("invalid_row", "row is not UTF-8 text")
        if fields is None:
            return Rejection("invalid_row", "row is not valid CSV (a quote left open?)")
        if len(fields) != len(self.names):
            return Rejection(
                "invalid_row", f"expected {len(self.names)} columns, found {len(fields)}"
            )
        return fields[self.x_index].encode("utf-8")


def _csv_fields(text: str) -> list[str] | None:
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def open_csv(first_line: bytes, max_abs_x: float) -> tuple[Codec, bool]:
    """The codec the first non-blank line calls for, and whether that line is a header."""
    fields = first_line.split(b",")
    # Numbers by the grammar alone: an x out of the domain is that row's problem, not a header.
    if len(fields) in (1, 2) and not any(
        isinstance(parse_one(field, math.inf), Rejection) for field in fields
    ):
        return BookCsv(len(fields), max_abs_x), False
    return HeaderedCsv(first_line, max_abs_x), True
