"""Request volumes as people write them (10M, 2.5M, 500k, 1B, or plain digits), and dollars."""

from __future__ import annotations

import math
import re

SUFFIXES = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}
COUNT_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([kKMBG]?)")


def parse_count(text: str) -> float:
    """'10M' -> 10_000_000.0; raises ValueError with an actionable message otherwise."""
    match = COUNT_PATTERN.fullmatch(text.strip().replace("_", "").replace(",", ""))
    if not match:
        raise ValueError(f"{text!r} is not a request count; write e.g. 10M, 2.5M, 500k or 1000000")
    value = float(match.group(1)) * SUFFIXES[match.group(2)]
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large")
    return value


def format_count(value: float) -> str:
    """10_000_000 -> '10M', 38_921_000 -> '38.9M' (three significant digits)."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.0f}"


def format_dollars(amount: float, digits: int = 3) -> str:
    """0.000327264 -> '$0.000327', 1234.5 -> '$1,234.50': `digits` significant, at least cents,
    never an exponent (fractions of a cent are what a million rows cost)."""
    if amount == 0:
        return "$0"
    rounded = float(f"{amount:.{digits - 1}e}")  # 0.0000999999 -> 1e-4: its own decade
    places = max(2, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"${amount:,.{places}f}"
