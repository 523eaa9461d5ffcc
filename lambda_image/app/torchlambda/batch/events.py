"""The documents a batch job passes between its state machine and its two functions.

The state machine (``infra/constructs/batch_job.py``) builds each payload from these names, and the
functions parse them here, so a renamed field breaks a test, not a job.

=================  =============================================================================
document           shape
=================  =============================================================================
job request        the execution's input: ``{"input": "batch/in/<prefix or key>"}``
validate event     ``{"step": "validate", "request": <job request>, "job_id": <execution name>}``
job                validate's answer: ``{"job_id", "input", "manifest_key", "results_prefix",
                   "objects", "bytes"}``
manifest item      one line of the manifest, one object to score: ``{"key", "etag", "size"}``
worker event       the Map's item batch: ``{"Items": [<manifest item>, ...],
                   "BatchInput": {"job_id": ...}}``
worker result      ``{"objects": [<object report>, ...]}``
summarize event    ``{"step": "summarize", "job": <job>, "started_at": <ISO 8601>,
                   "map_error": {} or {"Error": ..., "Cause": ...}}``
verdict            summarize's answer: ``{"status": "SUCCEEDED" or "FAILED", "error", "cause",
                   "summary_key"}``
=================  =============================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STEP = "step"
VALIDATE = "validate"
SUMMARIZE = "summarize"

# The job request (the execution's input) and the fields of validate's event.
REQUEST = "request"
INPUT = "input"
JOB_ID = "job_id"

# The job, as validate answers it.
MANIFEST_KEY = "manifest_key"
RESULTS_PREFIX = "results_prefix"  # the Map's result writer's prefix (a reference path there)
OBJECTS = "objects"
BYTES = "bytes"

# A manifest item.
KEY = "key"
ETAG = "etag"
SIZE = "size"

# The Map's item batcher.
ITEMS = "Items"
BATCH_INPUT = "BatchInput"

# The summarize event.
JOB = "job"
STARTED_AT = "started_at"
MAP_ERROR = "map_error"

# The verdict.
STATUS = "status"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
ERROR = "error"
CAUSE = "cause"
SUMMARY_KEY = "summary_key"


class EventError(ValueError):
    """An event that is not the document its function expects; the message names the field."""


def field(document: object, name: str, kind: type, where: str) -> Any:
    if not isinstance(document, Mapping):
        raise EventError(f"{where} must be a JSON object")
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise EventError(f"{where}.{name} must be a {kind.__name__}")
    return value


@dataclass(frozen=True)
class ManifestItem:
    key: str
    etag: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {KEY: self.key, ETAG: self.etag, SIZE: self.size}

    @classmethod
    def from_dict(cls, item: Mapping[str, Any], where: str = "item") -> ManifestItem:
        return cls(
            key=field(item, KEY, str, where),
            etag=field(item, ETAG, str, where),
            size=field(item, SIZE, int, where),
        )


@dataclass(frozen=True)
class WorkerEvent:
    job_id: str
    items: tuple[ManifestItem, ...]

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> WorkerEvent:
        items = field(event, ITEMS, list, "event")
        batch_input = field(event, BATCH_INPUT, Mapping, "event")
        return cls(
            job_id=field(batch_input, JOB_ID, str, BATCH_INPUT),
            items=tuple(
                ManifestItem.from_dict(item, f"{ITEMS}[{index}]")
                for index, item in enumerate(items)
            ),
        )


@dataclass(frozen=True)
class ObjectReport:
    """What scoring one input object did; the worker's result lists one per item."""

    key: str
    output_key: str
    errors_key: str | None  # None when no row was rejected (and no errors object written)
    rows_read: int
    rows_predicted: int
    rows_rejected: int
    model_version: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "output_key": self.output_key,
            "errors_key": self.errors_key,
            "rows_read": self.rows_read,
            "rows_predicted": self.rows_predicted,
            "rows_rejected": self.rows_rejected,
            "model_version": self.model_version,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, report: Mapping[str, Any], where: str = "report") -> ObjectReport:
        errors_key = report.get("errors_key") if isinstance(report, Mapping) else None
        if errors_key is not None and not isinstance(errors_key, str):
            raise EventError(f"{where}.errors_key must be a str or null")
        seconds = report.get("seconds") if isinstance(report, Mapping) else None
        if type(seconds) not in (int, float):
            raise EventError(f"{where}.seconds must be a number")
        return cls(
            key=field(report, "key", str, where),
            output_key=field(report, "output_key", str, where),
            errors_key=errors_key,
            rows_read=field(report, "rows_read", int, where),
            rows_predicted=field(report, "rows_predicted", int, where),
            rows_rejected=field(report, "rows_rejected", int, where),
            model_version=field(report, "model_version", str, where),
            seconds=float(seconds),  # type: ignore[arg-type]
        )
