"""Input formats by name: .csv and .jsonl, each optionally .gz, in any case; nothing else."""

from __future__ import annotations

import pytest

from torchlambda.batch.formats import (
    SUPPORTED_SUFFIXES,
    Family,
    InputFormat,
    UnsupportedInput,
    format_of,
    is_supported,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("batch/in/scores.csv", InputFormat(Family.CSV, gzip=False)),
        ("batch/in/scores.csv.gz", InputFormat(Family.CSV, gzip=True)),
        ("batch/in/rows.jsonl", InputFormat(Family.JSON_LINES, gzip=False)),
        ("batch/in/rows.jsonl.gz", InputFormat(Family.JSON_LINES, gzip=True)),
        ("SCORES.CSV", InputFormat(Family.CSV, gzip=False)),
        ("Scores.Csv.GZ", InputFormat(Family.CSV, gzip=True)),
        ("rows.JSONL.Gz", InputFormat(Family.JSON_LINES, gzip=True)),
        ("a.b.csv", InputFormat(Family.CSV, gzip=False)),
    ],
)
def test_format_of_supported_names(name: str, expected: InputFormat) -> None:
    assert format_of(name) == expected
    assert is_supported(name)


def test_content_type_and_encoding_follow_the_format() -> None:
    assert format_of("a.csv").content_type == "text/csv"
    assert format_of("a.csv").content_encoding is None
    assert format_of("a.jsonl.gz").content_type == "application/jsonl"
    assert format_of("a.jsonl.gz").content_encoding == "gzip"


@pytest.mark.parametrize(
    "name",
    [
        "a.json",
        "a.gz",
        "a.txt",
        "a.csv.zip",
        "a.csv.bz2",
        "a.tsv",
        "csv",
        "a.csv/",
        "a.jsonl.gz.tmp",
    ],
)
def test_unsupported_names_are_refused_with_the_supported_list(name: str) -> None:
    with pytest.raises(UnsupportedInput) as refused:
        format_of(name)
    message = str(refused.value)
    assert message.startswith(name)
    assert "*.csv, *.csv.gz, *.jsonl, *.jsonl.gz" in message
    assert not is_supported(name)


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == (".csv", ".csv.gz", ".jsonl", ".jsonl.gz")
