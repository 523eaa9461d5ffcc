"""Which keys a job request names: a key itself, or the keys below it as a folder."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lambda_image.batch.conftest import BUCKET
from torchlambda.batch.inputs import list_inputs, names


@pytest.mark.parametrize(
    ("input_key", "key", "named"),
    [
        ("batch/in/a.csv", "batch/in/a.csv", True),
        ("batch/in/a.csv", "batch/in/a.csv.gz", False),
        ("batch/in/day1", "batch/in/day1/a.csv", True),
        ("batch/in/day1", "batch/in/day10/a.csv", False),
        ("batch/in/day1/", "batch/in/day1/sub/a.csv", True),
        ("batch/in/day1/", "batch/in/day1/", False),
        ("batch/in/day1", "batch/in/day1/", False),
    ],
)
def test_names(input_key: str, key: str, named: bool) -> None:
    assert names(input_key, key) is named


def test_list_inputs_sorted_with_etags(s3: Any) -> None:
    etags = {}
    for key in ("batch/in/d/b.csv", "batch/in/d/a.jsonl", "batch/in/d2/c.csv", "batch/in/d/"):
        etags[key] = s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())["ETag"]
    items = list_inputs(s3, BUCKET, "batch/in/d")
    assert [(item.key, item.etag, item.size) for item in items] == [
        ("batch/in/d/a.jsonl", etags["batch/in/d/a.jsonl"], len("batch/in/d/a.jsonl")),
        ("batch/in/d/b.csv", etags["batch/in/d/b.csv"], len("batch/in/d/b.csv")),
    ]
