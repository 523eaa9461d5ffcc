"""A job's input: local files uploaded below batch/in/ (once per content), or an S3 location
already there; then the objects the job will score, listed as its validation lists them
(`torchlambda.batch.inputs.list_inputs`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ops.errors import OpsError
from torchlambda.batch.events import ManifestItem
from torchlambda.batch.formats import SUPPORTED_SUFFIXES, is_supported
from torchlambda.batch.inputs import list_inputs
from torchlambda.contract import BATCH_INPUT_PREFIX

HASH_METADATA = "sha256"  # user metadata: the uploaded file's sha256, to skip a second upload
HASH_BLOCK = 1 << 20
NOTED_EXTRA_OBJECTS = 5
SUPPORTED_NAMES = ", ".join(f"*{suffix}" for suffix in SUPPORTED_SUFFIXES)


@dataclass(frozen=True)
class JobInput:
    """What a job scores: `location` is its request's input, a key or a prefix below batch/in/."""

    location: str
    objects: tuple[ManifestItem, ...]


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str


def unsupported(name: object) -> OpsError:
    return OpsError(f"INPUT: {name} is not a batch input; name it {SUPPORTED_NAMES}")


def local_files(path: Path) -> tuple[str, list[LocalFile]]:
    """(the job's location, each file with its key): a file goes to batch/in/<its name>, a
    directory's files to batch/in/<directory name>/<path below it>."""
    if path.is_file():
        if not is_supported(path.name):
            raise unsupported(path)
        key = BATCH_INPUT_PREFIX + path.name
        return key, [LocalFile(path, key)]
    if not path.is_dir():
        raise OpsError(f"INPUT={path}: no such file or directory")
    prefix = f"{BATCH_INPUT_PREFIX}{path.resolve().name}/"
    files = sorted(entry for entry in path.rglob("*") if entry.is_file())
    for entry in files:
        if not is_supported(entry.name):
            raise unsupported(entry)
    if not files:
        raise OpsError(f"INPUT={path}: the directory holds no files to score ({SUPPORTED_NAMES})")
    return prefix, [
        LocalFile(entry, prefix + entry.relative_to(path).as_posix()) for entry in files
    ]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def stored_copy(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """HeadObject's answer, or None when there is no such object."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def upload_files(
    s3: Any, bucket: str, location: str, files: list[LocalFile], say: Callable[[str], None]
) -> None:
    """Upload each file unless the same content is already at its key (size and sha256).

    boto3's managed transfer completes a multipart upload only at its end (and aborts it on a
    failure or Ctrl-C), so an interrupted upload leaves no object behind.
    """
    uploaded = unchanged = 0
    sent_bytes = 0
    for file in files:
        size = file.path.stat().st_size
        digest = sha256_of(file.path)
        stored = stored_copy(s3, bucket, file.key)
        if (
            stored is not None
            and stored.get("ContentLength") == size
            and stored.get("Metadata", {}).get(HASH_METADATA) == digest
        ):
            unchanged += 1
            continue
        s3.upload_file(
            str(file.path), bucket, file.key, ExtraArgs={"Metadata": {HASH_METADATA: digest}}
        )
        uploaded += 1
        sent_bytes += size
    where = f"s3://{bucket}/{location}"
    if uploaded:
        kept = f"; {unchanged} unchanged, not uploaded again" if unchanged else ""
        say(f"uploaded {plural(uploaded, 'file')} ({describe_bytes(sent_bytes)}) to {where}{kept}")
    else:
        say(f"input already in {where} (same content); nothing uploaded")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def describe_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def stage_local(s3: Any, bucket: str, path: Path, say: Callable[[str], None]) -> JobInput:
    """Upload a local file or directory (what is not there yet) and list the job's objects."""
    location, files = local_files(path)
    refuse_unsupported(list_inputs(s3, bucket, location), bucket)  # before uploading anything
    upload_files(s3, bucket, location, files, say)
    job_input = JobInput(location, tuple(list_inputs(s3, bucket, location)))
    refuse_unsupported(job_input.objects, bucket)
    ours = {file.key for file in files}
    extra = [item.key for item in job_input.objects if item.key not in ours]
    if extra:
        shown = ", ".join(extra[:NOTED_EXTRA_OBJECTS])
        hidden = len(extra) - NOTED_EXTRA_OBJECTS
        more = f" and {hidden} more" if hidden > 0 else ""
        say(
            f"note: s3://{bucket}/{location} also holds {plural(len(extra), 'object')} not in "
            f"INPUT={path}, scored too: {shown}{more} (delete them to leave them out)"
        )
    return job_input


def refuse_unsupported(items: Sequence[ManifestItem], bucket: str) -> None:
    """The job's validation refuses an input with any object it cannot read: refuse it first."""
    others = [item.key for item in items if not is_supported(item.key)]
    if others:
        more = f" (and {plural(len(others) - 1, 'other')})" if len(others) > 1 else ""
        raise unsupported(f"s3://{bucket}/{others[0]}{more}")


def s3_location(uri: str, bucket: str) -> str:
    """The key or prefix an s3:// INPUT names; only below batch/in/ of the artifacts bucket."""
    inside = f"s3://{bucket}/{BATCH_INPUT_PREFIX}"
    if not uri.startswith(inside) or uri == inside:
        raise OpsError(
            f"INPUT={uri}: an S3 input must be below {inside} (the environment's artifacts "
            "bucket, where batch jobs read)"
        )
    return uri.removeprefix(f"s3://{bucket}/")


def stage_s3(s3: Any, bucket: str, uri: str) -> JobInput:
    """An S3 input: one object, or the objects below a prefix (with or without its slash), as
    the job's validation lists them."""
    location = s3_location(uri, bucket)
    items = tuple(list_inputs(s3, bucket, location))
    if not items:
        raise OpsError(f"INPUT={uri}: no such object, and no objects below it; nothing to score")
    refuse_unsupported(items, bucket)
    return JobInput(location, items)


def listed(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])
