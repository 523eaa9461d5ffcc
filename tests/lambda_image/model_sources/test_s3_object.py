"""One object into a file: in order through parallel ranged GETs, verified before it takes its
name, and every failure one line with nothing left behind."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.lambda_image.model_sources.conftest import BUCKET, Requests, range_of
from torchlambda.model_sources.disk import HEADROOM_BYTES, Disk
from torchlambda.model_sources.errors import ModelSourceError
from torchlambda.model_sources.s3_object import S3Location, fetch_object, s3_failure

KEY = "models/test/build-1/blob.bin"
LOCATION = S3Location(BUCKET, KEY)
PART = 256 << 10
# Parts of 256 KiB, four at a time: a 2.5 MiB object takes ten ranged GETs.
SMALL_PARTS = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)


@pytest.fixture
def blob(s3: Any) -> bytes:
    data = os.urandom(10 * PART + 1234)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=data)
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def only_the_file(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_parts_fetched_in_parallel_are_written_in_order(
    s3: Any, blob: bytes, tmp_path: Path
) -> None:
    requests = Requests(s3)

    def first_part_last(request: Any) -> None:
        # The first part arrives after the others: s3transfer must hold them back until it has.
        if (range_of(request) or "").startswith("bytes=0-"):
            time.sleep(0.3)

    requests.before = first_part_last
    fetched = fetch_object(
        s3, LOCATION, tmp_path / "blob.bin", pinned_sha256=sha256(blob), config=SMALL_PARTS
    )
    assert (tmp_path / "blob.bin").read_bytes() == blob
    assert fetched.sha256 == sha256(blob) and fetched.size == len(blob)
    assert len(requests.ranges) == 11 and "bytes=0-262143" in requests.ranges
    assert only_the_file(tmp_path) == ["blob.bin"]


def test_bytes_other_than_the_pinned_ones_are_refused_and_removed(
    s3: Any, blob: bytes, tmp_path: Path
) -> None:
    other = sha256(blob + b"!")
    with pytest.raises(ModelSourceError) as refused:
        fetch_object(s3, LOCATION, tmp_path / "blob.bin", pinned_sha256=other)
    message = str(refused.value)
    assert message == (
        f"s3://{BUCKET}/{KEY}: sha256 {sha256(blob)[:12]} is not the pinned {other[:12]}; "
        "refusing to serve a model other than the pinned one"
    )
    assert only_the_file(tmp_path) == []


def test_a_missing_object_is_one_line_naming_it(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError) as missing:
        fetch_object(s3, LOCATION, tmp_path / "blob.bin")
    assert str(missing.value) == f"s3://{BUCKET}/{KEY}: no such object"
    assert only_the_file(tmp_path) == []


@pytest.mark.parametrize("operation", ["HeadObject", "GetObject"])
def test_throttling_is_retried_with_backoff_until_it_succeeds(
    s3: Any, blob: bytes, tmp_path: Path, backoffs: list[float], operation: str
) -> None:
    requests = Requests(s3, throttled=2, operation=operation)
    fetched = fetch_object(s3, LOCATION, tmp_path / "blob.bin", pinned_sha256=sha256(blob))
    assert fetched.sha256 == sha256(blob)
    assert requests.throttled == 0 and len(backoffs) == 2
    # Throttling backs off from one second (a 5xx that is not throttling, from 50 ms).
    assert 0 < max(backoffs) <= 2
    # Our HEAD and s3transfer's, then one GET; and the two refused attempts.
    expected = {"HeadObject": 2, "GetObject": 1}
    expected[operation] += 2
    assert requests.sent == expected


def test_throttling_that_never_stops_is_one_line_once_retries_are_spent(
    s3: Any, blob: bytes, tmp_path: Path, backoffs: list[float]
) -> None:
    requests = Requests(s3, throttled=100, operation="GetObject")
    with pytest.raises(ModelSourceError) as refused:
        fetch_object(s3, LOCATION, tmp_path / "blob.bin", pinned_sha256=sha256(blob))
    assert str(refused.value) == (
        f"s3://{BUCKET}/{KEY}: SlowDown (Please reduce your request rate.) after 4 attempts"
    )
    assert requests.sent["GetObject"] == 4 and len(backoffs) == 3
    assert only_the_file(tmp_path) == []


def test_too_little_space_is_refused_before_any_get(s3: Any, blob: bytes, tmp_path: Path) -> None:
    requests = Requests(s3)
    free = len(blob) + HEADROOM_BYTES - 1
    with pytest.raises(ModelSourceError) as refused:
        fetch_object(s3, LOCATION, tmp_path / "blob.bin", disk=Disk(free_bytes=lambda _: free))
    assert str(refused.value) == (
        f"{tmp_path}: {len(blob) + HEADROOM_BYTES:,} bytes needed for s3://{BUCKET}/{KEY} "
        f"({len(blob):,} and {HEADROOM_BYTES:,} of headroom), {free:,} free; "
        "raise ephemeral_storage_mb"
    )
    assert requests.sent["GetObject"] == 0


class FillsUp(io.FileIO):
    """A file on a disk that is full after `room` bytes."""

    def __init__(self, path: Path, room: int) -> None:
        super().__init__(path, "wb")
        self.room = room

    def write(self, data: Any) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return super().write(data)


def test_a_disk_that_fills_up_mid_download_is_the_same_line_and_leaves_nothing(
    s3: Any, blob: bytes, tmp_path: Path
) -> None:
    disk = Disk(free_bytes=lambda _: 1 << 40, open_for_write=lambda path: FillsUp(path, PART))
    with pytest.raises(ModelSourceError) as refused:
        fetch_object(s3, LOCATION, tmp_path / "blob.bin", disk=disk, config=SMALL_PARTS)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path}: {len(blob) + HEADROOM_BYTES:,} bytes needed for ")
    assert message.endswith("free; raise ephemeral_storage_mb") and "\n" not in message
    assert only_the_file(tmp_path) == []


def test_a_directory_that_cannot_be_written_is_one_line(
    s3: Any, blob: bytes, tmp_path: Path
) -> None:
    def read_only(path: Path) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    with pytest.raises(ModelSourceError) as refused:
        fetch_object(s3, LOCATION, tmp_path / "blob.bin", disk=Disk(open_for_write=read_only))
    assert str(refused.value) == (
        f"s3://{BUCKET}/{KEY}: download to {tmp_path / '.blob.bin.partial'} failed "
        "(Permission denied)"
    )


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("NoSuchKey", "no such object"),
        ("AccessDenied", "access denied (the object is missing or unreadable)"),
        (
            "InternalError",
            "InternalError (We encountered an internal error. Please retry.) after 3",
        ),
    ],
)
def test_what_s3_answered_is_one_line_naming_the_object(code: str, line: str) -> None:
    error = ClientError(
        {
            "Error": {"Code": code, "Message": "We encountered an internal error.\nPlease retry."},
            "ResponseMetadata": {"RetryAttempts": 2},
        },
        "GetObject",
    )
    message = str(s3_failure(LOCATION, error))
    assert message.startswith(f"s3://{BUCKET}/{KEY}: {line}") and "\n" not in message


def test_a_partial_file_left_by_a_stopped_init_is_replaced(
    s3: Any, blob: bytes, tmp_path: Path
) -> None:
    (tmp_path / ".blob.bin.partial").write_bytes(b"half of an earlier download")
    fetch_object(s3, LOCATION, tmp_path / "blob.bin", pinned_sha256=sha256(blob))
    assert only_the_file(tmp_path) == ["blob.bin"]
