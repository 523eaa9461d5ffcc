"""x from text fields, by the API's rules (``torchlambda.validation``), fast for the common case.

Checking each field against the API's grammar costs more than predicting it. So a chunk is first
checked as a whole, in C: if every byte is one a decimal number can hold, ``float()`` accepts
exactly the API's grammar (no ``nan``, ``inf``, ``_``, spaces or non-ASCII digit survives the
byte check), and one ``max(map(abs, ...))`` checks the domain. Only a chunk that fails this goes
field by field, through the API's own validator, to find the bad rows and say why.
"""

from __future__ import annotations

from dataclasses import dataclass

from torchlambda.contract import MAX_X_CHARS
from torchlambda.errors import ApiError
from torchlambda.validation import x_from_query

NUMBER_BYTES = b"0123456789+-.eE"


@dataclass(frozen=True)
class Rejection:
    """Why one field is not an x: the API's error code and message."""

    code: str
    reason: str


def parse_fast(fields: list[bytes], max_abs_x: float) -> list[float] | None:
    """Every field as a float, or None if any field needs a closer look."""
    if not fields or b"" in fields or max(map(len, fields)) > MAX_X_CHARS:
        return None
    if b"".join(fields).translate(None, NUMBER_BYTES):
        return None
    try:
        values = list(map(float, fields))
    except ValueError:  # "1e", "+-1", "1.2.3": the grammar's bytes in the wrong order
        return None
    # inf (from "1e999") fails this too; NaN cannot come out of these bytes.
    return values if max(map(abs, values)) <= max_abs_x else None


def parse_one(field: bytes, max_abs_x: float) -> float | Rejection:
    try:
        text = field.decode("ascii")
    except UnicodeDecodeError:
        return Rejection("invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3")
    try:
        return x_from_query(text, max_abs_x)
    except ApiError as error:
        return Rejection(error.code, error.message)
