"""Fixtures: the shipped model as batch scoring loads it, local scoring of bytes, a moto bucket."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aws_lambda_powertools import Logger

from torchlambda.aws_clients import s3_client
from torchlambda.batch.chunks import Predict
from torchlambda.batch.formats import format_of
from torchlambda.batch.model import BatchModel, load_batch_model
from torchlambda.batch.numbers import Values
from torchlambda.batch.scoring import Counts, score_stream
from torchlambda.batch.sinks import FileSink, LazySink
from torchlambda.batch.storage import S3_CONFIG
from torchlambda.contract import DEFAULT_MAX_ABS_X
from torchlambda.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SHIPPED_MODEL = ROOT / "lambda_image" / "model"
BUCKET = "torchlambda-artifacts-batch-test"


def doubled(xs: Values) -> Values:
    """A deterministic stand-in for the model."""
    return 2 * xs


@dataclass(frozen=True)
class Scored:
    counts: Counts
    output: bytes | None  # None: no output file (nothing committed)
    errors: list[dict[str, Any]] | None  # None: no errors file


def read_errors(path: Path) -> list[dict[str, Any]] | None:
    if not path.exists():
        return None
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def score_bytes(
    data: bytes,
    name: str,
    directory: Path,
    *,
    predict: Predict = doubled,
    max_abs_x: float = DEFAULT_MAX_ABS_X,
) -> Scored:
    """`data` scored as an input file called `name`, into FileSinks as `make batch-local` does."""
    output, errors = directory / f"out-{name}", directory / f"errors-{name}.jsonl"
    counts = score_stream(
        io.BytesIO(data),
        format_of(name),
        predict=predict,
        max_abs_x=max_abs_x,
        output=FileSink(output),
        errors=LazySink(lambda: FileSink(errors)),
    )
    return Scored(counts, output.read_bytes() if output.exists() else None, read_errors(errors))


def y_text(y: float) -> bytes:
    """y as the API writes it."""
    return orjson.dumps(y)


@pytest.fixture(scope="session")
def batch_model() -> BatchModel:
    """lambda_image/model, loaded and verified as the worker's init does."""
    return load_batch_model(Settings(model_dir=SHIPPED_MODEL), Logger(service="batch-tests"))


@pytest.fixture
def s3(moto: str) -> Any:
    """The batch functions' own client, on the session's moto, with an empty bucket."""
    client = s3_client(S3_CONFIG)
    client.create_bucket(Bucket=BUCKET)
    return client


def object_keys(s3: Any, prefix: str = "") -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(entry["Key"] for entry in listed.get("Contents", []))


def pending_uploads(s3: Any) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return uploads
