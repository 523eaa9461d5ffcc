"""A build is its card and its weights, pinned: a card for another build stops the download
before the weights, and a directory verifies only if both are the pinned build's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_image.model_sources.conftest import BUCKET, Published, Requests
from torchlambda.contract import CARD_FILE, WEIGHTS_FILE
from torchlambda.model_sources.build import fetch_build, verify_build
from torchlambda.model_sources.errors import ModelSourceError


def test_a_build_is_fetched_card_first_and_verified(
    s3: Any, published: Published, tmp_path: Path
) -> None:
    fetched = fetch_build(s3, BUCKET, published.prefix, tmp_path, published.sha256)
    assert fetched.path == tmp_path / WEIGHTS_FILE and fetched.sha256 == published.sha256
    for name in (CARD_FILE, WEIGHTS_FILE):
        assert (tmp_path / name).read_bytes() == (published.source / name).read_bytes()
    assert verify_build(tmp_path, published.sha256) == fetched.size


def test_a_card_for_another_build_stops_it_before_the_weights(
    s3: Any, published: Published, tmp_path: Path
) -> None:
    requests = Requests(s3)
    with pytest.raises(ModelSourceError) as refused:
        fetch_build(s3, BUCKET, published.prefix, tmp_path, "0" * 64)
    assert str(refused.value) == (
        f"s3://{BUCKET}/{published.prefix}{CARD_FILE} records sha256 {published.sha256[:12]}, "
        "not the pinned 000000000000; refusing to serve a model other than the pinned one"
    )
    assert requests.sent["GetObject"] == 1  # the card's only
    assert list(tmp_path.iterdir()) == []


def copy_of(published: Published, directory: Path) -> Path:
    return Path(shutil.copytree(published.source, directory))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda build: (build / WEIGHTS_FILE).unlink(), "model.pth or model.json is missing"),
        (lambda build: (build / CARD_FILE).write_text("[]"), "unreadable model card"),
        (
            lambda build: (build / CARD_FILE).write_text(json.dumps({"sha256": "f" * 64})),
            "records sha256 ffffffffffff, not the pinned",
        ),
        (
            lambda build: (build / WEIGHTS_FILE).write_bytes(b"other weights"),
            "is not the pinned",
        ),
    ],
    ids=["no weights", "card not an object", "card of another build", "other weights"],
)
def test_a_directory_verifies_only_as_the_pinned_build(
    published: Published, tmp_path: Path, damage: Any, reason: str
) -> None:
    build = copy_of(published, tmp_path / "build")
    assert verify_build(build, published.sha256) > 0
    damage(build)
    with pytest.raises(ModelSourceError, match=reason):
        verify_build(build, published.sha256)
