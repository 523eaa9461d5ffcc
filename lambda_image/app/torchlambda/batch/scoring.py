"""One input stream scored into an output sink and an errors sink, a chunk of lines at a time.

Three threads share the work, each chunk passing through them in order: the reader reads,
inflates, splits and parses (``read_ahead``), this thread runs the model, and the writer renders,
compresses and uploads (``WriteBehind``). Parsing and rendering hold the GIL; the forward pass,
the bulk of the work, runs a whole chunk in one call that releases it (``batch.forward``), so the
three overlap on two vCPUs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from torchlambda.batch.chunks import Codec, ParsedChunk, Predict
from torchlambda.batch.csv_rows import open_csv
from torchlambda.batch.formats import Family, InputFormat
from torchlambda.batch.json_lines import JsonLines
from torchlambda.batch.pipeline import WriteBehind, read_ahead
from torchlambda.batch.sinks import GzipSink, Sink
from torchlambda.batch.streams import LineBlock, Readable, blocks, inflated, line_chunks


@dataclass(frozen=True)
class Counts:
    rows_read: int = 0
    rows_predicted: int = 0
    rows_rejected: int = 0


def _opened(
    family: Family, block: LineBlock, first_line: int, max_abs_x: float
) -> tuple[Codec, LineBlock, int] | None:
    """The codec for this input and the rest of the block; None while only blank lines came."""
    if family is Family.JSON_LINES:
        return JsonLines(max_abs_x), block, first_line
    lines = block.lines
    for index, line in enumerate(lines):
        if line.strip():
            codec, is_header = open_csv(line, max_abs_x)
            rest = index + 1 if is_header else index
            # Past a header that ends the block: one blank line, not a row.
            return codec, LineBlock.of(lines[rest:]), first_line + rest
    return None


def parsed_chunks(
    chunks: Iterable[LineBlock], family: Family, max_abs_x: float
) -> Iterator[tuple[bytes, ParsedChunk]]:
    """Each block parsed, with the bytes to write before it (the header, once)."""
    codec: Codec | None = None
    next_line = 1
    for chunk in chunks:
        block, first_line, next_line = chunk, next_line, next_line + chunk.count
        prelude = b""
        if codec is None:
            opened = _opened(family, chunk, first_line, max_abs_x)
            if opened is None:
                continue
            codec, block, first_line = opened
            prelude = codec.prelude
        yield prelude, codec.parse(block, first_line)


def score_chunks(
    parsed: Iterable[tuple[bytes, ParsedChunk]],
    *,
    predict: Predict,
    output: WriteBehind,
    errors: Sink,
) -> Counts:
    """Predict each parsed chunk; neither sink is committed here."""
    read = rejected = 0
    for prelude, chunk in parsed:
        if prelude:
            output.write(prelude)
        if len(chunk.values):
            output.submit(chunk.render, predict(chunk.values))
        if chunk.rejections:
            errors.write(b"\n".join(row.to_json() for row in chunk.rejections) + b"\n")
        read += chunk.rows
        rejected += len(chunk.rejections)
    return Counts(read, read - rejected, rejected)


def score_stream(
    source: Readable,
    input_format: InputFormat,
    *,
    predict: Predict,
    max_abs_x: float,
    output: Sink,
    errors: Sink,
) -> Counts:
    """Score one input object or file, in its format; commits both sinks only if all went well.

    The output is gzip-compressed when the input was; the errors object is JSON Lines.
    """
    data: Iterable[bytes] = blocks(source)
    if input_format.gzip:
        data = inflated(data)
        output = GzipSink(output)
    behind = WriteBehind(output)
    ahead = read_ahead(parsed_chunks(line_chunks(data), input_format.family, max_abs_x))
    try:
        counts = score_chunks(ahead, predict=predict, output=behind, errors=errors)
        errors.commit()
    except BaseException:
        behind.abort()
        errors.abort()
        raise
    finally:
        ahead.close()  # stops reading ahead, whatever happened
    # Last: an output under its final name means the whole object was scored.
    try:
        behind.commit()
    except BaseException:
        behind.abort()  # a write that failed behind, or the completion itself: no upload left
        raise
    return counts
