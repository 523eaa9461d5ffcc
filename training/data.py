"""Training data: reading CSVs (local or ``s3://``), the seeded split, and the default dataset.

Two CSV layouts are accepted:

* the book's: no header, column 0 is y and column 1 is x;
* headered: columns named ``x`` and ``y`` (any order, other columns ignored).

Every problem with a file is reported as a `DataError` whose message is one line naming the source
(and the line number where there is one), so the CLI can print it as is.

``python -m training.data --rows 1000 --seed 0 --out DIR`` writes the repository's default dataset:
``train.csv`` and ``test.csv`` in the book's layout, byte for byte the same on every machine.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import random
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from torchlambda.predictor.domain import FLOAT32_MAX

MIN_ROWS = 20
X_DOMAIN = (-50.0, 50.0)
TEST_FRACTION = 0.2
TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"


class DataError(ValueError):
    """The training data cannot be used; the message is one line, fit for the user."""


@dataclass(frozen=True)
class Dataset:
    """Pairs read from one source, in file order."""

    source: str
    sha256: str
    x: tuple[float, ...]
    y: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, indices: Iterable[int], label: str) -> Dataset:
        chosen = list(indices)
        return Dataset(
            source=f"{self.source} ({label})",
            sha256=self.sha256,
            x=tuple(self.x[i] for i in chosen),
            y=tuple(self.y[i] for i in chosen),
        )


class _HashingReader(io.RawIOBase):
    """Passes bytes through while hashing them, so a stream is read (and hashed) only once."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._stream.read(len(buffer))
        self.digest.update(chunk)
        self.size += len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def read_dataset(source: str) -> Dataset:
    """Read a CSV from a local path or an ``s3://bucket/key`` URI."""
    if source.startswith("s3://"):
        return _read_s3(source)
    path = Path(source)
    if not path.exists():
        raise DataError(f"{source}: file not found")
    if not path.is_file():
        raise DataError(f"{source}: not a regular file")
    try:
        with path.open("rb") as stream:
            return _parse(source, stream)
    except OSError as error:
        raise DataError(f"{source}: cannot read ({error.strerror or error})") from None


def _read_s3(uri: str) -> Dataset:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise DataError(f"{uri}: expected s3://bucket/key")
    # boto3 is imported here so that local training does not pay for it.
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"NoSuchKey", "NoSuchBucket", "404"}:
            raise DataError(f"{uri}: file not found ({code})") from None
        raise DataError(f"{uri}: cannot read ({code or error})") from None
    except BotoCoreError as error:
        raise DataError(f"{uri}: cannot read ({error})") from None
    body = response["Body"]
    try:
        return _parse(uri, body)
    finally:
        body.close()


def _parse(source: str, stream: BinaryIO) -> Dataset:
    hashing = _HashingReader(stream)
    text = io.TextIOWrapper(io.BufferedReader(hashing), encoding="utf-8-sig", newline="")
    try:
        rows = _numbered_rows(csv.reader(text))
        x, y = _columns(source, rows)
    except UnicodeDecodeError:
        raise DataError(f"{source}: not UTF-8 text") from None
    except csv.Error as error:
        raise DataError(f"{source}: malformed CSV ({error})") from None
    if hashing.size == 0:
        raise DataError(f"{source}: file is empty")
    if len(x) < MIN_ROWS:
        raise DataError(f"{source}: {len(x)} data rows; at least {MIN_ROWS} are needed")
    return Dataset(source=source, sha256=hashing.digest.hexdigest(), x=tuple(x), y=tuple(y))


