"""The emulator's log: each invocation's REPORT line and the init's INIT REPORT."""

from __future__ import annotations

import re
from dataclasses import dataclass

# ---- The emulator's log --------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One invocation's REPORT line."""

    request_id: str
    duration_ms: float
    billed_duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int  # the emulator repeats Memory Size here; it measures nothing
    init_duration_ms: float | None  # printed on the first invoke; not the init's duration here


@dataclass(frozen=True)
class InitReport:
    """One INIT REPORT line, with the phase and the runtime's status from the lines before it."""

    duration_ms: float
    phase: str | None  # "init" (the first try) or "invoke" (a retry inside an invocation)
    status: str | None  # "success" or "error" as the runtime ended init; None if it never did


REPORT_LINE = re.compile(r"^REPORT RequestId: (\S+)\s+(.*)$")
RAPID_LINE = re.compile(r"\(rapid\) INIT (START|RTDONE|REPORT)\((.*)\)\s*$")
REPORT_FIELD = re.compile(r"([A-Za-z ]+): ([0-9.]+) (ms|MB)")


def parse_report(line: str) -> Report | None:
    """The REPORT line's numbers; None for another line; ValueError if one is missing."""
    matched = REPORT_LINE.match(line.strip())
    if matched is None:
        return None
    fields = {name.strip(): float(value) for name, value, _ in REPORT_FIELD.findall(matched[2])}
    try:
        return Report(
            request_id=matched[1],
            duration_ms=fields["Duration"],
            billed_duration_ms=fields["Billed Duration"],
            memory_size_mb=int(fields["Memory Size"]),
            max_memory_used_mb=int(fields["Max Memory Used"]),
            init_duration_ms=fields.get("Init Duration"),
        )
    except KeyError as missing:
        raise ValueError(f"REPORT line without {missing}: {line.strip()!r}") from None


def _pairs(text: str) -> dict[str, str]:
    """``a: 1, b: two`` -> {"a": "1", "b": "two"}."""
    pairs = (part.partition(":") for part in text.split(","))
    return {name.strip(): value.strip() for name, _, value in pairs if value}


class LogParser:
    """Turns the emulator's lines into Reports and InitReports, one line at a time."""

    def __init__(self) -> None:
        self._phase: str | None = None
        self._status: str | None = None

    def feed(self, line: str) -> Report | InitReport | None:
        report = parse_report(line)
        if report is not None:
            return report
        matched = RAPID_LINE.search(line)
        if matched is None:
            return None
        kind, fields = matched[1], _pairs(matched[2])
        if kind == "START":
            self._phase, self._status = fields.get("phase"), None
            return None
        if kind == "RTDONE":
            self._status = fields.get("status")
            return None
        if "durationMs" not in fields:
            raise ValueError(f"INIT REPORT without durationMs: {line.strip()!r}")
        return InitReport(
            duration_ms=float(fields["durationMs"]),
            phase=fields.get("phase", self._phase),
            status=fields.get("status", self._status),
        )
