"""Epoch progress: one line redrawn in place on a terminal, plain lines in logs (CodeBuild, CI)."""

from __future__ import annotations

import time
from typing import TextIO

# A log gets a line this often; a terminal is redrawn at most this often (seconds).
LOG_EVERY_EPOCHS = 100
REDRAW_SECONDS = 0.1


class Progress:
    def __init__(self, stream: TextIO, total_epochs: int) -> None:
        self._stream = stream
        self._total = total_epochs
        self._tty = stream.isatty()
        self._last_draw = 0.0
        self._pending = ""

    def epoch(self, epoch: int, train_loss: float, val_loss: float, best_epoch: int) -> None:
        line = (
            f"epoch {epoch:>{len(str(self._total))}}/{self._total}  train MSE {train_loss:.4f}  "
            f"validation MSE {val_loss:.4f}  best epoch {best_epoch}"
        )
        if self._tty:
            self._pending = line
            now = time.monotonic()
            if now - self._last_draw >= REDRAW_SECONDS:
                self._draw(line)
                self._last_draw = now
        elif epoch == 1 or epoch % LOG_EVERY_EPOCHS == 0:
            print(line, file=self._stream, flush=True)

    def finish(self, message: str) -> None:
        """End the progress display (drawing its last state) and print `message` on its own line."""
        if self._tty and self._pending:
            self._draw(self._pending)
            self._stream.write("\n")
        print(message, file=self._stream, flush=True)

    def _draw(self, line: str) -> None:
        self._stream.write("\r\x1b[2K" + line)  # carriage return, then clear the line
        self._stream.flush()
