"""The copy itself, against moto and a directory standing in for the mount: a build appears
whole or not at all, a second copy finds it, and a directory that does not verify is never
overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_image.model_sources.conftest import BUCKET, ENVIRONMENT, Published, Requests
from torchlambda import contract
from torchlambda.model_sources.copy_event import CopyRequest
from torchlambda.model_sources.efs_copy import ModelStore, copy_build
from torchlambda.model_sources.errors import ModelSourceError


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    mount = tmp_path / "mount"
    mount.mkdir()
    return ModelStore(BUCKET, contract.environment_models_prefix(ENVIRONMENT), mount)


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_a_build_is_copied_whole_then_found_verified(
    s3: Any, published: Published, store: ModelStore
) -> None:
    request = CopyRequest(published.build_id, published.sha256)
    copied = copy_build(s3, store, request)
    target = store.mount / published.build_id
    assert copied.path == target and not copied.already_present
    assert copied.size == (published.source / contract.WEIGHTS_FILE).stat().st_size
    assert listing(store.mount) == [published.build_id]  # no staging directory left
    assert listing(target) == [contract.CARD_FILE, contract.WEIGHTS_FILE]
    assert target.stat().st_mode & 0o777 == 0o755  # readable by the serving functions
    requests = Requests(s3)
    again = copy_build(s3, store, request)
    assert again.already_present and again.size == copied.size and requests.sent == {}


def test_an_existing_directory_that_does_not_verify_is_never_overwritten(
    s3: Any, published: Published, store: ModelStore
) -> None:
    target = Path(shutil.copytree(published.source, store.mount / published.build_id))
    (target / contract.WEIGHTS_FILE).write_bytes(b"half a copy")
    with pytest.raises(ModelSourceError) as refused:
        copy_build(s3, store, CopyRequest(published.build_id, published.sha256))
    message = str(refused.value)
    assert message.startswith(f"{target} exists but is not build {published.build_id}")
    assert message.endswith(
        "refusing to overwrite a directory that functions may be reading: remove it once none "
        "serves it, then copy again"
    )
    assert (target / contract.WEIGHTS_FILE).read_bytes() == b"half a copy"


def test_a_sha256_other_than_the_builds_copies_nothing(
    s3: Any, published: Published, store: ModelStore
) -> None:
    with pytest.raises(ModelSourceError, match="not the pinned 000000000000"):
        copy_build(s3, store, CopyRequest(published.build_id, "0" * 64))
    assert listing(store.mount) == []


def test_a_build_missing_from_s3_copies_nothing(s3: Any, store: ModelStore) -> None:
    with pytest.raises(ModelSourceError, match=r"build-9/model\.json: no such object"):
        copy_build(s3, store, CopyRequest("build-9", "0" * 64))
    assert listing(store.mount) == []


def test_without_the_mount_nothing_is_written(s3: Any, store: ModelStore) -> None:
    store.mount.rmdir()
    with pytest.raises(ModelSourceError, match="the model file system is not mounted"):
        copy_build(s3, store, CopyRequest("build-1", "0" * 64))
