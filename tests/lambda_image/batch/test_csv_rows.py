"""CSV end to end through score_stream: the book's layout and headered CSV, good and bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lambda_image.batch.conftest import score_bytes
from torchlambda.batch.csv_rows import BookCsv, HeaderedCsv, LayoutError, open_csv
from torchlambda.batch.streams import BLOCK_BYTES, MAX_LINE_BYTES

DECIMAL_REASON = "x must be a decimal number such as 42, -1.5 or 2e3"
RANGE_REASON = "x must be finite with |x| <= 1e+06"
LONG_X = "0." + "1" * 63  # 65 characters


def test_book_y_x_keeps_the_label_as_y_true(tmp_path: Path) -> None:
    scored = score_bytes(b"1.5,2\n-3,0.25\n7,1e3\n0,-0\n", "book.csv", tmp_path)
    assert scored.output == b"4.0,2,1.5\n0.5,0.25,-3\n2000.0,1e3,7\n-0.0,-0,0\n"
    assert (scored.counts.rows_read, scored.counts.rows_predicted) == (4, 4)
    assert scored.counts.rows_rejected == 0
    assert scored.errors is None  # no rejected row, no errors file


def test_book_x_alone(tmp_path: Path) -> None:
    scored = score_bytes(b"2\n0.25\n-1e3\n", "book.csv", tmp_path)
    assert scored.output == b"4.0,2\n0.5,0.25\n-2000.0,-1e3\n"
    assert scored.counts.rows_read == scored.counts.rows_predicted == 3


def test_book_x_bad_rows_are_counted_listed_and_left_out(tmp_path: Path) -> None:
    rows = [
        "1",
        "abc",
        "nan",
        "inf",
        "1e309",
        "1_000",
        " 1",
        "\u0661",  # ARABIC-INDIC DIGIT ONE
        LONG_X,
        "1000000.5",
        "1,2",
        "",  # blank: not a row
        "3",
        ",",
    ]
    scored = score_bytes("\n".join(rows).encode(), "x.csv", tmp_path)
    assert scored.output == b"2.0,1\n6.0,3\n"
    assert scored.counts.rows_read == 13
    assert scored.counts.rows_predicted == 2
    assert scored.counts.rows_rejected == 11
    assert scored.errors is not None
    expected = [
        (2, "invalid_x", DECIMAL_REASON, "abc"),
        (3, "invalid_x", DECIMAL_REASON, "nan"),
        (4, "invalid_x", DECIMAL_REASON, "inf"),
        (5, "out_of_range", RANGE_REASON, "1e309"),
        (6, "invalid_x", DECIMAL_REASON, "1_000"),
        (7, "invalid_x", DECIMAL_REASON, " 1"),
        (8, "invalid_x", DECIMAL_REASON, "\u0661"),
        (9, "invalid_x", "x is longer than 64 characters", LONG_X),
        (10, "out_of_range", RANGE_REASON, "1000000.5"),
        (11, "invalid_row", "expected 1 column(s) (x), found 2", "1,2"),
        (14, "invalid_row", "expected 1 column(s) (x), found 2", ","),
    ]
    assert [(e["line"], e["code"], e["reason"], e["row"]) for e in scored.errors] == expected


def test_book_y_x_wrong_column_counts_and_empty_x(tmp_path: Path) -> None:
    scored = score_bytes(b"1,2\n1,2,3\n4\n5,\n6,7\n", "book.csv", tmp_path)
    assert scored.output == b"4.0,2,1\n14.0,7,6\n"
    assert scored.errors is not None
    assert [(e["line"], e["code"], e["reason"]) for e in scored.errors] == [
        (2, "invalid_row", "expected 2 column(s) (y,x), found 3"),
        (3, "invalid_row", "expected 2 column(s) (y,x), found 1"),
        (4, "missing_x", "query parameter x is empty"),
    ]
    assert scored.counts.rows_rejected == 3


def test_headered_csv_passes_columns_through_and_renames_y(tmp_path: Path) -> None:
    data = (
        b"id,x,y,note\n"
        b"a,1.5,3,hello\n"
        b'"b,c",2,4,"a ""quoted"" note"\n'
        b'g,"2.5",1,z\n'
        b"d,abc,5,x\n"
        b"e,1,2\n"
        b'f,"1e309",1,n\n'
        b"\n"
        b'h,1,1,"open\n'
        b"i,-1,0,\n"
    )
    scored = score_bytes(data, "table.csv", tmp_path)
    assert scored.output == (
        b"id,x,y_true,note,y\n"
        b"a,1.5,3,hello,3.0\n"
        b'"b,c",2,4,"a ""quoted"" note",4.0\n'
        b'g,"2.5",1,z,5.0\n'
        b"i,-1,0,,-2.0\n"
    )
    assert scored.errors is not None
    assert [(e["line"], e["code"], e["reason"], e["row"]) for e in scored.errors] == [
        (5, "invalid_x", DECIMAL_REASON, "d,abc,5,x"),
        (6, "invalid_row", "expected 4 columns, found 3", "e,1,2"),
        (7, "out_of_range", RANGE_REASON, 'f,"1e309",1,n'),
        (9, "invalid_row", "row is not valid CSV (a quote left open?)", 'h,1,1,"open'),
    ]
    assert scored.counts.rows_read == 8  # the header and the blank line are not rows
    assert scored.counts.rows_predicted == 4


def test_headered_csv_with_x_alone_and_a_bom(tmp_path: Path) -> None:
    scored = score_bytes("\ufeffx,id\n1,a\n2,b\n".encode(), "bom.csv", tmp_path)
    assert scored.output == b"x,id,y\n1,a,2.0\n2,b,4.0\n"
    alone = score_bytes(b"x\n1\n\n2\nnope\n", "alone.csv", tmp_path)
    assert alone.output == b"x,y\n1,2.0\n2,4.0\n"
    assert alone.errors is not None
    assert [(e["line"], e["code"]) for e in alone.errors] == [(5, "invalid_x")]


def test_a_header_after_blank_lines_is_counted_as_lines(tmp_path: Path) -> None:
    scored = score_bytes(b"\n\nx,y\n1,0\nbad,0\n", "late.csv", tmp_path)
    assert scored.output == b"x,y_true,y\n1,0,2.0\n"
    assert scored.errors is not None
    assert [e["line"] for e in scored.errors] == [5]


def test_a_header_without_x_is_a_layout_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="neither a header with an x column"):
        score_bytes(b"id,value\n1,2\n", "nox.csv", tmp_path)
    assert list(tmp_path.iterdir()) == []  # no output, no errors, no temporary file


def test_a_first_line_of_three_numbers_is_a_header_without_x(tmp_path: Path) -> None:
    with pytest.raises(LayoutError):
        score_bytes(b"1,2,3\n", "three.csv", tmp_path)


def test_an_over_long_row_is_rejected_and_the_next_rows_kept(tmp_path: Path) -> None:
    data = b"x,id\n1,a\n" + b"2," + b"z" * (2 * MAX_LINE_BYTES) + b"\n3,c\n"
    scored = score_bytes(data, "long.csv", tmp_path)
    assert scored.output == b"x,id,y\n1,a,2.0\n3,c,6.0\n"
    assert scored.errors is not None
    assert [(e["line"], e["code"]) for e in scored.errors] == [(3, "invalid_row")]
    assert scored.errors[0]["reason"] == f"row is longer than {MAX_LINE_BYTES} bytes"
    assert len(scored.errors[0]["row"]) == 200  # an echo, not the row


def test_open_csv_tells_the_layouts_apart() -> None:
    assert isinstance(open_csv(b"1,2", 1e6)[0], BookCsv)
    assert open_csv(b"1,2", 1e6)[1] is False
    assert isinstance(open_csv(b"1e9", 1e6)[0], BookCsv)  # out of the domain: that row's problem
    codec, is_header = open_csv(b"y,x", 1e6)
    assert isinstance(codec, HeaderedCsv)
    assert is_header
    assert codec.prelude == b"y_true,x,y\n"
    with pytest.raises(LayoutError):
        open_csv(b"abc", 1e6)


def test_fast_and_slow_paths_render_the_same(tmp_path: Path) -> None:
    good = b"".join(b"%d,%d.5\n" % (i, i) for i in range(200))
    fast = score_bytes(good, "fast.csv", tmp_path)
    slow = score_bytes(good + b"1,bad\n", "slow.csv", tmp_path)
    assert fast.output == slow.output
    assert fast.counts.rows_predicted == slow.counts.rows_predicted == 200


def test_a_book_row_cut_inside_its_x_is_rejected(tmp_path: Path) -> None:
    # Cut one byte past the limit, this row would end in a short, valid x ("0.00000000").
    label = b"1" * (MAX_LINE_BYTES - 10)
    # The row goes on for two more blocks: it is cut before its end comes.
    data = b"1,2\n" + label + b",0." + b"0" * (2 * BLOCK_BYTES) + b"\n3,4\n"
    scored = score_bytes(data, "cut.csv", tmp_path)
    assert scored.output == b"4.0,2,1\n8.0,4,3\n"
    assert scored.errors is not None
    assert [(e["line"], e["code"]) for e in scored.errors] == [(2, "invalid_row")]
