"""Build ids as the artifacts bucket's keys hold them: one safe key segment each.

CodeBuild names a build ``<project name>:<uuid>``; training publishes it under the uuid alone
(``models/<env>/<uuid>/``), and the lifecycle functions, given CodeBuild's id by the workflow, find
it there by the same rule.
"""

from __future__ import annotations

import re

# Letters, digits, dot, dash and underscore, not starting with a dot: no `..`, no `/`, no spaces.
KEY_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class BuildIdError(ValueError):
    """A build id that would not give one safe S3 key segment; the message is one line."""


def is_key_segment(text: str) -> bool:
    return KEY_SEGMENT.fullmatch(text) is not None


def clean_build_id(raw: str) -> str:
    """`project:uuid` (CodeBuild's build id) -> `uuid`; anything else must already be key-safe."""
    build_id = raw.rsplit(":", 1)[-1]
    if not is_key_segment(build_id):
        raise BuildIdError(f"build id {raw!r} does not give a safe S3 key segment")
    return build_id
