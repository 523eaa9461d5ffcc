"""The s3 source at init: the pinned build downloaded into MODEL_DIR (or reused when an earlier
init left it there), then loaded as the image's model is, by the online function and the batch
worker alike; any refusal is one line and an init error."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import assert_init_refuses, http_event, load_handler
from tests.lambda_image.model_sources.conftest import Published, Requests, publish
from torchlambda.batch.model import load_batch_model
from torchlambda.contract import CARD_FILE, WEIGHTS_FILE
from torchlambda.model_sources.s3_source import download_model
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.settings import Settings


def health(model_dir: Path, **env: str) -> dict[str, Any]:
    response = load_handler(model_dir, **env)(http_event("GET", "/health"), LocalContext())
    body: dict[str, Any] = json.loads(response["body"])
    return body


def same_files(published: Published, model_dir: Path) -> bool:
    return all(
        (model_dir / name).read_bytes() == (published.source / name).read_bytes()
        for name in (CARD_FILE, WEIGHTS_FILE)
    )


def test_the_build_is_downloaded_then_reused_without_a_request(
    s3: Any, published: Published, tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    first = download_model(published.model, model_dir, s3)
    assert not first.reused and first.size == (published.source / WEIGHTS_FILE).stat().st_size
    assert same_files(published, model_dir)
    assert set(first.log_fields()) == {"download_ms", "download_mb_per_s"}
    # A new init in the same sandbox: /tmp still holds the verified build.
    client = model_s3_client()
    requests = Requests(client)
    again = download_model(published.model, model_dir, client)
    assert again.reused and again.size == first.size and requests.sent == {}
    assert set(again.log_fields()) == {"download_reused", "verify_ms"}


def test_damaged_weights_left_in_the_directory_are_downloaded_again(
    s3: Any, published: Published, tmp_path: Path
) -> None:
    download_model(published.model, tmp_path, s3)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"damaged")
    requests = Requests(s3)
    assert not download_model(published.model, tmp_path, s3).reused
    assert requests.sent["GetObject"] == 2 and same_files(published, tmp_path)


def test_the_online_function_serves_the_build_as_the_image_serves_it(
    published: Published, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    env = {
        **published.environment(tmp_path / "download"),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency",
    }
    served = health(tmp_path / "unused", **env)
    (loaded,) = [r for r in caplog.records if r.getMessage().startswith("model loaded")]
    assert served["model_version"] == health(published.source)["model_version"]
    fields = vars(loaded)
    assert fields["model_source"] == "s3" and fields["model_dir"] == str(tmp_path / "download")
    assert fields["weights_bytes"] == (published.source / WEIGHTS_FILE).stat().st_size
    assert fields["download_ms"] > 0 and fields["download_mb_per_s"] > 0
    assert fields["initialization_type"] == "provisioned-concurrency"


def test_the_batch_worker_loads_the_build_the_same_way(
    published: Published, tmp_path: Path
) -> None:
    settings = Settings(model_dir=tmp_path, model_source=published.model)
    model = load_batch_model(settings, Logger(service="model-sources-tests"))
    assert model.version == health(published.source)["model_version"]


def test_a_wrong_pin_is_one_line_and_nothing_is_left(
    published: Published, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**published.environment(tmp_path), "MODEL_SHA256": "0" * 64}
    line = assert_init_refuses(
        tmp_path, "refusing to serve a model other than the pinned one", caplog, **env
    )
    assert "not the pinned 000000000000" in line
    assert list(tmp_path.iterdir()) == []


def test_a_build_that_is_not_in_the_bucket_is_one_line_naming_the_object(
    s3: Any, model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    published = publish(s3, model_dir)
    env = {**published.environment(tmp_path), "MODEL_PREFIX": "models/test/no-such-build/"}
    assert_init_refuses(
        tmp_path,
        f"s3://{published.model.bucket}/models/test/no-such-build/{CARD_FILE}: no such object",
        caplog,
        **env,
    )
