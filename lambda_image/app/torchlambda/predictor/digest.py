"""sha256 of model files, read in blocks: without torch, so the model copy function uses it too."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BLOCK_BYTES = 1 << 20
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Digest:
    sha256: str
    size: int  # the bytes hashed


def is_sha256(text: str) -> bool:
    """A sha256 as cards and pins write it: 64 lowercase hex digits."""
    return SHA256_HEX.fullmatch(text) is not None


def sha256_stream(stream: BinaryIO) -> Digest:
    """Hash `stream` from where it stands to its end, one block in memory at a time."""
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: stream.read(BLOCK_BYTES), b""):
        digest.update(block)
        size += len(block)
    return Digest(digest.hexdigest(), size)


def sha256_file(path: Path) -> str:
    with path.open("rb") as stream:
        return sha256_stream(stream).sha256
