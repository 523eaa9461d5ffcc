"""Progress output: one status line that updates in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
from typing import TextIO

CLEAR_LINE = "\r\033[K"


def format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class StatusLine:
    """Log lines scroll above a status line; without a terminal the status prints only on change."""

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._status = ""
        self._key: str | None = None

    def status(self, text: str, key: str) -> None:
        """Show `text`; `key` (e.g. the phase) decides when a non-terminal gets a new line."""
        self._status = text
        if self.interactive:
            self.stream.write(CLEAR_LINE + text)
            self.stream.flush()
        elif key != self._key:
            self.stream.write(text + "\n")
            self.stream.flush()
        self._key = key

    def line(self, text: str) -> None:
        if self.interactive:
            self.stream.write(CLEAR_LINE + text + "\n" + self._status)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the status line so that what follows starts on a fresh line."""
        if self.interactive and self._status:
            self.stream.write("\n")
            self.stream.flush()
        self._status = ""
