"""Fixtures: two small models published to moto as training publishes them, evaluation sets on
which one is better than the other, and champion.json as a promotion leaves it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_image.lambda_models import reference_prediction, write_model
from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT, Published, publish
from torchlambda.contract import DATA_PREFIX, champion_key
from torchlambda.lifecycle.evaluation import evaluate
from torchlambda.model_sources.transfer import model_s3_client

HOLDOUT = DATA_PREFIX + "holdout.csv"
ROWS = 300
XS = [-50 + 100 * i / (ROWS - 1) for i in range(ROWS)]
Rows = list[tuple[float, float]]  # (y, x), the book's order


@dataclass(frozen=True)
class Models:
    """Two models, `good` close to the sets' y and `poor` not, each with its own card."""

    good: Path
    poor: Path


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("lifecycle-models")
    return Models(
        good=write_model(root / "good", seed=1, card_overrides=metrics(1.5)),
        poor=write_model(root / "poor", seed=2, card_overrides=metrics(9.0)),
    )


def metrics(test_mse: float) -> dict[str, Any]:
    return {"metrics": {"test": {"mse": test_mse, "mae": math.sqrt(test_mse)}}}


@pytest.fixture(scope="session")
def labelled(models: Models) -> Rows:
    """The good model's own predictions with a small, even wobble: its MSE is small, not 0."""
    predicted = reference_prediction(models.good, XS)
    return [(y + 0.05 * math.sin(i), x) for i, (y, x) in enumerate(zip(predicted, XS, strict=True))]


def book_csv(rows: Rows) -> bytes:
    return "".join(f"{y!r},{x!r}\n" for y, x in rows).encode("ascii")


def expected_mse(model: Path, rows: Rows) -> float:
    """Independently of the evaluator: the plain module's predictions, float64 errors."""
    predicted = reference_prediction(model, [x for _, x in rows])
    return math.fsum((p - y) ** 2 for p, (y, _) in zip(predicted, rows, strict=True)) / len(rows)


@pytest.fixture
def s3(moto: str) -> Any:
    """The lifecycle functions' client, on the session's moto, with an empty bucket."""
    client = model_s3_client()
    client.create_bucket(Bucket=BUCKET)
    return client


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def keys(s3: Any, prefix: str = "") -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(entry["Key"] for entry in listed.get("Contents", []))


def read(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def crown(s3: Any, build: Published) -> str:
    """champion.json naming `build`, as an earlier promotion would; its ETag."""
    document = f'{{"build_id": "{build.build_id}", "sha256": "{build.sha256}"}}'
    s3.put_object(Bucket=BUCKET, Key=champion_key(ENVIRONMENT), Body=document.encode())
    return str(s3.head_object(Bucket=BUCKET, Key=champion_key(ENVIRONMENT))["ETag"])


Evaluate = Callable[..., dict[str, Any]]


@pytest.fixture
def evaluate_build(s3: Any, tmp_path: Path) -> Evaluate:
    """`evaluate` on the fixtures' bucket and environment, the holdout by default."""
    work_dir = tmp_path / "work"
    work_dir.mkdir()

    def run(build_id: str, evaluation_set: str = HOLDOUT) -> dict[str, Any]:
        return evaluate(
            s3,
            BUCKET,
            ENVIRONMENT,
            build_id,
            evaluation_set=evaluation_set,
            work_dir=work_dir,
        )

    return run


@pytest.fixture
def with_holdout(s3: Any, labelled: Rows) -> bytes:
    body = book_csv(labelled)
    put(s3, HOLDOUT, body)
    return body


@dataclass(frozen=True)
class Builds:
    good: Published
    poor: Published


@pytest.fixture
def builds(s3: Any, models: Models) -> Builds:
    """Both models, published as builds `build-good` and `build-poor`."""
    return Builds(publish(s3, models.good, "build-good"), publish(s3, models.poor, "build-poor"))
