"""Progress output: one status line redrawn in place on a terminal, plain lines elsewhere (a log,
CodeBuild, CI), with log lines scrolling above it either way."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import TextIO

CLEAR_LINE = "\r\x1b[2K"  # carriage return, then erase the whole line
REDRAW_SECONDS = 0.1  # a terminal is redrawn at most this often; the latest status is never lost


class StatusLine:
    """Without a terminal, a status is printed only when its key changes."""

    def __init__(
        self,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._clock = clock
        self._status = ""  # the latest status
        self._shown = ""  # what the terminal's last line shows now
        self._drawn_at = -math.inf
        self._key: str | None = None

    def status(self, text: str, key: str) -> None:
        """Show `text`; `key` (e.g. the phase) decides when a non-terminal gets a new line."""
        self._status = text
        if self.interactive:
            now = self._clock()
            if now - self._drawn_at >= REDRAW_SECONDS:
                self._draw(text)
                self._drawn_at = now
        elif key != self._key:
            self._write(text + "\n")
        self._key = key

    def line(self, text: str) -> None:
        """Print `text` on a line of its own, above the status line."""
        if self.interactive:
            clear = CLEAR_LINE if self._shown else ""
            self._write(clear + text + "\n" + self._status)
            self._shown = self._status
        else:
            self._write(text + "\n")

    def finish(self) -> None:
        """End the status line, showing its latest text, so that what follows starts afresh."""
        if self.interactive and self._status:
            if self._shown != self._status:
                self._draw(self._status)
            self._write("\n")
        self._status = self._shown = ""
        self._drawn_at = -math.inf  # a fresh line: its first status is drawn at once

    def _draw(self, text: str) -> None:
        self._write(CLEAR_LINE + text)
        self._shown = text

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
