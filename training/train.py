"""``python -m training.train``: train the model and write its artifact directory.

With ``--test-split-out``, the rows held out for testing are also written there, as book CSV
(``y,x``), once the model is: the publisher puts them beside the model, and the retrain workflow
scores the candidate and the champion on them. They stay out of the model directory, which is
what the image bakes in.

Exit status: 0 written; 1 bad data or unwritable output; 2 bad arguments; 3 the quality gate
refused the model (nothing written); 130 interrupted (nothing written).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tooling.arguments import USAGE_ERROR, OneLineParser, checked
from tooling.atomic import (
    InterruptedAfterWrite,
    OutputError,
    write_directory_atomically,
    write_file_atomically,
)
from tooling.interrupts import sigterm_as_interrupt
from torchlambda.contract import CARD_FILE, PLOT_FILE, WEIGHTS_FILE
from torchlambda.predictor.architecture import DEFAULT_SPEC, ArchitectureSpec, build_model
from torchlambda.predictor.artifact import ArtifactError, load_artifact, sha256_file

from . import report
from .card import build_card, data_source
from .data import DataError, Dataset, read_dataset, split
from .fit import FitConfig, FitResult, fit
from .progress import Progress

EXIT_DATA, EXIT_USAGE, EXIT_GATE, EXIT_INTERRUPTED = 1, USAGE_ERROR, 3, 130
# Measured on 2 cores: one thread trains this small MLP as fast as two on an idle machine, and
# over ten times faster when other work shares the cores (two threads then contend).
DEFAULT_THREADS = 1
CURVE_POINTS = 400


class UsageError(Exception):
    """A bad argument or setting; the message is one line."""


class GateError(Exception):
    """The model is worse than the quality gate allows, or not fit to serve at all."""


_positive_int = checked(int, lambda n: n >= 1, "a positive integer")
_positive_float = checked(float, lambda f: math.isfinite(f) and f > 0, "a positive number")
_fraction = checked(float, lambda f: 0 < f < 1, "a number between 0 and 1")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m training.train",
        description="Train the model and write model.pth, model.json and training.png into --out, "
        "atomically: the previous model stays until the new one is complete.",
    )
    arg = parser.add_argument
    arg("--data", required=True, help="training CSV: a path or s3://bucket/key")
    arg("--out", required=True, type=Path, help="model directory to (re)place")
    arg("--validation-data", help="validation CSV (default: --validation-fraction of --data)")
    arg("--test-data", help="held-out test CSV (default: --test-fraction of --data)")
    arg("--epochs", type=_positive_int, default=2000, help="most epochs (default 2000)")
    arg(
        "--patience",
        type=_positive_int,
        default=100,
        help="stop after this many epochs without a better validation loss (default 100)",
    )
    arg("--lr", type=_positive_float, default=1e-3, help="Adam learning rate (default 0.001)")
    arg("--batch-size", type=_positive_int, default=64, help="mini-batch size (default 64)")
    arg("--seed", type=int, default=0, help="seed for the splits, initialization and shuffling")
    arg("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA if present")
    arg(
        "--threads",
        type=_positive_int,
        default=DEFAULT_THREADS,
        help=f"CPU threads for torch (default {DEFAULT_THREADS}, fastest for this model)",
    )
    arg(
        "--max-val-mse",
        type=_positive_float,
        help="quality gate: fail, writing nothing, if the validation MSE is above this",
    )
    arg(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        help="share of --data held out for validation without --validation-data (default 0.2)",
    )
    arg(
        "--test-fraction",
        type=_fraction,
        default=0.2,
        help="share of --data held out for testing without --test-data (default 0.2)",
    )
    arg(
        "--test-split-out",
        type=Path,
        help="also write the test split here, as book CSV (y,x), for the publisher",
    )
    return parser


@dataclass(frozen=True)
class Splits:
    train: Dataset
    validation: Dataset
    test: Dataset
    source: Dataset

    def held_apart(self) -> dict[str, Dataset]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def card_data(self) -> dict[str, Any]:
        rows = {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }
        card = data_source(self.source, {"total": len(self.source), **rows})
        # A separate validation or test file is recorded with its own hash.
        for name, held_out in (("validation", self.validation), ("test", self.test)):
            if held_out.sha256 != self.source.sha256:
                card[name] = data_source(held_out, {"total": len(held_out)})
        return card


def check_learnable(train: Dataset) -> None:
    """Refuse a training split with one x value (as float32): a model could only ignore x."""
    as_float32 = torch.tensor(train.x, dtype=torch.float32)
    if bool((as_float32 == as_float32[0]).all()):
        raise DataError(
            f"{train.source}: every training row has x = {float(as_float32[0]):g} (as float32); "
            "a model cannot learn how y depends on x without at least two distinct x values"
        )


def load_splits(args: argparse.Namespace) -> Splits:
    source = read_dataset(args.data)
    rest = source
    if args.test_data:
        test = read_dataset(args.test_data)
    else:
        rest, test = split(rest, args.test_fraction, args.seed, "test")
    if args.validation_data:
        validation = read_dataset(args.validation_data)
    else:
        rest, validation = split(rest, args.validation_fraction, args.seed, "validation")
    check_learnable(rest)
    return Splits(train=rest, validation=validation, test=test, source=source)


def resolve_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here (try --device auto)")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    # cuBLAS is deterministic only with a fixed workspace; must be set before its first use.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.device("cuda")


def tensors(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) as float32 column vectors, the shape the network takes and returns."""
    return (
        torch.tensor(data.x, dtype=torch.float32).unsqueeze(1),
        torch.tensor(data.y, dtype=torch.float32).unsqueeze(1),
    )