def _numbered_rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows of a csv.reader with their 1-based line numbers (blank lines are skipped)."""
    for row in reader:
        cells = [cell.strip() for cell in row]
        if any(cells):
            yield reader.line_num, cells


def _columns(source: str, rows: Iterator[tuple[int, list[str]]]) -> tuple[list[float], list[float]]:
    first = next(rows, None)
    if first is None:
        return [], []
    line, cells = first
    if len(cells) < 2:
        raise DataError(
            f"{source}: line {line}: one column; expected y,x (the book's layout) "
            "or a header naming x and y"
        )
    x_col, y_col, width = 1, 0, len(cells)
    x: list[float] = []
    y: list[float] = []
    if _is_header(cells):
        x_col, y_col = _header_columns(source, line, cells)
    else:
        x.append(_number(source, line, cells[x_col]))
        y.append(_number(source, line, cells[y_col]))
    for line, cells in rows:
        if len(cells) != width:
            raise DataError(f"{source}: line {line}: {len(cells)} columns, expected {width}")
        x.append(_number(source, line, cells[x_col]))
        y.append(_number(source, line, cells[y_col]))
    return x, y


def _is_header(cells: list[str]) -> bool:
    """A first row is a header when none of its cells is a number."""
    for cell in cells:
        try:
            float(cell)
        except ValueError:
            continue
        return False
    return True


def _header_columns(source: str, line: int, cells: list[str]) -> tuple[int, int]:
    names = [cell.lower() for cell in cells]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DataError(f"{source}: line {line}: duplicate column names: {', '.join(duplicates)}")
    missing = [name for name in ("x", "y") if name not in names]
    if missing:
        raise DataError(
            f"{source}: line {line}: header has no column named {' or '.join(missing)} "
            f"(found: {', '.join(cells)})"
        )
    return names.index("x"), names.index("y")


def _number(source: str, line: int, cell: str) -> float:
    # float() accepts '1_000' and non-ASCII digits; a data file should not.
    if not cell.isascii() or "_" in cell:
        raise DataError(f"{source}: line {line}: {cell!r} is not a number")
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{source}: line {line}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{source}: line {line}: {cell!r} is not a finite number")
    # The network computes in float32: beyond its range a value is infinity, and the fit NaN.
    if abs(value) > FLOAT32_MAX:
        raise DataError(
            f"{source}: line {line}: {cell!r} is beyond float32's range "
            f"(|v| <= {FLOAT32_MAX:.4g}), which the model computes in"
        )
    return value


def split(data: Dataset, fraction: float, seed: int, label: str) -> tuple[Dataset, Dataset]:
    """Seeded random split: (the rest, `fraction` of the rows named `label`)."""
    if not 0 < fraction < 1:
        raise DataError(f"{label} fraction must be between 0 and 1, got {fraction}")
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    taken = round(len(order) * fraction)
    if taken < 1 or taken >= len(order):
        raise DataError(
            f"{data.source}: a {label} fraction of {fraction} of {len(order)} rows leaves "
            "one side empty"
        )
    rest, held_out = sorted(order[taken:]), sorted(order[:taken])
    return data.subset(rest, "train"), data.subset(held_out, label)


# ---- The default dataset ------------------------------------------------------------------------


def target_function(x: float) -> float:
    """Smooth and nonlinear over [-50, 50]: a gentle trend, a bend, and a slow wave."""
    return 0.8 * x + 0.012 * x * x + 9.0 * math.sin(x / 7.0)


def generate_rows(rows: int, seed: int, noise: float = 2.0) -> list[tuple[float, float]]:
    """`rows` (y, x) pairs; `random.Random` streams are stable across Python versions."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(rows):
        x = rng.uniform(*X_DOMAIN)
        pairs.append((target_function(x) + rng.gauss(0.0, noise), x))
    return pairs


def write_book_csv(path: Path, pairs: Iterable[tuple[float, float]]) -> None:
    # Fixed decimals and "\n" endings make the file byte-identical everywhere.
    lines = "".join(f"{y:.4f},{x:.4f}\n" for y, x in pairs)
    path.write_bytes(lines.encode("ascii"))


def write_default_dataset(out: Path, rows: int, seed: int) -> tuple[Path, Path]:
    pairs = generate_rows(rows, seed)
    n_test = round(rows * TEST_FRACTION)
    out.mkdir(parents=True, exist_ok=True)
    train_path, test_path = out / TRAIN_FILE, out / TEST_FILE
    write_book_csv(train_path, pairs[n_test:])
    write_book_csv(test_path, pairs[:n_test])
    return train_path, test_path


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.data",
        description="Write the default dataset (book layout: y,x without header): "
        f"{TRAIN_FILE} and a held-out {TEST_FILE} ({TEST_FRACTION:.0%} of the rows).",
    )
    parser.add_argument("--rows", type=int, default=1000, help="rows in total (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    args = parser.parse_args(argv)
    # Both files must pass the reader's minimum; the test file is the smaller one.
    fewest = math.ceil(MIN_ROWS / TEST_FRACTION)
    if args.rows < fewest:
        parser.error(f"--rows must be at least {fewest}, got {args.rows}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    for path in write_default_dataset(args.out, args.rows, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
