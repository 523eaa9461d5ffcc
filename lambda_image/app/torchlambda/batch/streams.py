"""Bytes in, lines out, in bounded memory: blocks from a source, gzip inflated (ISA-L), lines split.

Nothing here holds more than a few blocks, whatever the object's size: a gzip bomb inflates at
most ``MAX_INFLATED`` bytes at a time, and a line that never ends is cut at ``MAX_LINE_BYTES``
(the scorer rejects it) while the rest of it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, cast

from isal import isal_zlib

from torchlambda.contract import MAX_BODY_CHARS

# Small enough that the chunks in flight (read ahead, scoring, written behind) stay tens of MB.
BLOCK_BYTES = 256 << 10  # read from the source at a time
MAX_INFLATED = 1 << 20  # inflated from one block at a time
# A row longer than the API's largest body is refused; reading stops buffering it there.
MAX_LINE_BYTES = MAX_BODY_CHARS
UTF8_BOM = b"\xef\xbb\xbf"
GZIP_AUTO_HEADER = 16 + isal_zlib.MAX_WBITS
# isal's stubs declare its error as an instance of Exception; it is the class.
INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class CorruptInput(ValueError):
    """The object is not what its name says (bad or truncated gzip)."""


def blocks(source: Readable, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    while block := source.read(size):
        yield block


def inflated(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """The gzip stream's content; members concatenated (as `cat a.gz b.gz` makes) are read on."""
    inflater = isal_zlib.decompressobj(GZIP_AUTO_HEADER)
    started = False
    try:
        for block in compressed:
            data = block
            while data:
                started = True
                out = inflater.decompress(data, MAX_INFLATED)
                if out:
                    yield out
                if inflater.eof:
                    data = inflater.unused_data
                    inflater = isal_zlib.decompressobj(GZIP_AUTO_HEADER)
                    started = False
                else:
                    data = inflater.unconsumed_tail
    except INFLATE_ERROR as error:
        raise CorruptInput(f"not a valid gzip stream ({error})") from None
    if started:
        raise CorruptInput("the gzip stream ends early (truncated upload?)")


@dataclass(frozen=True)
class LineBlock:
    """Complete lines, a block's worth, as one text: joined by LF (a CRLF already read as LF).

    Kept whole because the book's CSV is parsed from the text itself (``batch.numbers``): splitting
    every line only to join them again cost more than the parsing saved.
    """

    text: bytes

    @classmethod
    def of(cls, lines: list[bytes]) -> LineBlock:
        return cls(b"\n".join(lines))

    @cached_property
    def lines(self) -> list[bytes]:
        return self.text.split(b"\n")

    @cached_property
    def count(self) -> int:
        return self.text.count(b"\n") + 1


def line_chunks(data: Iterable[bytes]) -> Iterator[LineBlock]:
    """Complete lines (CRLF or LF, without the ending), a block's worth at a time; a UTF-8 byte
    order mark (as spreadsheet exports write) is dropped from the start."""
    pending = b""
    skipping = False  # inside a line already cut at MAX_LINE_BYTES
    first = True
    for received in data:
        block = received.removeprefix(UTF8_BOM) if first else received
        first = False
        # A CRLF split across blocks: the CR ends `pending`, the LF starts this block (which may
        # hold no other CR).
        if pending.endswith(b"\r") and block.startswith(b"\n"):
            pending = pending[:-1]
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        if skipping:
            end = block.find(b"\n")
            if end < 0:
                continue
            block, skipping = block[end + 1 :], False
        text = pending + block
        end = text.rfind(b"\n")
        complete, pending = (None, text) if end < 0 else (text[:end], text[end + 1 :])
        if len(pending) > MAX_LINE_BYTES:
            # Keep one byte over the limit, so the scorer sees the line is too long.
            cut = pending[: MAX_LINE_BYTES + 1]
            complete = cut if complete is None else complete + b"\n" + cut
            pending, skipping = b"", True
        if complete is not None:
            yield LineBlock(complete)
    if pending and not skipping:
        yield LineBlock(pending)
