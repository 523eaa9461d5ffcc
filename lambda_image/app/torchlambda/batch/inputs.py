"""The objects a job request names: every supported object under a prefix, or one key.

Shared by the job's validation (which writes them into the manifest) and the CLI (which derives
the job's id from them), so both see the same objects.
"""

from __future__ import annotations

from typing import Any

from torchlambda.batch.events import ManifestItem


def names(input_key: str, key: str) -> bool:
    """Whether a request for `input_key` covers `key`: the key itself, or a key below it as a
    folder (`batch/in/a.csv` does not cover `batch/in/a.csv.gz`)."""
    if key.endswith("/"):
        return False  # a console-made "folder"
    if input_key.endswith("/"):
        return key.startswith(input_key)
    return key == input_key or key.startswith(input_key + "/")


def list_inputs(s3: Any, bucket: str, input_key: str) -> list[ManifestItem]:
    """The objects `input_key` names, by key, with the ETags they have now."""
    items: list[ManifestItem] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=input_key):
        items.extend(
            ManifestItem(key=entry["Key"], etag=entry["ETag"], size=entry["Size"])
            for entry in page.get("Contents", [])
            if names(input_key, entry["Key"])
        )
    return sorted(items, key=lambda item: item.key)
