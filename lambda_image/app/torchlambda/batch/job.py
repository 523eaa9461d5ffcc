"""The batch job function: validates a job before the Map runs, and writes its summary after.

``validate`` checks the request, lists the input objects and writes the manifest the Map reads,
so the Map scores exactly the objects (and versions) that were there when the job started.
``summarize`` reads the Map's result writer files (and the objects' reports where a result is
missing), writes ``summary.json`` and answers the verdict the state machine's Choice reads: a job
fails when more objects failed, or more rows were rejected, than the tolerated percentage.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from torchlambda import contract
from torchlambda.aws_clients import s3_client
from torchlambda.batch import events
from torchlambda.batch.events import EventError, ManifestItem, ObjectReport, field
from torchlambda.batch.formats import SUPPORTED_SUFFIXES, is_supported
from torchlambda.batch.inputs import list_inputs
from torchlambda.batch.storage import S3_CONFIG
from torchlambda.settings import Settings, SettingsError, required
from torchlambda.startup import initialize

# Step Functions execution names allow more, but a job id is also an S3 key segment.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
EXAMPLES = 3  # failed objects named in a failed job's cause


class InvalidJob(ValueError):
    """The request cannot be run: the message says what to change."""


@dataclass(frozen=True)
class Failure:
    key: str
    error: str
    cause: str


def validate(event: Mapping[str, Any], s3: Any, bucket: str) -> dict[str, Any]:
    try:
        job_id = field(event, events.JOB_ID, str, "event")
        input_key = field(event.get(events.REQUEST), events.INPUT, str, "request")
    except EventError as error:
        raise InvalidJob(
            f'{error}: start the job with {{"input": "batch/in/<key or prefix>"}}'
        ) from None
    if not JOB_ID.fullmatch(job_id):
        raise InvalidJob(f"job id {job_id!r}: use 1 to 80 of A-Z, a-z, 0-9, - and _")
    if not input_key.startswith(contract.BATCH_INPUT_PREFIX) or input_key.rstrip("/") + "/" == (
        contract.BATCH_INPUT_PREFIX
    ):
        raise InvalidJob(
            f"input {input_key!r}: name a key or prefix below {contract.BATCH_INPUT_PREFIX}, "
            f"such as {contract.BATCH_INPUT_PREFIX}scores.csv.gz"
        )
    items = list_inputs(s3, bucket, input_key)
    unsupported = [item.key for item in items if not is_supported(item.key)]
    if unsupported:
        raise InvalidJob(
            f"{len(unsupported)} object(s) under {input_key} are not batch inputs "
            f"(first: {unsupported[0]}); name them *{', *'.join(SUPPORTED_SUFFIXES)}"
        )
    if not items:
        raise InvalidJob(f"nothing to score: no object s3://{bucket}/{input_key}")
    manifest_key = contract.batch_manifest_key(job_id)
    s3.put_object(
        Bucket=bucket,
        Key=manifest_key,
        Body=b"".join(orjson.dumps(item.to_dict()) + b"\n" for item in items),
        ContentType="application/jsonl",
    )
    return {
        events.JOB_ID: job_id,
        events.INPUT: input_key,
        events.MANIFEST_KEY: manifest_key,
        # Without the slash: the writer adds `/<Map Run id>/manifest.json` below it.
        events.RESULTS_PREFIX: contract.batch_results_prefix(job_id).rstrip("/"),
        events.OBJECTS: len(items),
        events.BYTES: sum(item.size for item in items),
    }


def summarize(
    event: Mapping[str, Any],
    s3: Any,
    bucket: str,
    tolerated_failure_percentage: float,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    job = event.get(events.JOB)
    job_id = field(job, events.JOB_ID, str, events.JOB)
    started_at = _timestamp(field(event, events.STARTED_AT, str, "event"))
    finished_at = now or dt.datetime.now(dt.UTC)
    map_error = event.get(events.MAP_ERROR) or {}
    items = _manifest(s3, bucket, field(job, events.MANIFEST_KEY, str, events.JOB))
    reports, failures = _map_results(s3, bucket, job_id)
    for item in items:
        if item.key not in reports and (report := _report(s3, bucket, job_id, item)):
            reports[item.key] = report
    outputs = [reports[item.key] for item in items if item.key in reports]
    failed = [
        failures.get(item.key)
        or Failure(item.key, "NotScored", "no result was recorded for this object")
        for item in items
        if item.key not in reports
    ]
    rows_read = sum(report.rows_read for report in outputs)
    rows_rejected = sum(report.rows_rejected for report in outputs)
    status, error, cause = verdict(
        map_error,
        objects=len(items),
        failed=failed,
        rows_read=rows_read,
        rows_rejected=rows_rejected,
        tolerated=tolerated_failure_percentage,
    )
    summary = {
        "job_id": job_id,
        "input": field(job, events.INPUT, str, events.JOB),
        "status": status,
        "error": error,
        "cause": cause,
        "model_versions": sorted({report.model_version for report in outputs}),
        "objects": {"total": len(items), "succeeded": len(outputs), "failed": len(failed)},
        "rows": {
            "read": rows_read,
            "predicted": sum(report.rows_predicted for report in outputs),
            "rejected": rows_rejected,
            "rejected_percentage": _percentage(rows_rejected, rows_read),
        },
        "tolerated_failure_percentage": tolerated_failure_percentage,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "seconds": round((finished_at - started_at).total_seconds(), 3),
        "outputs": [report.to_dict() for report in outputs],
        "failed_objects": [
            {"key": failure.key, "error": failure.error, "cause": failure.cause}
            for failure in failed
        ],
    }
    summary_key = contract.batch_summary_key(job_id)
    s3.put_object(
        Bucket=bucket,
        Key=summary_key,
        Body=orjson.dumps(summary, option=orjson.OPT_INDENT_2),
        ContentType="application/json",
    )
    return {
        events.STATUS: status,
        events.ERROR: error,
        events.CAUSE: cause,
        events.SUMMARY_KEY: summary_key,
    }


def _percentage(part: int, whole: int) -> float:
    return round(100 * part / whole, 6) if whole else 0.0


def verdict(
    map_error: Mapping[str, Any],
    *,
    objects: int,
    failed: list[Failure],
    rows_read: int,
    rows_rejected: int,
    tolerated: float,
) -> tuple[str, str | None, str | None]:
    """SUCCEEDED, or FAILED with an error name and a cause: the Map failed, or more objects
    failed, or more rows were rejected, than `tolerated` percent."""
    if map_error.get("Error"):
        return events.FAILED, str(map_error["Error"]), str(map_error.get("Cause") or "")
    # Unrounded: 1 row in 10^9 is 1e-7%, which rounds to 0 and would pass a tolerance of 0.
    failed_share = 100 * len(failed) / objects if objects else 0.0
    if failed and failed_share > tolerated:
        examples = "; ".join(f"{f.key}: {f.error}: {f.cause}" for f in failed[:EXAMPLES])
        return (
            events.FAILED,
            "ObjectsFailed",
            f"{len(failed)} of {objects} objects failed ({failed_share:g}% > {tolerated:g}% "
            f"tolerated): {examples}",
        )
    rejected_share = 100 * rows_rejected / rows_read if rows_read else 0.0
    if rows_rejected and rejected_share > tolerated:
        return (
            events.FAILED,
            "RowsRejected",
            f"{rows_rejected} of {rows_read} rows were rejected ({rejected_share:g}% > "
            f"{tolerated:g}% tolerated); each is in the job's errors/ objects with its line "
            "number and reason",
        )
    return events.SUCCEEDED, None, None


def _timestamp(text: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise EventError(f"event.{events.STARTED_AT} {text!r} is not an ISO 8601 time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    return orjson.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _manifest(s3: Any, bucket: str, key: str) -> list[ManifestItem]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return [ManifestItem.from_dict(orjson.loads(line)) for line in body.splitlines() if line]


def _map_results(
    s3: Any, bucket: str, job_id: str
) -> tuple[dict[str, ObjectReport], dict[str, Failure]]:
    """What the result writer recorded, run after run (a redrive adds a run): later wins."""
    listed = [
        entry
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=contract.batch_results_prefix(job_id)
        )
        for entry in page.get("Contents", [])
        if entry["Key"].endswith("/manifest.json")
    ]
    reports: dict[str, ObjectReport] = {}
    failures: dict[str, Failure] = {}
    for entry in sorted(listed, key=lambda entry: entry["LastModified"]):
        files = _get_json(s3, bucket, entry["Key"]).get("ResultFiles", {})
        for kind in ("FAILED", "SUCCEEDED"):
            for result_file in files.get(kind, []):
                for record in _get_json(s3, bucket, result_file["Key"]):
                    _record(kind, record, reports, failures)
    return reports, failures


def _record(
    kind: str,
    record: Mapping[str, Any],
    reports: dict[str, ObjectReport],
    failures: dict[str, Failure],
) -> None:
    if kind == "SUCCEEDED":
        for report in orjson.loads(record["Output"])["objects"]:
            parsed = ObjectReport.from_dict(report)
            reports[parsed.key] = parsed
            failures.pop(parsed.key, None)
        return
    for item in orjson.loads(record["Input"])[events.ITEMS]:
        key = item[events.KEY]
        failures[key] = Failure(key, str(record.get("Error")), str(record.get("Cause")))


def _report(s3: Any, bucket: str, job_id: str, item: ManifestItem) -> ObjectReport | None:
    try:
        return ObjectReport.from_dict(
            _get_json(s3, bucket, contract.batch_report_key(job_id, item.key))
        )
    except ClientError as error:
        # A missing key is a 403 where the caller may not list it (the role lists by prefix).
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied"):
            return None
        raise


class BatchJob:
    """The job function's handler: routes each step to its function."""

    def __init__(self, *, s3: Any, bucket: str, tolerated_failure_percentage: float) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.tolerated = tolerated_failure_percentage

    def __call__(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        step = event.get(events.STEP) if isinstance(event, Mapping) else None
        if step == events.VALIDATE:
            return validate(event, self.s3, self.bucket)
        if step == events.SUMMARIZE:
            return summarize(event, self.s3, self.bucket, self.tolerated)
        raise EventError(f"event.step must be {events.VALIDATE!r} or {events.SUMMARIZE!r}")


def tolerated_percentage(environ: Mapping[str, str]) -> float:
    raw = required(environ, contract.ENV_TOLERATED_FAILURE_PERCENTAGE)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise SettingsError(
            f"{contract.ENV_TOLERATED_FAILURE_PERCENTAGE}={raw!r}: expected a number in 0..100"
        )
    return value


def load_job(environ: Mapping[str, str]) -> BatchJob:
    def build(settings: Settings, logger: Logger) -> BatchJob:
        return BatchJob(
            s3=s3_client(S3_CONFIG),
            bucket=required(environ, contract.ENV_ARTIFACTS_BUCKET),
            tolerated_failure_percentage=tolerated_percentage(environ),
        )

    return initialize(environ, build)
