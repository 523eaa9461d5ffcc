"""Fixtures for the training tests: small datasets, tiny training runs, and S3 on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import torch

from training import train
from training.data import generate_rows, write_book_csv

REPOSITORY = Path(__file__).resolve().parents[2]
# Small enough to train in well under a second, big enough for every split to be non-empty.
TINY_ROWS = 80
TINY_ARGS = ("--epochs", "25", "--batch-size", "16", "--patience", "25", "--device", "cpu")


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """What the CLI uses; more threads only contend on small models and shared machines."""
    previous = torch.get_num_threads()
    torch.set_num_threads(train.DEFAULT_THREADS)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def repository() -> Path:
    return REPOSITORY


def write_tiny_csv(directory: Path) -> Path:
    path = directory / "data" / "train.csv"
    path.parent.mkdir()
    write_book_csv(path, generate_rows(TINY_ROWS, seed=3))
    return path


def train_tiny_model(data: Path, out: Path, *extra: str) -> int:
    """The train CLI, in-process, on a tiny dataset; extra CLI arguments pass through."""
    return train.main(["--data", str(data), "--out", str(out), *TINY_ARGS, *extra])


@pytest.fixture
def book_csv(tmp_path: Path) -> Path:
    return write_tiny_csv(tmp_path)


@pytest.fixture
def train_tiny(book_csv: Path) -> Callable[..., int]:
    """Train on the test's own tiny dataset into `out`."""
    return lambda out, *extra: train_tiny_model(book_csv, out, *extra)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny training run for the session, for tests that need a trained model but do not
    test training: they copy it (`trained_copy`) rather than train again."""
    directory = tmp_path_factory.mktemp("tiny")
    out = directory / "model"
    assert train_tiny_model(write_tiny_csv(directory), out) == 0
    return out


@pytest.fixture
def trained_copy(tmp_path: Path, tiny_model: Path) -> Path:
    """A private copy of the session's tiny model, free to tamper with."""
    return Path(shutil.copytree(tiny_model, tmp_path / "model"))


@pytest.fixture
def s3(moto: str) -> Any:
    """S3 on the session's moto server (tests/conftest.py), with the bucket `artifacts`; boto3
    clients made inside the test go to it too."""
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="artifacts")
    return client
