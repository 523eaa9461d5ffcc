"""The model copy function's event: {"build_id": "...", "sha256": "..."}, checked field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torchlambda.contract import efs_model_dir
from torchlambda.predictor.digest import is_sha256

FIELDS = ("build_id", "sha256")


class CopyEventError(ValueError):
    """The event does not name one build to copy; the message names the field."""


@dataclass(frozen=True)
class CopyRequest:
    build_id: str
    sha256: str  # the weights' sha256 the build is published with (its card's `sha256`)

    @classmethod
    def parse(cls, event: Any) -> CopyRequest:
        if not isinstance(event, Mapping):
            raise CopyEventError(
                f"the event must be an object with {' and '.join(FIELDS)}, "
                f"not {type(event).__name__}"
            )
        unexpected = sorted(str(name) for name in event if name not in FIELDS)
        if unexpected:
            raise CopyEventError(
                f"event: unexpected field {', '.join(unexpected)}; expected {' and '.join(FIELDS)}"
            )
        build_id, sha256 = _text(event, "build_id"), _text(event, "sha256")
        try:
            efs_model_dir(build_id)
        except ValueError:
            raise CopyEventError(f"event.build_id={build_id!r}: not a build id") from None
        if build_id.startswith("."):  # hidden names are the copies still in progress
            raise CopyEventError(f"event.build_id={build_id!r}: must not start with '.'")
        if not is_sha256(sha256):
            raise CopyEventError(
                f"event.sha256={sha256[:70]!r}: expected the weights' sha256, "
                "64 lowercase hex digits"
            )
        return cls(build_id, sha256)


def _text(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise CopyEventError(f"event.{name}: missing; expected a non-empty string")
    return value
