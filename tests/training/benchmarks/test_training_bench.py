"""The benchmark's parts, run tiny: the book's procedure and the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.benchmarks.book_procedure import BOOK_EPOCHS, run_book_procedure
from training.benchmarks.run import Result, table
from training.data import generate_rows, write_book_csv

# Runs both training procedures.
pytestmark = pytest.mark.slow


def test_book_procedure_trains_and_measures(book_csv: Path, tmp_path: Path) -> None:
    test_csv = tmp_path / "test.csv"
    write_book_csv(test_csv, generate_rows(30, seed=9))
    metrics = run_book_procedure(
        str(book_csv), str(test_csv), validation_fraction=0.2, seed=0, epochs=1
    )
    assert set(metrics) == {"train", "validation", "test"}
    assert all(m["mse"] > 0 and m["mae"] > 0 for m in metrics.values())
    assert BOOK_EPOCHS == 2000


def test_table_has_one_row_per_trainer() -> None:
    metrics = {name: {"mse": 4.0, "mae": 1.6} for name in ("train", "validation", "test")}
    text = table([Result("ours", 3.21, metrics), Result("book", 390.0, metrics)])
    lines = text.splitlines()
    assert lines[0].startswith("| trainer | wall time (s) |")
    assert lines[2] == "| ours | 3.2 | 4.000 | 4.000 | 4.000 |"
    assert lines[3].startswith("| book | 390.0 |")
