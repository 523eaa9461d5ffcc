"""``python -m training.benchmarks.run``: time our trainer and the book's procedure, side by side.

Both run as fresh processes (so wall time includes interpreter start and ``import torch``) on the
same freshly generated, book-shaped data: 800 training rows of which 640 train and 160 validate,
plus a 200-row test file. The data seed differs from the default dataset's, on which our defaults
were tuned. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from torchlambda.contract import CARD_FILE
from training.benchmarks.book_procedure import BOOK_EPOCHS
from training.data import write_default_dataset

Metrics = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Result:
    name: str
    wall_seconds: float
    metrics: Metrics


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_ours(train: Path, test: Path, work: Path) -> Result:
    out = work / "ours"
    command = [sys.executable, "-m", "training.train", "--data", str(train)]
    seconds = timed([*command, "--test-data", str(test), "--out", str(out), "--device", "cpu"])
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    return Result("ours (training.train)", seconds, card["metrics"])


def run_book(train: Path, test: Path, work: Path, epochs: int) -> Result:
    metrics_file = work / "book.json"
    module = "training.benchmarks.book_procedure"
    command = [sys.executable, "-m", module, "--data", str(train), "--test-data", str(test)]
    seconds = timed([*command, "--metrics-out", str(metrics_file), "--epochs", str(epochs)])
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    return Result(f"book procedure ({epochs} epochs, 2 workers)", seconds, metrics)


def table(results: list[Result]) -> str:
    lines = [
        "| trainer | wall time (s) | train MSE | validation MSE | test MSE |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        m = result.metrics
        lines.append(
            f"| {result.name} | {result.wall_seconds:.1f} | {m['train']['mse']:.3f} | "
            f"{m['validation']['mse']:.3f} | {m['test']['mse']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.benchmarks.run")
    parser.add_argument("--work", type=Path, default=Path(".bench"), help="scratch directory")
    parser.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    parser.add_argument(
        "--book-epochs",
        type=int,
        default=BOOK_EPOCHS,
        help=f"epochs for the book's procedure (default {BOOK_EPOCHS}, as the book; "
        "fewer only for a quick look, since that is no longer the book's procedure)",
    )
    args = parser.parse_args(argv)
    train, test = write_default_dataset(args.work / "data", rows=1000, seed=args.seed)
    ours = run_ours(train, test, args.work)
    print(f"ours: {ours.wall_seconds:.1f} s; now the book's procedure (minutes)...", flush=True)
    book = run_book(train, test, args.work, args.book_epochs)
    print(table([ours, book]))
    faster = book.wall_seconds / ours.wall_seconds
    better = ours.metrics["validation"]["mse"] < book.metrics["validation"]["mse"]
    print(f"\nours is {faster:.0f}x faster; lower validation MSE: {'yes' if better else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
