"""Which input formats a batch job reads, told apart by the object's name.

``.csv`` is the book's CSV (``y,x`` or ``x`` alone, no header) or a headered CSV with an ``x``
column; the first line decides. ``.jsonl`` is JSON Lines with an ``x`` field. Either may end in
``.gz``. The output keeps the input's format and compression.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    CSV = ".csv"
    JSON_LINES = ".jsonl"


GZIP_SUFFIX = ".gz"
SUPPORTED_SUFFIXES = tuple(
    family.value + compression for family in Family for compression in ("", GZIP_SUFFIX)
)
CONTENT_TYPES = {Family.CSV: "text/csv", Family.JSON_LINES: "application/jsonl"}


class UnsupportedInput(ValueError):
    """An object whose name says no format this job reads."""


@dataclass(frozen=True)
class InputFormat:
    family: Family
    gzip: bool

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.family]

    @property
    def content_encoding(self) -> str | None:
        return "gzip" if self.gzip else None


def format_of(name: str) -> InputFormat:
    """The format a key or file name says; UnsupportedInput names the suffixes it accepts."""
    lowered = name.lower()
    gzip = lowered.endswith(GZIP_SUFFIX)
    stem = lowered.removesuffix(GZIP_SUFFIX)
    for family in Family:
        if stem.endswith(family.value):
            return InputFormat(family, gzip)
    raise UnsupportedInput(f"{name}: not a batch input; name it *{', *'.join(SUPPORTED_SUFFIXES)}")


def is_supported(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_SUFFIXES)
