"""Copies one published build from S3 onto the model file system, where the efs source reads it.

The files stream into a hidden directory beside the target (the same file system), hashed as
they arrive and verified against the event's sha256 and the card's; the directory is renamed to
the build's name only then, so a function never sees half a build. A build already there is
verified, never overwritten: functions may be reading it.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from torchlambda.model_sources.build import fetch_build, verify_build
from torchlambda.model_sources.copy_event import CopyRequest
from torchlambda.model_sources.disk import LOCAL_DISK, Disk, fsync_directory
from torchlambda.model_sources.errors import ModelSourceError
from torchlambda.model_sources.transfer import TRANSFER_CONFIG

# What a rename onto a directory that is already there (and not empty) raises.
TARGET_EXISTS = frozenset({errno.ENOTEMPTY, errno.EEXIST})


@dataclass(frozen=True)
class ModelStore:
    """Where builds come from (the environment's models/<env>/ prefix) and go (the mount)."""

    bucket: str
    models_prefix: str
    mount: Path


@dataclass(frozen=True)
class CopyResult:
    build_id: str
    path: Path
    size: int  # the weights' bytes
    seconds: float
    sha256: str
    already_present: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "path": str(self.path),
            "bytes": self.size,
            "seconds": round(self.seconds, 3),
            "mb_per_s": round(self.size / 1e6 / max(self.seconds, 1e-6), 1),
            "sha256": self.sha256,
            "already_present": self.already_present,
        }


def _already_present(target: Path, request: CopyRequest, started: float) -> CopyResult:
    try:
        size = verify_build(target, request.sha256)
    except ModelSourceError as problem:
        raise ModelSourceError(
            f"{target} exists but is not build {request.build_id} with sha256 "
            f"{request.sha256[:12]} ({problem}); refusing to overwrite a directory that functions "
            "may be reading: remove it once none serves it, then copy again"
        ) from None
    seconds = time.perf_counter() - started
    return CopyResult(request.build_id, target, size, seconds, request.sha256, True)


def copy_build(
    client: Any,
    store: ModelStore,
    request: CopyRequest,
    *,
    disk: Disk = LOCAL_DISK,
    config: TransferConfig = TRANSFER_CONFIG,
) -> CopyResult:
    started = time.perf_counter()
    if not store.mount.is_dir():
        raise ModelSourceError(f"{store.mount}: the model file system is not mounted")
    target = store.mount / request.build_id
    if target.exists():
        return _already_present(target, request, started)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{request.build_id}.", suffix=".copying", dir=store.mount)
    )
    try:
        staging.chmod(0o755)  # mkdtemp's directory is private; the serving functions read it
        prefix = f"{store.models_prefix}{request.build_id}/"
        fetched = fetch_build(
            client, store.bucket, prefix, staging, request.sha256, disk=disk, config=config
        )
        try:
            staging.rename(target)
        except OSError as error:
            if error.errno not in TARGET_EXISTS:
                raise
            return _already_present(target, request, started)  # a concurrent copy came first
        fsync_directory(store.mount)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already once renamed
    seconds = time.perf_counter() - started
    return CopyResult(request.build_id, target, fetched.size, seconds, request.sha256, False)
