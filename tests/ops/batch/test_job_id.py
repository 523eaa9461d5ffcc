"""A job's id: the same input scored by the same model is the same job, anything else a new one."""

from __future__ import annotations

import pytest

from ops.batch.job_id import NAME_PATTERN, job_id, slug
from torchlambda.batch.events import ManifestItem

OBJECTS = (
    ManifestItem("batch/in/sales/a.csv", '"0cc175b9c0f1b6a831c399e269772661"', 10),
    ManifestItem("batch/in/sales/b.jsonl.gz", '"92eb5ffee6ae2fec3ad71c777531578f-2"', 9_000_000),
)
BASE = job_id("batch/in/sales/", "e05f2e21f808", OBJECTS)


def test_the_same_input_is_the_same_job() -> None:
    assert job_id("batch/in/sales/", "e05f2e21f808", OBJECTS) == BASE
    assert job_id("batch/in/sales/", "e05f2e21f808", reversed(OBJECTS)) == BASE  # listing order
    assert BASE.startswith("sales-") and len(BASE) == len("sales-") + 24
    assert NAME_PATTERN.fullmatch(BASE)


def test_the_size_alone_does_not_make_a_new_job() -> None:
    resized = (OBJECTS[0], ManifestItem(OBJECTS[1].key, OBJECTS[1].etag, 1))
    assert job_id("batch/in/sales/", "e05f2e21f808", resized) == BASE  # the ETag covers content


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(
            ("batch/in/sales/", "e05f2e21f808",
             (OBJECTS[0], ManifestItem(OBJECTS[1].key, '"ffff"', OBJECTS[1].size))), id="etag"),
        pytest.param(
            ("batch/in/sales/", "e05f2e21f808",
             (OBJECTS[0], ManifestItem("batch/in/sales/c.csv", OBJECTS[1].etag, 9))), id="key"),
        pytest.param(("batch/in/sales/", "0123456789ab", OBJECTS), id="model version"),
        pytest.param(("batch/in/sales/", "e05f2e21f808", OBJECTS[:1]), id="one object fewer"),
        pytest.param(("batch/in/sales/a.csv", "e05f2e21f808", OBJECTS[:1]), id="input"),
    ],
)  # fmt: skip
def test_a_change_is_a_new_job(changed: tuple[str, str, tuple[ManifestItem, ...]]) -> None:
    new = job_id(*changed)
    assert new != BASE
    assert NAME_PATTERN.fullmatch(new)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sales/2024.csv", "sales-2024-csv"),
        ("my data (v2)/x.jsonl.gz", "my-data-v2-x-jsonl-gz"),
        ("under_score-dash", "under_score-dash"),
        ("ünïcode/☃.csv", "n-code-csv"),
        ("///", "job"),
        ("a" * 39 + "/b", "a" * 39),  # cut at 40, then no dash left at the end
        ("x" * 100, "x" * 40),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_a_long_input_still_makes_a_valid_name() -> None:
    objects = [ManifestItem(f"batch/in/{'deep/' * 40}{i}.csv", f'"{i}"', i) for i in range(3)]
    name = job_id(f"batch/in/{'deep/' * 40}", "e05f2e21f808", objects)
    assert NAME_PATTERN.fullmatch(name) and name.startswith("deep-deep-") and len(name) <= 65
