"""Run alone (``python -m tests.lambda_image.batch.gigabyte BYTES``), so that its peak RSS is its
own: streams BYTES of generated book CSV through score_stream and the shipped model, into a sink
that only counts, and prints what it did as one JSON line.

The rows are ``y,x`` with 64-character numbers (the longest x the API takes): about 128 bytes a
row, so 1 GiB is 8.4 million rows, about half a minute of the model's forward passes.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from collections.abc import Iterator

from aws_lambda_powertools import Logger

from tests.lambda_image.batch.conftest import SHIPPED_MODEL
from torchlambda.batch.formats import format_of
from torchlambda.batch.model import load_batch_model
from torchlambda.batch.scoring import score_stream
from torchlambda.batch.streams import BLOCK_BYTES
from torchlambda.settings import Settings


def book_block(seed: int = 0) -> tuple[bytes, int]:
    """Whole `y,x` lines, just under a block; and how many."""
    generator = random.Random(seed)

    def number() -> str:
        return f"{generator.uniform(-50, 50):.60f}"[:64]

    rows: list[bytes] = []
    size = 0
    while size < BLOCK_BYTES - 200:
        row = f"{number()},{number()}\n".encode()
        rows.append(row)
        size += len(row)
    return b"".join(rows), len(rows)


class Generated:
    """A Readable over a generator of blocks: it holds the block in hand, nothing more."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.blocks = blocks
        self.rest = b""
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        if not self.rest:
            self.rest = next(self.blocks, b"")
        out, self.rest = (self.rest, b"") if size < 0 else (self.rest[:size], self.rest[size:])
        self.bytes += len(out)
        return out


class Counting:
    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.committed = False

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        self.lines += data.count(b"\n")

    def commit(self) -> None:
        self.committed = True

    def abort(self) -> None:
        pass


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main(total: int) -> None:
    model = load_batch_model(
        Settings(model_dir=SHIPPED_MODEL), Logger(service="gigabyte", level="WARNING")
    )
    block, rows_per_block = book_block()
    blocks = -(-total // len(block))

    def generate() -> Iterator[bytes]:
        for _ in range(blocks):
            yield block

    source, output, errors = Generated(generate()), Counting(), Counting()
    before = max_rss_bytes()
    started = time.perf_counter()
    counts = score_stream(
        source,
        format_of("gigabyte.csv"),
        predict=model.predict,
        max_abs_x=model.max_abs_x,
        output=output,
        errors=errors,
    )
    print(
        json.dumps(
            {
                "bytes_in": source.bytes,
                "rows_expected": blocks * rows_per_block,
                "rows_read": counts.rows_read,
                "rows_predicted": counts.rows_predicted,
                "rows_out": output.lines,
                "bytes_out": output.bytes,
                "committed": output.committed,
                "errors_bytes": errors.bytes,
                "seconds": round(time.perf_counter() - started, 1),
                "max_rss_before_bytes": before,
                "max_rss_bytes": max_rss_bytes(),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
