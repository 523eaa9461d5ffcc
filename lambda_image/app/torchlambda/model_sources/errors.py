"""The one error of the model sources: init refuses to start on it (one line, then InitError)."""

from __future__ import annotations

MAX_REASON_CHARS = 300


class ModelSourceError(RuntimeError):
    """The model cannot be fetched, does not fit, or is not the pinned build."""


def one_line(reason: object) -> str:
    """A reason as one log line: botocore's messages can span lines and run long."""
    text = " ".join(str(reason).split()) or type(reason).__name__
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."
