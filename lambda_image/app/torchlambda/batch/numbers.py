"""x from text fields, by the API's rules (``torchlambda.validation``), fast for the common case.

Checking each field against the API's grammar costs more than predicting it. So a chunk is first
checked as a whole, in C: if every byte is one a decimal number can hold, ``float()`` accepts
exactly the API's grammar (no ``nan``, ``inf``, ``_``, spaces or non-ASCII digit survives the
byte check), and one vectorized maximum checks the domain. A chunk of the book's CSV is checked
straight from its text: where its separators are and how long its fields are, in numpy, without a
Python object per line. Only a chunk that fails this goes field by field, through the API's own
validator, to find the bad rows and say why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from torchlambda.batch.streams import MAX_LINE_BYTES
from torchlambda.contract import MAX_X_CHARS
from torchlambda.errors import ApiError
from torchlambda.validation import x_from_query

NUMBER_BYTES = b"0123456789+-.eE"
COMMA, NEWLINE = ord(","), ord("\n")
# A chunk's x (or y) values, in row order.
Values = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Rejection:
    """Why one field is not an x: the API's error code and message."""

    code: str
    reason: str


def parse_fast(fields: list[bytes], max_abs_x: float) -> Values | None:
    """Every field as a float, or None if any field needs a closer look."""
    if not fields or b"" in fields or max(map(len, fields)) > MAX_X_CHARS:
        return None
    if b"".join(fields).translate(None, NUMBER_BYTES):
        return None
    return parse_numbers(fields, max_abs_x)


def book_fields(text: bytes, columns: int) -> list[bytes] | None:
    """Every field of every line of `text`, row by row, if each line is `columns` comma-separated
    fields, at most MAX_LINE_BYTES in all, and its last, the x, is 1 to MAX_X_CHARS bytes a number
    can hold; None if any line needs a closer look. A label (the first of two) may be any text
    without a comma."""
    if not text or not _rows_of(text, columns):
        return None
    fields = text.replace(b"\n", b",").split(b",")
    # All numbers (the common case) is one check of the whole text; else only the xs are checked.
    if text.translate(None, NUMBER_BYTES + b",\n") and b"".join(
        fields[columns - 1 :: columns]
    ).translate(None, NUMBER_BYTES):
        return None
    return fields


def _rows_of(text: bytes, columns: int) -> bool:
    """Whether each line of `text` is `columns` fields, its x 1 to MAX_X_CHARS bytes long and the
    whole line at most MAX_LINE_BYTES (longer, line_chunks cut it: it goes row by row, to be
    rejected)."""
    buffer = np.frombuffer(text, np.uint8)
    ends = np.flatnonzero((buffer == COMMA) | (buffer == NEWLINE))
    if (len(ends) + 1) % columns:
        return False
    # A row is columns - 1 commas, then a newline (the text's end, after the last row).
    separators = np.append(buffer[ends], NEWLINE).reshape(-1, columns)
    if (separators[:, :-1] != COMMA).any() or (separators[:, -1] != NEWLINE).any():
        return False
    lengths = (np.diff(ends, prepend=-1, append=len(text)) - 1).reshape(-1, columns)
    return bool(
        lengths[:, -1].min() >= 1
        and lengths[:, -1].max() <= MAX_X_CHARS
        and lengths.sum(axis=1).max() + columns - 1 <= MAX_LINE_BYTES
    )


def parse_numbers(fields: list[bytes], max_abs_x: float) -> Values | None:
    """Fields already checked (by `parse_fast` or `book_fields`) to be NUMBER_BYTES, 1 to
    MAX_X_CHARS long, as floats; None if any is not in the API's grammar or domain, or none came."""
    if not fields:
        return None
    try:
        values = np.fromiter(map(float, fields), np.float64, len(fields))
    except ValueError:  # "1e", "+-1", "1.2.3": the grammar's bytes in the wrong order
        return None
    # inf (from "1e999") fails this too; NaN cannot come out of these bytes.
    return values if np.abs(values).max() <= max_abs_x else None


def parse_one(field: bytes, max_abs_x: float) -> float | Rejection:
    try:
        text = field.decode("ascii")
    except UnicodeDecodeError:
        return Rejection("invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3")
    try:
        return x_from_query(text, max_abs_x)
    except ApiError as error:
        return Rejection(error.code, error.message)
