"""score_stream end to end: gzip, blank and empty inputs, line numbers across chunks, failures
that leave nothing behind (locally and in S3 on moto), and y exactly as the online API answers."""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from lambda_image.local.function import LocalContext
from lambda_image.local.gateway import to_event
from tests.lambda_image.batch.conftest import (
    BUCKET,
    ROOT,
    SHIPPED_MODEL,
    doubled,
    object_keys,
    pending_uploads,
    score_bytes,
    y_text,
)
from torchlambda.batch.formats import format_of
from torchlambda.batch.model import BatchModel
from torchlambda.batch.scoring import Counts, score_stream
from torchlambda.batch.sinks import FileSink, LazySink, S3ObjectSink
from torchlambda.batch.streams import BLOCK_BYTES, CorruptInput
from torchlambda.contract import ENV_METRICS_DISABLED, ENV_MODEL_DIR
from torchlambda.function import Function, load_function

MIB = 1 << 20


# ---- gzip, blank and empty inputs -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("book.csv", b"1,2\n3,abc\n5,6\n"),
        ("table.csv", b"id,x\na,1\nb,x\n"),
        ("rows.jsonl", b'{"x": 1}\n{"x": true}\n{"x": 2.5, "k": "v"}\n'),
    ],
)
def test_gzip_in_gzip_out(tmp_path: Path, name: str, data: bytes) -> None:
    plain = score_bytes(data, name, tmp_path)
    # Two members, as `cat a.gz b.gz` writes them.
    half = data.index(b"\n") + 1
    compressed = score_bytes(
        gzip.compress(data[:half]) + gzip.compress(data[half:]), name + ".gz", tmp_path
    )
    assert compressed.output is not None
    assert compressed.output[:2] == b"\x1f\x8b"
    assert gzip.decompress(compressed.output) == plain.output
    assert compressed.counts == plain.counts
    assert compressed.errors == plain.errors  # the errors object is plain JSON Lines
    assert plain.counts.rows_rejected == 1


@pytest.mark.parametrize("name", ["x.csv", "x.jsonl"])
@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n  \n\r\n", b"\t\n"])
def test_empty_and_all_blank_inputs(tmp_path: Path, name: str, data: bytes) -> None:
    scored = score_bytes(data, name, tmp_path)
    assert scored.counts == Counts(0, 0, 0)
    assert scored.output == b""
    assert scored.errors is None
    zipped = score_bytes(gzip.compress(data), name + ".gz", tmp_path)
    assert zipped.output is not None
    assert gzip.decompress(zipped.output) == b""


def test_blank_lines_are_skipped_and_not_counted(tmp_path: Path) -> None:
    scored = score_bytes(b"\n\n1\n\n  \n2\r\n\r\n3\n\n", "x.csv", tmp_path)
    assert scored.output == b"2.0,1\n4.0,2\n6.0,3\n"
    assert scored.counts == Counts(3, 3, 0)
    rows = score_bytes(b'\n{"x": 1}\n\n{"x": 2}\n \n', "x.jsonl", tmp_path)
    assert rows.counts == Counts(2, 2, 0)


def test_a_header_alone_is_written_alone(tmp_path: Path) -> None:
    scored = score_bytes(b"id,x\n", "header.csv", tmp_path)
    assert scored.output == b"id,x,y\n"
    assert scored.counts == Counts(0, 0, 0)


def test_line_numbers_hold_across_chunks(tmp_path: Path) -> None:
    rows = [b"%d.25" % i for i in range(200_000)]  # about 1.5 MB: several blocks
    bad = {2: b"abc", 32_769: b"nan", 100_000: b"1e309", 150_001: b"", 200_000: b"1,2"}
    for line, row in bad.items():
        rows[line - 1] = row
    data = b"\r\n".join(rows)  # CRLF, the last line without one
    assert len(data) > 4 * BLOCK_BYTES
    for name, payload in (("many.csv", data), ("many.csv.gz", gzip.compress(data))):
        scored = score_bytes(payload, name, tmp_path)
        assert scored.errors is not None
        assert [e["line"] for e in scored.errors] == [2, 32_769, 100_000, 200_000]
        assert scored.counts == Counts(199_999, 199_995, 4)
        output = scored.output or b""
        if name.endswith(".gz"):
            output = gzip.decompress(output)
        lines = output.splitlines()
        assert len(lines) == 199_995
        assert lines[0] == b"0.5,0.25"
        assert lines[-1] == b"399996.5,199998.25"


