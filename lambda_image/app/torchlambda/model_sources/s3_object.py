"""One S3 object into a local file: streamed through boto3's managed transfer, hashed while it is
written, durable and verified before it takes its name."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

# s3transfer ships no type information (boto3 and botocore are configured as untyped in mypy).
from s3transfer.exceptions import (
    RetriesExceededError,
    S3DownloadFailedError,
)

from torchlambda.model_sources.disk import LOCAL_DISK, Disk, fsync_directory, is_out_of_space
from torchlambda.model_sources.errors import ModelSourceError, one_line
from torchlambda.model_sources.hashing_writer import HashingWriter
from torchlambda.model_sources.transfer import TRANSFER_CONFIG

MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
DENIED = frozenset({"403", "AccessDenied"})
# What the managed transfer raises once its own retries of a broken stream are spent, or when the
# object changed between its parts (If-Match on the first part's ETag).
TRANSFER_FAILURES = (RetriesExceededError, S3DownloadFailedError)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    sha256: str
    seconds: float


def s3_failure(location: S3Location, error: Exception) -> ModelSourceError:
    """One line naming the object and what S3 (or the way to it) answered, retries spent."""
    if not isinstance(error, ClientError):
        return ModelSourceError(f"{location}: {one_line(error)}; retries exhausted")
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in MISSING:
        return ModelSourceError(f"{location}: no such object")
    if code in DENIED:
        # The functions may read only the pinned build's objects: S3 answers 403 for a missing
        # key to a reader without s3:ListBucket.
        return ModelSourceError(f"{location}: access denied (the object is missing or unreadable)")
    attempts = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
    message = one_line(error.response.get("Error", {}).get("Message", ""))
    return ModelSourceError(f"{location}: {code} ({message}) after {attempts} attempts")


def object_size(client: Any, location: S3Location) -> int:
    try:
        head = client.head_object(Bucket=location.bucket, Key=location.key)
    except (ClientError, BotoCoreError) as error:
        raise s3_failure(location, error) from None
    return int(head["ContentLength"])


def _download(
    client: Any, location: S3Location, partial: Path, disk: Disk, config: TransferConfig
) -> HashingWriter:
    with disk.open_for_write(partial) as sink:
        writer = HashingWriter(sink)
        try:
            client.download_fileobj(location.bucket, location.key, writer, Config=config)
        except (ClientError, BotoCoreError, *TRANSFER_FAILURES) as error:
            raise s3_failure(location, error) from None
        sink.flush()
        os.fsync(sink.fileno())
    return writer


def fetch_object(
    client: Any,
    location: S3Location,
    destination: Path,
    *,
    pinned_sha256: str | None = None,
    disk: Disk = LOCAL_DISK,
    config: TransferConfig = TRANSFER_CONFIG,
) -> Fetched:
    """Download `location` to `destination` (whose directory exists), through a temporary name in
    the same directory: `destination` appears only complete, on disk, and with `pinned_sha256`."""
    started = time.perf_counter()
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)  # left by an init that was stopped mid-download
    size = object_size(client, location)
    disk.require_space(destination.parent, size, str(location))
    try:
        written = _download(client, location, partial, disk, config)
    except OSError as error:
        partial.unlink(missing_ok=True)
        if is_out_of_space(error):
            raise disk.out_of_space(destination.parent, size, str(location)) from None
        raise ModelSourceError(
            f"{location}: download to {partial} failed ({error.strerror or error})"
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if pinned_sha256 is not None and written.sha256 != pinned_sha256:
        partial.unlink()
        raise ModelSourceError(
            f"{location}: sha256 {written.sha256[:12]} is not the pinned {pinned_sha256[:12]}; "
            "refusing to serve a model other than the pinned one"
        )
    os.replace(partial, destination)
    fsync_directory(destination.parent)
    return Fetched(destination, written.size, written.sha256, time.perf_counter() - started)
