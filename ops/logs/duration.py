"""Durations as `make logs SINCE=` takes them: a whole number and a unit, 90s, 10m, 2h or 1d."""

from __future__ import annotations

import re

UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}  # largest first, for describe()
DURATION = re.compile(r"(?P<count>[0-9]+)(?P<unit>[smhd])")


def parse_duration(text: str) -> int:
    """Seconds in `text`; ValueError unless it is a positive whole number and a unit."""
    match = DURATION.fullmatch(text.strip())
    if match is None or int(match["count"]) == 0:
        raise ValueError(f"{text!r} is not a duration like 90s, 10m, 2h or 1d")
    return int(match["count"]) * UNIT_SECONDS[match["unit"]]


def describe(seconds: int) -> str:
    """The largest unit that divides `seconds`: 600 -> 10m."""
    for unit, size in UNIT_SECONDS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("every whole number of seconds has a unit")
