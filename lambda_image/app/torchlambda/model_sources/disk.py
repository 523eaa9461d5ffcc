"""The local file system a download lands on: its free space, its files, and durability."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from torchlambda.model_sources.errors import ModelSourceError

# Left free beside the object: the card, and what Python and torch write to /tmp at run time.
# The CDK sizes ephemeral storage with more than this (infra's TMP_HEADROOM_MB), so a function
# sized by it passes this check.
HEADROOM_BYTES = 16 << 20
OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def _free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def _open_for_write(path: Path) -> BinaryIO:
    return path.open("wb")


@dataclass(frozen=True)
class Disk:
    """How downloads see the file system; tests stand in a full one."""

    free_bytes: Callable[[Path], int] = _free_bytes
    open_for_write: Callable[[Path], BinaryIO] = _open_for_write

    def require_space(self, directory: Path, size: int, what: str) -> None:
        """Refuse to download `size` bytes of `what` into a directory that cannot hold them."""
        free = self.free_bytes(directory)
        if free < size + HEADROOM_BYTES:
            raise self.out_of_space(directory, size, what)

    def out_of_space(self, directory: Path, size: int, what: str) -> ModelSourceError:
        needed = size + HEADROOM_BYTES
        return ModelSourceError(
            f"{directory}: {needed:,} bytes needed for {what} ({size:,} and {HEADROOM_BYTES:,} of "
            f"headroom), {self.free_bytes(directory):,} free; raise ephemeral_storage_mb"
        )


LOCAL_DISK = Disk()


def is_out_of_space(error: OSError) -> bool:
    return error.errno in OUT_OF_SPACE


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (a crash after it keeps the new name)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
