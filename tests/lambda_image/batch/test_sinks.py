"""Sinks: nothing under the final name before commit, nothing left after abort (files and S3)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.lambda_image.batch.conftest import BUCKET, object_keys, pending_uploads
from torchlambda.batch.sinks import PART_BYTES, FileSink, GzipSink, LazySink, S3ObjectSink

MIB = 1 << 20


class Recording:
    def __init__(self) -> None:
        self.data = bytearray()
        self.events: list[str] = []

    def write(self, data: bytes) -> None:
        self.data += data

    def commit(self) -> None:
        self.events.append("commit")

    def abort(self) -> None:
        self.events.append("abort")


def test_file_sink_renames_on_commit(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "out.csv"
    sink = FileSink(path)
    sink.write(b"1,2\n")
    sink.write(b"3,4\n")
    assert not path.exists()  # only a temporary name beside it, until commit
    assert [p.name.startswith(".out.csv.") for p in path.parent.iterdir()] == [True]
    sink.commit()
    assert path.read_bytes() == b"1,2\n3,4\n"
    assert list(path.parent.iterdir()) == [path]


def test_file_sink_leaves_nothing_on_abort(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out.csv")
    sink.write(b"partial")
    sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_file_sink_replaces_an_old_output_only_on_commit(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"old\n")
    sink = FileSink(path)
    sink.write(b"new\n")
    assert path.read_bytes() == b"old\n"
    sink.abort()
    assert path.read_bytes() == b"old\n"
    again = FileSink(path)
    again.write(b"new\n")
    again.commit()
    assert path.read_bytes() == b"new\n"


def test_gzip_sink_writes_one_member() -> None:
    inner = Recording()
    sink = GzipSink(inner)
    data = b"".join(b"%d,%d\n" % (i, i) for i in range(100_000))
    for start in range(0, len(data), 10_000):
        sink.write(data[start : start + 10_000])
    sink.commit()
    assert inner.events == ["commit"]
    assert gzip.decompress(bytes(inner.data)) == data
    assert len(inner.data) < len(data) // 3


def test_gzip_sink_abort_aborts_the_inner_sink() -> None:
    inner = Recording()
    sink = GzipSink(inner)
    sink.write(b"1\n")
    sink.abort()
    assert inner.events == ["abort"]


def test_lazy_sink_opens_on_the_first_write() -> None:
    opened: list[Recording] = []

    def open_sink() -> Recording:
        opened.append(Recording())
        return opened[-1]

    untouched = LazySink(open_sink)
    untouched.commit()
    untouched.abort()
    assert not untouched.opened
    assert opened == []
    sink = LazySink(open_sink)
    sink.write(b"a")
    sink.write(b"b")
    sink.commit()
    assert sink.opened
    assert len(opened) == 1
    assert (bytes(opened[0].data), opened[0].events) == (b"ab", ["commit"])


# ---- S3 on moto ---------------------------------------------------------------------------


def calls_of(s3: Any) -> list[str]:
    calls: list[str] = []
    s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def exists(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as error:
        assert error.response["Error"]["Code"] in ("404", "NoSuchKey")
        return False
    return True


def test_a_small_object_is_one_put(s3: Any) -> None:
    calls = calls_of(s3)
    sink = S3ObjectSink(
        s3, BUCKET, "small.csv.gz", content_type="text/csv", content_encoding="gzip"
    )
    sink.write(b"a" * 1000)
    sink.write(b"b")
    assert calls == []  # nothing is sent before commit
    sink.commit()
    assert calls == ["PutObject"]
    head = s3.head_object(Bucket=BUCKET, Key="small.csv.gz")
    assert head["ContentType"] == "text/csv"
    assert head["ContentEncoding"] == "gzip"
    body = s3.get_object(Bucket=BUCKET, Key="small.csv.gz")["Body"].read()
    assert body == b"a" * 1000 + b"b"


def test_an_empty_object_is_still_written(s3: Any) -> None:
    sink = S3ObjectSink(s3, BUCKET, "empty.csv", content_type="text/csv")
    sink.commit()
    assert s3.get_object(Bucket=BUCKET, Key="empty.csv")["Body"].read() == b""


def test_a_large_object_is_multipart_and_appears_only_at_commit(s3: Any) -> None:
    calls = calls_of(s3)
    data = os.urandom(12 * MIB + 123)
    sink = S3ObjectSink(s3, BUCKET, "large.csv", content_type="text/csv", part_bytes=5 * MIB)
    for start in range(0, len(data), MIB // 3):
        sink.write(data[start : start + MIB // 3])
    assert calls == ["CreateMultipartUpload", "UploadPart", "UploadPart"]
    assert not exists(s3, "large.csv")
    assert [upload["Key"] for upload in pending_uploads(s3)] == ["large.csv"]
    before_commit = len(calls)
    sink.commit()
    assert calls[before_commit:] == ["UploadPart", "CompleteMultipartUpload"]
    assert s3.get_object(Bucket=BUCKET, Key="large.csv")["Body"].read() == data
    assert s3.head_object(Bucket=BUCKET, Key="large.csv")["ContentType"] == "text/csv"
    assert pending_uploads(s3) == []


def test_a_whole_number_of_parts(s3: Any) -> None:
    calls = calls_of(s3)
    data = os.urandom(10 * MIB)
    sink = S3ObjectSink(s3, BUCKET, "even.csv", content_type="text/csv", part_bytes=5 * MIB)
    sink.write(data)
    sink.commit()
    assert calls.count("UploadPart") == 2
    assert s3.get_object(Bucket=BUCKET, Key="even.csv")["Body"].read() == data


def test_abort_leaves_no_object_and_no_upload(s3: Any) -> None:
    calls = calls_of(s3)
    sink = S3ObjectSink(s3, BUCKET, "aborted.csv", content_type="text/csv", part_bytes=5 * MIB)
    sink.write(os.urandom(6 * MIB))
    assert len(pending_uploads(s3)) == 1
    sink.abort()
    assert calls[-1] == "AbortMultipartUpload"
    assert object_keys(s3) == []
    assert pending_uploads(s3) == []
    small = S3ObjectSink(s3, BUCKET, "small.csv", content_type="text/csv")
    small.write(b"1\n")
    small.abort()
    assert object_keys(s3) == []
    assert "PutObject" not in calls


def test_the_default_part_size_is_within_s3_limits() -> None:
    assert 5 * MIB <= PART_BYTES <= 5 * 1024 * MIB


@pytest.mark.parametrize("part_bytes", [5 * MIB])
def test_parts_are_numbered_from_one(s3: Any, part_bytes: int) -> None:
    sink = S3ObjectSink(s3, BUCKET, "numbered.csv", content_type="text/csv", part_bytes=part_bytes)
    sink.write(os.urandom(part_bytes * 2 + 1))
    assert [part["PartNumber"] for part in sink.parts] == [1, 2]
    sink.commit()
    assert [part["PartNumber"] for part in sink.parts] == [1, 2, 3]
