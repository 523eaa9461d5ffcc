"""The evaluation set's rows: the book's layout or a header, x by the API's rules, y finite,
streamed a chunk at a time with the sha256 and the count of what was read."""

from __future__ import annotations

import hashlib
import io

import pytest

from torchlambda.batch.streams import BLOCK_BYTES
from torchlambda.contract import DEFAULT_MAX_ABS_X
from torchlambda.lifecycle.errors import EvaluationSetError
from torchlambda.lifecycle.labelled_rows import LabelledRows

NAME = "evaluation set s3://bucket/data/holdout.csv"


def read(data: bytes, max_abs_x: float = DEFAULT_MAX_ABS_X) -> tuple[list[float], list[float]]:
    """Every (x, y) the reader yields, after checking its hash and count describe `data`."""
    rows = LabelledRows(io.BytesIO(data), NAME, max_abs_x)
    xs: list[float] = []
    ys: list[float] = []
    for chunk in rows:
        xs += chunk.xs
        ys += chunk.ys
    assert rows.sha256 == hashlib.sha256(data).hexdigest()
    assert rows.rows == len(xs) == len(ys)
    return xs, ys


def refusal(data: bytes, max_abs_x: float = DEFAULT_MAX_ABS_X) -> str:
    with pytest.raises(EvaluationSetError) as raised:
        read(data, max_abs_x)
    message = str(raised.value)
    assert message.startswith(f"{NAME}: ") and "\n" not in message
    return message.removeprefix(f"{NAME}: ")


@pytest.mark.parametrize(
    "data",
    [
        b"10,1\n20,2.5\n-3e1,-1e2\n",  # the book's layout: y,x
        b"y,x\n10,1\n20,2.5\n-3e1,-1e2\n",
        b"X , Y\n1,10\n2.5,20\n-1e2,-3e1\n",  # named columns in the other order
        b"\xef\xbb\xbfy,x\r\n10,1\r\n\r\n20,2.5\r\n-3e1,-1e2",  # BOM, CRLF, a blank line, no end
        b"\n\n10,1\n20,2.5\n-3e1,-1e2\n",  # blank lines before the first row
    ],
)
def test_layouts_give_the_same_rows(data: bytes) -> None:
    assert read(data) == ([1.0, 2.5, -100.0], [10.0, 20.0, -30.0])


def test_a_set_larger_than_a_block_is_read_in_chunks_with_its_line_numbers() -> None:
    rows = BLOCK_BYTES // 8 + 1000  # several chunks
    lines = [f"{i}.5,{i % 1000}\n".encode() for i in range(rows)]
    xs, ys = read(b"".join(lines))
    assert len(xs) == rows and ys[-1] == rows - 1 + 0.5
    chunks = list(LabelledRows(io.BytesIO(b"".join(lines)), NAME, DEFAULT_MAX_ABS_X))
    assert len(chunks) > 1
    lines[rows - 2] = b"1,bad\n"
    assert refusal(b"".join(lines)).startswith(f"line {rows - 1}: 'bad': x must be a decimal")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no rows; expected y,x rows"),
        (b"\n \n", "no rows; expected y,x rows"),
        (b"y,x\n", "no rows; expected y,x rows"),
        (b"a,b\n1,2\n", "line 1: expected y,x rows of numbers"),
        (b"1\n2\n", "line 1: expected y,x rows of numbers"),
        (b"1,2\n3\n", "line 2: 1 columns; expected y,x rows"),
        (b"1,2\n3,4,5\n", "line 2: 3 columns"),
        (b"1,2\n3, 4\n", "line 2: ' 4': x must be a decimal number"),
        (b"1,2\n3,1_000\n", "line 2: '1_000': x must be a decimal number"),
        (b"1,2\n3,inf\n", "line 2: 'inf': x must be a decimal number"),
        (b"1,2\n3,1e7\n", "line 2: '1e7': x must be finite with |x| <= 1e+06"),
        (b"1,2\n,4\n", "line 2: '': y must be a decimal number"),
        (b"1,2\nNaN,4\n", "line 2: 'NaN': y must be a decimal number"),
        (b"1,2\n-1e39,4\n", "line 2: '-1e39': y must be finite and within float32's range"),
        (b"1e999,4\n", "line 1: '1e999': y must be finite and within float32's range"),
        (b"1,2e6\n", "line 1: '2e6': x must be finite with |x| <= 1e+06"),
        (b"1,2\n\xff,4\n", "line 2: '\ufffd': y must be a decimal number"),
    ],
)
def test_a_bad_row_is_named_by_its_line(data: bytes, reason: str) -> None:
    assert refusal(data).startswith(reason)


def test_x_obeys_the_domain_it_is_served_in() -> None:
    assert read(b"1,5\n", max_abs_x=5.0) == ([5.0], [1.0])
    assert refusal(b"1,5.5\n", max_abs_x=5.0) == "line 1: '5.5': x must be finite with |x| <= 5"
