"""Epoch progress on the shared status line: redrawn in place on a terminal, and in logs (CodeBuild,
CI) a line for the first epoch and every LOG_EVERY_EPOCHS after it."""

from __future__ import annotations

from typing import TextIO

from tooling.status_line import StatusLine

LOG_EVERY_EPOCHS = 100


class Progress:
    def __init__(self, stream: TextIO, total_epochs: int) -> None:
        self._status = StatusLine(stream)
        self._total = total_epochs

    def epoch(self, epoch: int, train_loss: float, val_loss: float, best_epoch: int) -> None:
        line = (
            f"epoch {epoch:>{len(str(self._total))}}/{self._total}  train MSE {train_loss:.4f}  "
            f"validation MSE {val_loss:.4f}  best epoch {best_epoch}"
        )
        # The key changes at epochs 100, 200, ...: a log gets epoch 1 and those.
        self._status.status(line, key=str(epoch // LOG_EVERY_EPOCHS))

    def finish(self, message: str) -> None:
        """End the progress display (drawing its last state) and print `message` on its own line."""
        self._status.finish()
        self._status.line(message)
