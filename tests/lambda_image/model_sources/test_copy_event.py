"""The copy function's event names one build and its sha256; anything else is refused, naming
the field."""

from __future__ import annotations

from typing import Any

import pytest

from torchlambda.model_sources.copy_event import CopyEventError, CopyRequest

SHA = "a" * 64


def test_a_build_and_its_sha256() -> None:
    assert CopyRequest.parse({"build_id": "proj:1234-abcd", "sha256": SHA}) == CopyRequest(
        "proj:1234-abcd", SHA
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (["build-1", SHA], "the event must be an object with build_id and sha256, not list"),
        ({"sha256": SHA}, "event.build_id: missing; expected a non-empty string"),
        ({"build_id": 7, "sha256": SHA}, "event.build_id: missing; expected a non-empty string"),
        ({"build_id": "a/b", "sha256": SHA}, "event.build_id='a/b': not a build id"),
        ({"build_id": "..", "sha256": SHA}, "event.build_id='..': not a build id"),
        ({"build_id": ".b", "sha256": SHA}, "event.build_id='.b': must not start with '.'"),
        ({"build_id": "b"}, "event.sha256: missing; expected a non-empty string"),
        (
            {"build_id": "b", "sha256": SHA.upper()},
            f"event.sha256={SHA.upper()!r}: expected the weights' sha256, 64 lowercase hex",
        ),
        (
            {"build_id": "b", "sha256": SHA, "sha": SHA},
            "event: unexpected field sha; expected build_id and sha256",
        ),
    ],
    ids=[
        "not an object",
        "no build",
        "build not a string",
        "build with a slash",
        "build is ..",
        "hidden build",
        "no sha",
        "sha in capitals",
        "a typo",
    ],
)
def test_a_bad_event_is_refused_naming_the_field(event: Any, reason: str) -> None:
    with pytest.raises(CopyEventError) as refused:
        CopyRequest.parse(event)
    assert str(refused.value).startswith(reason)
