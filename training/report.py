"""``training.png``: the loss curves and the model's predictions over the data, in one figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in containers and CI; must precede pyplot

import matplotlib.pyplot as plt

Points = tuple[Sequence[float], Sequence[float]]


def write_plot(
    path: Path,
    *,
    train_loss: Sequence[float],
    validation_loss: Sequence[float],
    best_epoch: int,
    points: Mapping[str, Points],
    curve: Points,
    title: str,
) -> None:
    """`points` maps a label ("train", "validation", "test") to its (x, y); `curve` is the model."""
    figure, (losses, predictions) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    try:
        epochs = range(1, len(train_loss) + 1)
        losses.plot(epochs, train_loss, label="train", linewidth=1)
        losses.plot(epochs, validation_loss, label="validation", linewidth=1)
        if best_epoch:
            losses.axvline(best_epoch, color="grey", linestyle=":", label=f"best ({best_epoch})")
        losses.set_yscale("log")
        losses.set_xlabel("epoch")
        losses.set_ylabel("MSE")
        losses.set_title("Loss")
        losses.legend()

        for label, (x, y) in points.items():
            predictions.scatter(x, y, s=6, alpha=0.5, label=f"{label} ({len(x)})")
        predictions.plot(*curve, color="black", linewidth=1.5, label="model")
        predictions.set_xlabel("x")
        predictions.set_ylabel("y")
        predictions.set_title("Predictions")
        predictions.legend(fontsize="small")

        figure.suptitle(title, fontsize="medium")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
