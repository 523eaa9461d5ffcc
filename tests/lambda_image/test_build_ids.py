"""Build ids as key segments: CodeBuild's `project:uuid` gives the uuid; nothing else is cleaned."""

from __future__ import annotations

import pytest

from torchlambda.build_ids import BuildIdError, clean_build_id, is_key_segment


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("torchlambda-training-dev:7d4f1c2a-0b9e", "7d4f1c2a-0b9e"), ("b1", "b1"), ("a:b:c", "c")],
)
def test_the_part_after_the_last_colon_is_the_build_id(raw: str, expected: str) -> None:
    assert clean_build_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "project:", "../etc", ".hidden", "a/b", "x:has space", "é"])
def test_what_is_no_key_segment_is_refused(raw: str) -> None:
    with pytest.raises(BuildIdError, match=r"does not give a safe S3 key segment$"):
        clean_build_id(raw)
    assert not is_key_segment(raw.rsplit(":", 1)[-1])


def test_a_segment_is_at_most_128_characters() -> None:
    assert is_key_segment("a" * 128) and not is_key_segment("a" * 129)
