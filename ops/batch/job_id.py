"""A batch job's id, the state machine execution's name, derived from what it scores.

The same objects scored by the same model get the same id, so starting a job twice runs it once;
a changed object (its ETag), another key or a new model version makes a new job. Step Functions
allows 1 to 80 characters of ``[A-Za-z0-9-_]`` in a name: a slug of the input (at most
``SLUG_CHARS``), a dash and ``DIGEST_HEX`` hex digits of the sha256.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from torchlambda.batch.events import ManifestItem
from torchlambda.contract import BATCH_INPUT_PREFIX

SLUG_CHARS = 40
DIGEST_HEX = 24
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,80}")


def slug(name: str) -> str:
    """`name` in the characters an execution name allows: runs of others become one dash."""
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:SLUG_CHARS].rstrip("-")
    return text or "job"


def job_id(input_location: str, model_version: str, objects: Iterable[ManifestItem]) -> str:
    """`<slug of the input below batch/in/>-<first 24 hex of the sha256>`.

    The digest covers the model version, the job's input (prefix or key) and every object's key
    and ETag, in key order: the order S3 lists them in does not matter.
    """
    listed = sorted((item.key, item.etag) for item in objects)
    document = json.dumps(
        {"model_version": model_version, "input": input_location, "objects": listed},
        separators=(",", ":"),
    )
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()[:DIGEST_HEX]
    name = input_location.removeprefix(BATCH_INPUT_PREFIX).rstrip("/")
    return f"{slug(name)}-{digest}"
