"""Where scored bytes go: nothing appears under the final name until ``commit``.

An S3 object is written with one PutObject when it fits in a part, else as a multipart upload
completed only by ``commit``; ``abort`` (or any failure) aborts the upload, and the bucket's
lifecycle rule removes the parts of a worker killed before it could. A local file is written
beside its final path and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from isal import isal_zlib

PART_BYTES = 8 << 20  # S3 parts must be at least 5 MiB (all but the last); 8 MiB is the CLI's
# ISA-L's default level: on scored CSV, 3x zlib -1's speed with a smaller output (docs/batch.md).
GZIP_LEVEL = 2
GZIP_WRAPPER = 16 + isal_zlib.MAX_WBITS


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class S3ObjectSink:
    """One S3 object, written in parts of PART_BYTES and completed by `commit`."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        content_type: str,
        content_encoding: str | None = None,
        part_bytes: int = PART_BYTES,
    ) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.headers: dict[str, str] = {"ContentType": content_type}
        if content_encoding:
            self.headers["ContentEncoding"] = content_encoding
        self.part_bytes = part_bytes
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= self.part_bytes:
            self._upload_part(bytes(self.buffer[: self.part_bytes]))
            del self.buffer[: self.part_bytes]

    def _upload_part(self, body: bytes) -> None:
        if self.upload_id is None:
            started = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, **self.headers
            )
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        answer = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        if self.upload_id is None:
            self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer), **self.headers
            )
            return
        if self.buffer:
            self._upload_part(bytes(self.buffer))
            self.buffer.clear()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        self.buffer.clear()
        if self.upload_id is not None:
            self.s3.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
            self.upload_id = None


class FileSink:
    """A local file, written to a temporary name beside it and renamed by `commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        self.temporary = Path(temporary)
        os.fchmod(handle, 0o666 & ~_umask())  # mkstemp's 0600 is for the temporary name only
        self.stream = os.fdopen(handle, "wb")

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def commit(self) -> None:
        self.stream.close()
        os.replace(self.temporary, self.path)

    def abort(self) -> None:
        self.stream.close()
        self.temporary.unlink(missing_ok=True)


def _umask() -> int:
    umask = os.umask(0)  # the only way to read it is to set it
    os.umask(umask)
    return umask


class GzipSink:
    """Compresses into another sink, as one gzip member."""

    def __init__(self, inner: Sink, level: int = GZIP_LEVEL) -> None:
        self.inner = inner
        self.compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, GZIP_WRAPPER)

    def write(self, data: bytes) -> None:
        compressed = self.compressor.compress(data)
        if compressed:
            self.inner.write(compressed)

    def commit(self) -> None:
        self.inner.write(self.compressor.flush())
        self.inner.commit()

    def abort(self) -> None:
        self.inner.abort()


class LazySink:
    """A sink opened on the first write: an object that would be empty is never created."""

    def __init__(self, open_sink: Callable[[], Sink]) -> None:
        self.open_sink = open_sink
        self.sink: Sink | None = None

    @property
    def opened(self) -> bool:
        return self.sink is not None

    def write(self, data: bytes) -> None:
        if self.sink is None:
            self.sink = self.open_sink()
        self.sink.write(data)

    def commit(self) -> None:
        if self.sink is not None:
            self.sink.commit()

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()
