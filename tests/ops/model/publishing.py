"""Publishing to the stand-in bucket with training's own publisher, as a training build does."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from training.publish import publish as publish_model


def publish(
    s3: Any, bucket: str, environment: str, build_id: str, files: dict[str, bytes]
) -> dict[str, Any]:
    """Write `files` as a model directory and publish it (files first, latest.json last)."""
    with tempfile.TemporaryDirectory() as directory:
        for name, content in files.items():
            (Path(directory) / name).write_bytes(content)
        return publish_model(
            s3, model_dir=Path(directory), bucket=bucket, environment=environment, build_id=build_id
        )
