"""A write-only file for boto3's managed download that hashes what it writes."""

from __future__ import annotations

import hashlib
from typing import BinaryIO


class HashingWriter:
    """Writes to `sink` and hashes the same bytes.

    Not seekable on purpose: s3transfer then still fetches the parts with parallel ranged GETs,
    but hands them over in order (its DeferQueue releases only the next contiguous offset, and one
    IO thread writes), so the running hash is the object's sha256. Were the order ever wrong, the
    hash would not match the pin and the file would be refused, never served.
    """

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._digest = hashlib.sha256()
        self.size = 0

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes) -> int:
        self._sink.write(data)
        self._digest.update(data)
        self.size += len(data)
        return len(data)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()