def evaluate(model: nn.Module, data: Dataset) -> dict[str, float]:
    x, y = tensors(data)
    with torch.no_grad():
        error = model(x) - y
    return {"mse": float((error**2).mean()), "mae": float(error.abs().mean())}


def check_outputs(args: argparse.Namespace) -> None:
    split_out: Path | None = args.test_split_out
    if split_out is not None and split_out.absolute().is_relative_to(args.out.absolute()):
        raise UsageError(
            f"--test-split-out {split_out} is inside --out {args.out}: the model directory "
            "holds the model alone (the image bakes it in); write the split beside it"
        )


def train(args: argparse.Namespace, progress: Progress) -> None:
    started = time.perf_counter()
    check_outputs(args)
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    splits = load_splits(args)
    spec: ArchitectureSpec = DEFAULT_SPEC
    config = FitConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
    )
    result = fit(
        spec,
        config,
        tensors(splits.train),
        tensors(splits.validation),
        device=device,
        on_epoch=progress.epoch,
    )
    model = build_model(spec)
    model.load_state_dict(result.state_dict)
    model.eval()
    metrics = {name: evaluate(model, data) for name, data in splits.held_apart().items()}
    progress.finish(
        f"stopped after {result.epochs_run} epochs; best epoch {result.history.best_epoch}; "
        + "; ".join(f"{name} MSE {m['mse']:.4f}" for name, m in metrics.items())
    )
    check_finite(metrics)
    check_gate(metrics["validation"]["mse"], args.max_val_mse)

    hyperparameters = {
        **asdict(config),
        "epochs_run": result.epochs_run,
        "best_epoch": result.history.best_epoch,
        "optimizer": "Adam",
        "loss": "MSELoss",
        "validation_fraction": None if args.validation_data else args.validation_fraction,
        "test_fraction": None if args.test_data else args.test_fraction,
        "device": device.type,
        "threads": args.threads,
        "max_val_mse": args.max_val_mse,
    }

    def write(staging: Path) -> None:
        # Serialized in memory, written by Python: torch's own writer turns a failed write
        # (disk full, a file-size limit) into a RuntimeError with no file name.
        buffer = io.BytesIO()
        torch.save(result.state_dict, buffer)
        (staging / WEIGHTS_FILE).write_bytes(buffer.getvalue())
        card = build_card(
            spec=spec,
            weights_sha256=sha256_file(staging / WEIGHTS_FILE),
            data=splits.card_data(),
            hyperparameters=hyperparameters,
            seed=args.seed,
            metrics=metrics,
            x_range=(min(splits.train.x), max(splits.train.x)),
            training_seconds=time.perf_counter() - started,
        )
        (staging / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        plot(staging / PLOT_FILE, model, splits, result, metrics)
        check_servable(staging)

    write_directory_atomically(args.out, write, replaced={WEIGHTS_FILE, CARD_FILE, PLOT_FILE})
    print(f"wrote {args.out}/{{{WEIGHTS_FILE},{CARD_FILE},{PLOT_FILE}}}")
    if args.test_split_out is not None:
        write_test_split(args.test_split_out, splits.test)
        print(f"wrote {args.test_split_out} ({len(splits.test)} test rows)")


def book_csv(data: Dataset) -> bytes:
    """`y,x` rows without a header; repr is the shortest text that reads back as the same float,
    so the published split holds exactly the rows the card's test metrics were computed on."""
    return "".join(f"{y!r},{x!r}\n" for x, y in zip(data.x, data.y, strict=True)).encode("ascii")


def write_test_split(path: Path, test: Dataset) -> None:
    try:
        write_file_atomically(path, book_csv(test))
    except OSError as error:
        raise OutputError(
            f"{path}: cannot write the test split ({error.strerror or error}); the model was "
            "written, but do not publish it without its test split"
        ) from None


def check_finite(metrics: dict[str, dict[str, float]]) -> None:
    """A diverged fit has NaN or infinite metrics: never write it, whatever the gate says."""
    broken = [
        f"{split} {name} {value}"
        for split, values in metrics.items()
        for name, value in values.items()
        if not math.isfinite(value)
    ]
    if broken:
        raise GateError(f"training diverged ({', '.join(broken)}); nothing written")


def check_servable(staging: Path) -> None:
    """Load the staged model exactly as the inference image will, or write nothing."""
    try:
        load_artifact(staging)
    except ArtifactError as error:
        raise GateError(f"the trained model would not serve ({error}); nothing written") from None


def check_gate(val_mse: float, threshold: float | None) -> None:
    if threshold is not None and not val_mse <= threshold:
        raise GateError(
            f"quality gate: validation MSE {val_mse:.4f} is above --max-val-mse {threshold:g}; "
            "nothing written"
        )


def plot(
    path: Path,
    model: nn.Module,
    splits: Splits,
    result: FitResult,
    metrics: dict[str, dict[str, float]],
) -> None:
    low = min(min(d.x) for d in (splits.train, splits.validation, splits.test))
    high = max(max(d.x) for d in (splits.train, splits.validation, splits.test))
    grid = torch.linspace(low, high, CURVE_POINTS).unsqueeze(1)
    with torch.no_grad():
        curve = model(grid).squeeze(1).tolist()
    report.write_plot(
        path,
        train_loss=result.history.train,
        validation_loss=result.history.validation,
        best_epoch=result.history.best_epoch,
        points={name: (d.x, d.y) for name, d in splits.held_apart().items()},
        curve=(grid.squeeze(1).tolist(), curve),
        title=" · ".join(f"{name} MSE {m['mse']:.3f}" for name, m in metrics.items()),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress = Progress(sys.stdout, args.epochs)
    try:
        with sigterm_as_interrupt():  # a stopped build cleans up like Ctrl-C
            train(args, progress)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (DataError, OutputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_DATA
    except GateError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_GATE
    except InterruptedAfterWrite:
        print(f"\ninterrupted; the new model was already written to {args.out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\ninterrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
