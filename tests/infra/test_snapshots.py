"""One reviewed snapshot per environment stack; `make snapshot-update` refreshes them.

Asset hashes (S3 keys, image tags) change whenever any packaged file does, so they are normalized:
a snapshot moves only when the infrastructure itself does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import SynthesizedEnvironment

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# A Lambda version's logical id ends with a hash of the function's code.
VERSION_ID = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


def normalized(template: Mapping[str, Any]) -> dict[str, Any]:
    text = ASSET_HASH.sub("<asset-hash>", json.dumps(template))
    return dict(json.loads(VERSION_ID.sub(r"\1<code-hash>", text)))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_snapshot(environment: SynthesizedEnvironment, snapshot_json: SnapshotAssertion) -> None:
    for component, template in environment.templates.items():
        name = f"{environment.config.name}-{component}"
        assert normalized(template.to_json()) == snapshot_json(name=name)


def test_normalization_hides_only_asset_hashes() -> None:
    digest = "a" * 64
    version = "InferenceFunctionCurrentVersion1DB4BD26" + "b" * 32
    assert normalized({"Key": f"{digest}.zip", "Other": "abc", version: 1}) == {
        "Key": "<asset-hash>.zip",
        "Other": "abc",
        "InferenceFunctionCurrentVersion1DB4BD26<code-hash>": 1,
    }