# ---- failures leave nothing behind ---------------------------------------------------------


def test_corrupt_gzip_writes_nothing(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b"%d\n" % i for i in range(100_000)))
    with pytest.raises(CorruptInput):
        score_bytes(data[: len(data) // 2], "cut.csv.gz", tmp_path)
    with pytest.raises(CorruptInput):
        score_bytes(b"1\n2\n" * 100, "plain.csv.gz", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_model_writes_nothing(tmp_path: Path) -> None:
    calls: list[int] = []

    def predict(xs: list[float]) -> list[float]:
        calls.append(len(xs))
        if len(calls) == 3:
            raise RuntimeError("the model broke")
        return xs

    data = b"".join(b"%d,1\n%d,bad\n" % (i, i) for i in range(100_000))
    with pytest.raises(RuntimeError, match="the model broke"):
        score_bytes(data, "book.csv", tmp_path, predict=predict)
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []  # neither the output nor the errors file


class Recording:
    """A sink that records what happens to it; `fail_commit` makes its commit raise."""

    def __init__(self, fail_commit: bool = False) -> None:
        self.data = bytearray()
        self.events: list[str] = []
        self.fail_commit = fail_commit

    def write(self, data: bytes) -> None:
        self.data += data

    def commit(self) -> None:
        self.events.append("commit")
        if self.fail_commit:
            raise ConnectionError("lost at commit")

    def abort(self) -> None:
        self.events.append("abort")


def test_a_failed_output_commit_aborts_the_output() -> None:
    output, errors = Recording(fail_commit=True), Recording()
    with pytest.raises(ConnectionError):
        score_stream(
            io.BytesIO(b"1\n2\n"),
            format_of("x.csv"),
            predict=doubled,
            max_abs_x=1e6,
            output=output,
            errors=errors,
        )
    assert output.events == ["commit", "abort"]


def test_a_failed_errors_commit_aborts_both() -> None:
    output, errors = Recording(), Recording(fail_commit=True)
    with pytest.raises(ConnectionError):
        score_stream(
            io.BytesIO(b"1\nbad\n"),
            format_of("x.csv"),
            predict=doubled,
            max_abs_x=1e6,
            output=output,
            errors=errors,
        )
    assert output.events == ["abort"]
    assert errors.events == ["commit", "abort"]


class Interrupted:
    """A source that yields `good` bytes of book CSV (a third of the rows bad), then fails.

    Long labels make big outputs and errors objects of few rows."""

    def __init__(self, good: int) -> None:
        rows = b"7" * 100 + b",1.5\n" + b"7" * 100 + b",-2\n" + b"8" * 200 + b",bad\n"
        self.block = b"0,0.5\n" + rows * (BLOCK_BYTES // len(rows) - 1)
        self.left = good

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise ConnectionResetError("the connection dropped mid-object")
        self.left -= len(self.block)
        return self.block


def s3_sinks(s3: Any, output_key: str, errors_key: str) -> tuple[S3ObjectSink, LazySink]:
    output = S3ObjectSink(s3, BUCKET, output_key, content_type="text/csv", part_bytes=5 * MIB)
    errors = LazySink(
        lambda: S3ObjectSink(
            s3, BUCKET, errors_key, content_type="application/jsonl", part_bytes=5 * MIB
        )
    )
    return output, errors


def count_calls(s3: Any) -> dict[str, int]:
    calls: dict[str, int] = {}

    def record(model: Any, **kwargs: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    s3.meta.events.register("before-call.s3", record)
    return calls


def test_an_interrupted_stream_leaves_nothing_in_s3(s3: Any) -> None:
    calls = count_calls(s3)
    output, errors = s3_sinks(s3, "batch/out/j/predictions/a.csv", "batch/out/j/errors/a.csv")
    with pytest.raises(ConnectionResetError):
        score_stream(
            Interrupted(good=12 * MIB),
            format_of("a.csv"),
            predict=doubled,
            max_abs_x=1e6,
            output=output,
            errors=errors,
        )
    # Both objects had parts uploaded before the source failed; both uploads were aborted.
    assert calls["CreateMultipartUpload"] == 2
    assert calls["UploadPart"] >= 2
    assert calls["AbortMultipartUpload"] == 2
    assert "CompleteMultipartUpload" not in calls
    assert "PutObject" not in calls
    assert object_keys(s3) == []
    assert pending_uploads(s3) == []


class FailingCompletion:
    """The S3 client, except that completing a multipart upload fails."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)

    def complete_multipart_upload(self, **kwargs: Any) -> Any:
        raise ConnectionResetError("lost while completing")


def test_a_failed_completion_leaves_no_pending_upload(s3: Any) -> None:
    output = S3ObjectSink(
        FailingCompletion(s3), BUCKET, "out.csv", content_type="text/csv", part_bytes=5 * MIB
    )
    data = b"".join(b"%d\n" % i for i in range(1_000_000))  # about 14 MB out
    with pytest.raises(ConnectionResetError):
        score_stream(
            io.BytesIO(data),
            format_of("x.csv"),
            predict=doubled,
            max_abs_x=1e6,
            output=output,
            errors=LazySink(Recording),
        )
    assert object_keys(s3) == []
    assert pending_uploads(s3) == []


# ---- y exactly as the online API answers --------------------------------------------------


@pytest.fixture(scope="session")
def online() -> Function:
    """The online function over the same model directory."""
    return load_function(
        {**os.environ, ENV_MODEL_DIR: str(SHIPPED_MODEL), ENV_METRICS_DISABLED: "1"}
    )


def http_event(method: str, target: str, body: bytes = b"") -> dict[str, Any]:
    """A payload 2.0 event, as API Gateway sends it for this request."""
    headers = [("content-type", "application/json")] if body else []
    return to_event(method, target, headers, body, "127.0.0.1")


def api_post(online: Function, xs: list[float]) -> list[bytes]:
    """The y text of each x in one POST /predict {"x": [...]}."""
    event = http_event("POST", "/predict", orjson.dumps({"x": xs}))
    response = online(event, LocalContext())
    assert response["statusCode"] == 200, response
    return [y_text(y) for y in orjson.loads(response["body"])["y"]]


def api_get(online: Function, x: str) -> bytes:
    response = online(http_event("GET", f"/predict?x={x}"), LocalContext())
    assert response["statusCode"] == 200, response
    return y_text(orjson.loads(response["body"])["y"])


def sample_xs(count: int, seed: int) -> list[str]:
    generator = random.Random(seed)
    return [f"{generator.uniform(-50, 50):.4f}" for _ in range(count)]


def encode(layout: str, xs: list[str]) -> bytes:
    """`xs` in an input layout, with a bad row after every hundredth."""
    rows: list[bytes] = []
    if layout == "table.csv":
        rows.append(b"id,x,y")
    for index, x in enumerate(xs):
        row = {
            "book_y_x.csv": f"{index},{x}",
            "book_x.csv": x,
            "table.csv": f'"id {index}",{x},{index}',
            "rows.jsonl": f'{{"id": {index}, "x": {x}, "y": {index}}}',
        }[layout]
        rows.append(row.encode())
        if index % 100 == 99:
            rows.append(b'{"x": "bad"}' if layout == "rows.jsonl" else b"bad,bad,bad")
    return b"\n".join(rows) + b"\n"


def y_texts(layout: str, output: bytes) -> list[bytes]:
    rows = output.splitlines()
    if layout == "table.csv":
        return [row.rsplit(b",", 1)[1] for row in rows[1:]]
    if layout == "rows.jsonl":
        return [row.rsplit(b',"y":', 1)[1].removesuffix(b"}") for row in rows]
    return [row.split(b",")[0] for row in rows]


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("layout", ["book_y_x.csv", "book_x.csv", "table.csv", "rows.jsonl"])
def test_the_real_model_answers_as_the_online_api(
    tmp_path: Path, batch_model: BatchModel, online: Function, layout: str, gzipped: bool
) -> None:
    xs = sample_xs(1000, seed=len(layout))  # one chunk: scored in one forward pass, as one POST
    data = encode(layout, xs)
    name = layout + (".gz" if gzipped else "")
    scored = score_bytes(
        gzip.compress(data) if gzipped else data,
        name,
        tmp_path,
        predict=batch_model.predict,
        max_abs_x=batch_model.max_abs_x,
    )
    assert scored.counts == Counts(1010, 1000, 10)
    assert scored.errors is not None
    assert [e["line"] for e in scored.errors] == [
        101 * n + (1 if layout == "table.csv" else 0) for n in range(1, 11)
    ]
    output = gzip.decompress(scored.output or b"") if gzipped else scored.output or b""
    # Each y, to the last digit, as POST /predict {"x": [the same xs]} writes it.
    assert y_texts(layout, output) == api_post(online, [float(x) for x in xs])


def test_one_row_answers_as_get_predict(
    tmp_path: Path, batch_model: BatchModel, online: Function
) -> None:
    for x in sample_xs(5, seed=7):
        scored = score_bytes(x.encode() + b"\n", "one.csv", tmp_path, predict=batch_model.predict)
        assert scored.output == api_get(online, x) + b"," + x.encode() + b"\n"


def test_every_row_is_within_float32_rounding_of_get_predict(
    tmp_path: Path, batch_model: BatchModel, online: Function
) -> None:
    # The forward pass of a batch may round differently from that of one x (another BLAS
    # kernel): the last bit or two of a float32 y, never more.
    xs = sample_xs(64, seed=3)
    scored = score_bytes("\n".join(xs).encode(), "x.csv", tmp_path, predict=batch_model.predict)
    batch_ys = [float(y) for y in y_texts("book_x.csv", scored.output or b"")]
    for x, y in zip(xs, batch_ys, strict=True):
        single = float(api_get(online, x))
        assert math.isclose(y, single, rel_tol=1e-6, abs_tol=1e-5), (x, y, single)


def stream(blocks: Iterator[bytes]) -> Any:
    class Source:
        def read(self, size: int = -1) -> bytes:
            return next(blocks, b"")

    return Source()


def test_a_header_after_a_chunk_of_blank_lines(tmp_path: Path) -> None:
    blank = b"\n" * BLOCK_BYTES  # a whole first block of blank lines
    output, errors = tmp_path / "out.csv", tmp_path / "errors.jsonl"
    counts = score_stream(
        stream(iter([blank, b"id,x\n", b"a,1\nb,no\n"])),
        format_of("late.csv"),
        predict=doubled,
        max_abs_x=1e6,
        output=FileSink(output),
        errors=LazySink(lambda: FileSink(errors)),
    )
    assert counts == Counts(2, 1, 1)
    assert output.read_bytes() == b"id,x,y\na,1,2.0\n"
    assert orjson.loads(errors.read_bytes())["line"] == BLOCK_BYTES + 3


# ---- memory -------------------------------------------------------------------------------


# Linux keeps ru_maxrss across execve: a process started straight from this one (hundreds of MB
# by now) would report this one's peak. Started by a small Python process, it reports its own.
VIA_A_SMALL_PROCESS = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


@pytest.mark.slow  # 1 GiB through the real model, in a subprocess: about 30 s on two cores
def test_a_gigabyte_streams_in_bounded_memory() -> None:
    child = [sys.executable, "-m", "tests.lambda_image.batch.gigabyte", str(1 << 30)]
    done = subprocess.run(
        [sys.executable, "-c", VIA_A_SMALL_PROCESS, *child],
        cwd=ROOT,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["bytes_in"] >= 1 << 30
    assert result["rows_read"] == result["rows_predicted"] == result["rows_expected"]
    assert result["rows_out"] == result["rows_read"]
    assert result["committed"]
    assert result["errors_bytes"] == 0
    # Peak RSS, torch and the model included: the stream adds a few tens of MB at most.
    assert result["max_rss_bytes"] < 400_000_000, result
    assert result["max_rss_bytes"] - result["max_rss_before_bytes"] < 100_000_000, result
