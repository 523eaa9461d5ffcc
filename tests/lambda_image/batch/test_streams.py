"""Bytes to lines in bounded memory: gzip members, corrupt gzip, CRLF, over-long lines."""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
from collections.abc import Iterator

import pytest

from torchlambda.batch.streams import (
    BLOCK_BYTES,
    MAX_INFLATED,
    MAX_LINE_BYTES,
    CorruptInput,
    LineBlock,
    blocks,
    inflated,
    line_chunks,
)


def lines_of(pieces: list[bytes]) -> list[bytes]:
    return [line for chunk in line_chunks(pieces) for line in chunk.lines]


def inflate_all(data: bytes, size: int = BLOCK_BYTES) -> bytes:
    return b"".join(inflated(blocks(io.BytesIO(data), size)))


def test_blocks_reads_the_source_in_blocks() -> None:
    data = os.urandom(3 * 1000 + 7)
    assert [len(block) for block in blocks(io.BytesIO(data), 1000)] == [1000, 1000, 1000, 7]
    assert list(blocks(io.BytesIO(b""))) == []


def test_multi_member_gzip_is_read_to_the_end() -> None:
    first, second = b"".join(b"%d\n" % i for i in range(5000)), b"last,1\n"
    data = gzip.compress(first) + gzip.compress(second) + gzip.compress(b"")
    for size in (1, 13, 4096, BLOCK_BYTES):
        assert inflate_all(data, size) == first + second


def test_inflating_a_bomb_yields_bounded_pieces() -> None:
    content = b"\0" * (20 << 20)  # 20 MiB of zeros: about 20 KB compressed
    pieces = list(inflated([gzip.compress(content)]))
    assert max(map(len, pieces)) <= MAX_INFLATED
    assert sum(map(len, pieces)) == len(content)


def test_an_empty_gzip_input_is_no_lines() -> None:
    assert inflate_all(b"") == b""
    assert inflate_all(gzip.compress(b"")) == b""


@pytest.mark.parametrize("cut", [1, 9, 30, -8, -1])
def test_truncated_gzip_is_corrupt(cut: int) -> None:
    data = gzip.compress(os.urandom(2000) + b"\n" * 2000)
    with pytest.raises(CorruptInput, match="ends early"):
        inflate_all(data[:cut])


def test_a_truncated_second_member_is_corrupt() -> None:
    second = gzip.compress(b"2\n")
    with pytest.raises(CorruptInput, match="ends early"):
        inflate_all(gzip.compress(b"1\n") + second[:-3])


def test_not_gzip_at_all_is_corrupt() -> None:
    with pytest.raises(CorruptInput, match="not a valid gzip stream"):
        inflate_all(b"y,x\n1,2\n3,4\n5,6\n")
    with pytest.raises(CorruptInput):  # shorter than a gzip header
        inflate_all(b"1,2\n")


def test_a_flipped_byte_is_corrupt() -> None:
    data = bytearray(gzip.compress(os.urandom(5000)))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(CorruptInput):
        inflate_all(bytes(data))


def test_a_bad_checksum_is_corrupt() -> None:
    data = bytearray(gzip.compress(b"1,2\n" * 100))
    data[-6] ^= 0xFF  # the CRC-32 in the trailer
    with pytest.raises(CorruptInput, match="not a valid gzip stream"):
        inflate_all(bytes(data))


def test_lf_and_crlf_lines() -> None:
    assert lines_of([b"a\nb\r\nc\r\n\r\nd\n"]) == [b"a", b"b", b"c", b"", b"d"]


def test_a_crlf_split_across_blocks() -> None:
    # The CR ends one block, the LF starts the next: neither line keeps the CR.
    assert lines_of([b"1,2\r", b"\n3,4\n"]) == [b"1,2", b"3,4"]
    assert lines_of([b"1,2\r", b"\n3,4\r\n"]) == [b"1,2", b"3,4"]
    assert lines_of([b"1,2\r", b"\n"]) == [b"1,2"]
    assert lines_of([b"1,2\r", b"\r\n"]) == [b"1,2\r"]  # CR CR LF: the first CR is data


def test_crlf_input_split_at_every_position() -> None:
    data = b"y,x\r\n1,2\r\n3,4\r\n\r\n5,6"
    for cut in range(len(data) + 1):
        assert lines_of([data[:cut], data[cut:]]) == [b"y,x", b"1,2", b"3,4", b"", b"5,6"], cut


def test_the_last_line_without_a_newline() -> None:
    assert lines_of([b"1\n2"]) == [b"1", b"2"]
    assert lines_of([b"1\n", b"2"]) == [b"1", b"2"]
    assert lines_of([b"1\n"]) == [b"1"]
    assert lines_of([]) == []


def test_lines_come_a_block_at_a_time() -> None:
    chunks = list(line_chunks([b"1\n2\n3", b"4\n5\n"]))
    assert chunks == [LineBlock(b"1\n2"), LineBlock(b"34\n5")]
    assert [chunk.lines for chunk in chunks] == [[b"1", b"2"], [b"34", b"5"]]
    assert [chunk.count for chunk in chunks] == [2, 2]


def test_a_block_of_one_blank_line() -> None:
    assert LineBlock(b"").lines == [b""]
    assert LineBlock(b"").count == 1
    assert LineBlock.of([]) == LineBlock(b"")
    assert LineBlock.of([b"1", b"", b"2"]).lines == [b"1", b"", b"2"]


def test_a_line_longer_than_the_limit_is_cut_and_the_rest_skipped() -> None:
    long_line = b"9" * (3 * MAX_LINE_BYTES)
    data = b"1\n" + long_line + b"\n2\n3"
    pieces = [data[start : start + BLOCK_BYTES] for start in range(0, len(data), BLOCK_BYTES)]
    lines = lines_of(pieces)
    # One line for the long one, cut one byte past the limit; the lines after it are intact.
    assert lines == [b"1", long_line[: MAX_LINE_BYTES + 1], b"2", b"3"]


def test_a_line_that_never_ends_is_dropped_at_the_end() -> None:
    lines = lines_of([b"1\n", b"9" * (MAX_LINE_BYTES + 10)])
    assert lines == [b"1", b"9" * (MAX_LINE_BYTES + 1)]


def test_a_line_at_the_limit_is_kept_whole() -> None:
    line = b"7" * MAX_LINE_BYTES
    assert lines_of([line[:1000], line[1000:] + b"\n", b"8\n"]) == [line, b"8"]


def test_memory_stays_bounded_on_a_line_that_never_ends() -> None:
    block = b"x" * BLOCK_BYTES
    total = 64 << 20  # 64 MiB without a newline, then a short line

    def endless() -> Iterator[bytes]:
        for _ in range(total // BLOCK_BYTES):
            yield block
        yield b"\n42\n"

    tracemalloc.start()
    try:
        lengths = [len(line) for chunk in line_chunks(endless()) for line in chunk.lines]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lengths == [MAX_LINE_BYTES + 1, 2]
    assert peak < 8 * MAX_LINE_BYTES  # a few MiB, not the 64 MiB line


def test_a_byte_order_mark_at_the_start_is_dropped() -> None:
    assert lines_of([b"\xef\xbb\xbf1,2\n", b"3,4\n"]) == [b"1,2", b"3,4"]
