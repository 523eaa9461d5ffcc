"""x from text fields: the fast paths accept exactly what the API's validator accepts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchlambda.batch.numbers import (
    Rejection,
    book_fields,
    parse_fast,
    parse_numbers,
    parse_one,
)
from torchlambda.batch.streams import MAX_LINE_BYTES
from torchlambda.contract import DEFAULT_MAX_ABS_X, MAX_X_CHARS
from torchlambda.errors import ApiError
from torchlambda.validation import DECIMAL, x_from_query

CHECKS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRICKY = [
    b"",
    b".",
    b"+",
    b"-",
    b"e",
    b"E",
    b"1e",
    b"1e+",
    b".e1",
    b"+-1",
    b"--1",
    b"1.2.3",
    b"1e5.5",
    b"1_000",
    b" 1",
    b"1 ",
    b"nan",
    b"NaN",
    b"inf",
    b"-Infinity",
    b"0x10",
    b"1e309",
    b"-1e309",
    b"1e-400",
    b"1000000",
    b"1000000.0000001",
    b"-1e6",
    b"1E6",
    b"+.5",
    b"5.",
    b"1.e3",
    b"007",
    b"\xd9\xa1",
    b"\xef\xbc\x91",
    b"1\x00",
    b"0." + b"1" * 62,
    b"0." + b"1" * 63,
    b"\t1",
]
# Fields built from the bytes a decimal number may hold (the fast path's byte check passes these)
FIELDS = st.one_of(
    st.sampled_from(TRICKY),
    st.binary(max_size=12),
    st.text(alphabet="0123456789+-.eE", max_size=70).map(str.encode),
    st.text(alphabet="0123456789+-.eE_ infa\u0661", max_size=12).map(str.encode),
    st.from_regex(DECIMAL, fullmatch=True).map(str.encode),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
)
DOMAINS = st.sampled_from([DEFAULT_MAX_ABS_X, 1.0, 1e300, 0.5])


def api(field: bytes, max_abs_x: float) -> float | ApiError:
    """What GET /predict?x=<field> answers: the API's validator, on the field as text."""
    try:
        text = field.decode("ascii")
    except UnicodeDecodeError:
        text = field.decode("utf-8", "replace")  # non-ASCII text: the API refuses it too
    try:
        return x_from_query(text, max_abs_x)
    except ApiError as error:
        return error


@CHECKS
@given(fields=st.lists(FIELDS, max_size=6), max_abs_x=DOMAINS)
def test_parse_fast_accepts_exactly_what_the_api_accepts(
    fields: list[bytes], max_abs_x: float
) -> None:
    answers = [api(field, max_abs_x) for field in fields]
    fast = parse_fast(fields, max_abs_x)
    if fields and all(isinstance(answer, float) for answer in answers):
        # Every field accepted: the fast path agrees, to the bit (the sign of zero included).
        assert fast is not None
        assert [value.hex() for value in fast] == [
            answer.hex() for answer in answers if isinstance(answer, float)
        ]
    else:
        assert fast is None


@CHECKS
@given(field=FIELDS, max_abs_x=DOMAINS)
def test_parse_one_answers_as_the_api(field: bytes, max_abs_x: float) -> None:
    answer, parsed = api(field, max_abs_x), parse_one(field, max_abs_x)
    if isinstance(answer, float):
        assert isinstance(parsed, float)
        assert parsed.hex() == answer.hex()
    else:
        assert parsed == Rejection(answer.code, answer.message)


@pytest.mark.parametrize(
    ("field", "code", "reason"),
    [
        (b"abc", "invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3"),
        (b"nan", "invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3"),
        (b"inf", "invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3"),
        (b"1_000", "invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3"),
        (b" 1", "invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3"),
        ("\u0661".encode(), "invalid_x", "x must be a decimal number such as 42, -1.5 or 2e3"),
        (b"0." + b"1" * 63, "invalid_x", f"x is longer than {MAX_X_CHARS} characters"),
        (b"1e309", "out_of_range", "x must be finite with |x| <= 1e+06"),
        (b"-1000000.5", "out_of_range", "x must be finite with |x| <= 1e+06"),
        (b"", "missing_x", "query parameter x is empty"),
    ],
)
def test_parse_one_rejections_carry_the_api_codes(field: bytes, code: str, reason: str) -> None:
    assert parse_one(field, DEFAULT_MAX_ABS_X) == Rejection(code, reason)
    assert parse_fast([b"1", field], DEFAULT_MAX_ABS_X) is None


def test_parse_fast_on_good_fields() -> None:
    fields = [b"1", b"-2.5", b"3e2", b"+.5", b"5.", b"1E-3", b"0." + b"1" * 62, b"-1e6"]
    parsed = parse_fast(fields, DEFAULT_MAX_ABS_X)
    assert parsed is not None
    assert parsed.tolist() == [float(field) for field in fields]
    assert parse_fast([], DEFAULT_MAX_ABS_X) is None


def row_by_row(text: bytes, columns: int, max_abs_x: float) -> list[float] | None:
    """What the API answers for each line's last field, if every line has `columns` fields and
    every x is accepted; None otherwise."""
    rows = [line.split(b",") for line in text.split(b"\n")]
    if any(len(row) != columns for row in rows):
        return None
    answers = [api(row[-1], max_abs_x) for row in rows]
    accepted = [answer for answer in answers if isinstance(answer, float)]
    return accepted if len(accepted) == len(answers) else None


@CHECKS
@given(
    rows=st.lists(st.tuples(FIELDS, FIELDS), min_size=1, max_size=5),
    columns=st.sampled_from([1, 2]),
    max_abs_x=DOMAINS,
)
def test_the_books_text_path_accepts_exactly_what_the_api_accepts(
    rows: list[tuple[bytes, bytes]], columns: int, max_abs_x: float
) -> None:
    text = b"\n".join(b",".join(row[2 - columns :]) for row in rows)
    fields = book_fields(text, columns)
    fast = None if fields is None else parse_numbers(fields[columns - 1 :: columns], max_abs_x)
    expected = row_by_row(text, columns, max_abs_x)
    # Exactly what the API accepts, whatever the labels, and the same floats to the bit.
    assert (fast is None) == (expected is None)
    if fast is not None and expected is not None:
        assert [value.hex() for value in fast] == [value.hex() for value in expected]


@pytest.mark.parametrize(
    "text",
    [b"", b"1,2\n\n3,4", b"1,2\n", b"1,2,3\n4,5", b"1\n2,3", b"1,2\r", b"1,", b"1,,2", b"1,x"],
)
def test_the_books_text_path_leaves_odd_shapes_to_the_rows(text: bytes) -> None:
    assert book_fields(text, 2) is None


def test_the_books_text_path_splits_rows_in_order() -> None:
    assert book_fields(b"1,2\n3,4\n5,6", 2) == [b"1", b"2", b"3", b"4", b"5", b"6"]
    assert book_fields(b"7\n-8e3", 1) == [b"7", b"-8e3"]


def test_labels_pass_through_the_books_text_path_whatever_they_hold() -> None:
    assert book_fields(b'NA,1\n,2\n"a",3e2', 2) == [b"NA", b"1", b"", b"2", b'"a"', b"3e2"]


def test_a_row_longer_than_the_limit_leaves_the_books_text_path() -> None:
    label = b"1" * (MAX_LINE_BYTES - 2)
    assert book_fields(b"1,2\n" + label + b",3", 2) == [b"1", b"2", label, b"3"]
    assert book_fields(b"1,2\n" + label + b"1,3", 2) is None
