"""Follow one batch job on one status line: the execution's status, the Distributed Map's item
counts, and the rows of the objects scored so far, every few seconds until it ends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ops.model.build_watch import format_elapsed
from tooling.status_line import StatusLine
from torchlambda.batch.events import EventError, ObjectReport
from torchlambda.contract import batch_job_prefix

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def pause(seconds: float) -> None:
    """The wait between polls (a name of its own, so a test can step a job between them)."""
    time.sleep(seconds)


def predictions_prefix(job_id: str) -> str:
    return batch_job_prefix(job_id) + "predictions/"


def reports_prefix(job_id: str) -> str:
    """Where the worker writes each object's report once its predictions are written
    (`contract.batch_report_key`)."""
    return batch_job_prefix(job_id) + "reports/"


@dataclass
class Rows:
    read: int = 0
    predicted: int = 0
    rejected: int = 0

    def __add__(self, other: Rows) -> Rows:
        return Rows(
            self.read + other.read,
            self.predicted + other.predicted,
            self.rejected + other.rejected,
        )


def rows_of(body: bytes) -> Rows:
    """An object report's row counts; a report that is not one counts no rows."""
    try:
        report = ObjectReport.from_dict(json.loads(body))
    except (ValueError, EventError):
        return Rows()
    return Rows(report.rows_read, report.rows_predicted, report.rows_rejected)


@dataclass
class RowCounter:
    """Sums the rows of the objects a job has scored, from their reports: each report (each
    version of it: a redriven item writes its report again) is read once, however often the job
    is polled."""

    s3: Any
    bucket: str
    job_id: str
    seen: dict[str, tuple[str, Rows]] = field(default_factory=dict)

    def update(self) -> Rows:
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=reports_prefix(self.job_id))
        for page in pages:
            for item in page.get("Contents", []):
                key, etag = item["Key"], item["ETag"]
                if key in self.seen and self.seen[key][0] == etag:
                    continue
                answer = self.s3.get_object(Bucket=self.bucket, Key=key)
                self.seen[key] = (answer.get("ETag", etag), rows_of(answer["Body"].read()))
        return self.total

    @property
    def total(self) -> Rows:
        return sum((rows for _, rows in self.seen.values()), Rows())


def describe_items(counts: dict[str, int] | None) -> str:
    if counts is None:
        return "items not listed yet"
    failed = counts.get("failed", 0) + counts.get("timedOut", 0) + counts.get("aborted", 0)
    done = counts.get("succeeded", 0) + failed
    return f"items {done:,}/{counts.get('total', 0):,} done ({failed:,} failed)"


def describe_rows(rows: Rows) -> str:
    return f"rows {rows.predicted:,} predicted ({rows.rejected:,} rejected)"


def started_at(execution: dict[str, Any]) -> float | None:
    """When the current attempt started: the last redrive's date, or the start."""
    moment = execution.get("redriveDate") or execution.get("startDate")
    return moment.timestamp() if isinstance(moment, datetime) else None


class JobFollower:
    """Polls DescribeExecution, ListMapRuns, DescribeMapRun and the job's predictions."""

    def __init__(
        self,
        sfn: Any,
        s3: Any,
        bucket: str,
        display: StatusLine,
        *,
        poll_seconds: float = 5.0,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.sfn, self.s3, self.bucket, self.display = sfn, s3, bucket, display
        self.poll_seconds, self.now = poll_seconds, now
        self.sleep = sleep or self._pause

    @staticmethod
    def _pause(seconds: float) -> None:
        pause(seconds)  # the module's, looked up at each call

    def follow(self, execution_arn: str, job_id: str, *, redrive_count: int = 0) -> dict[str, Any]:
        """DescribeExecution's answer once the execution has ended.

        After a redrive, an ended status counts only once the execution's `redriveCount` has
        reached `redrive_count` (a status read just after the redrive may still be the old one).
        A KeyboardInterrupt ends the line and goes on up: the job is not touched.
        """
        rows = RowCounter(self.s3, self.bucket, job_id)
        try:
            while True:
                execution = dict(self.sfn.describe_execution(executionArn=execution_arn))
                status = str(execution["status"])
                counts = self.item_counts(execution_arn)
                total = rows.update()
                begun = started_at(execution)
                elapsed = format_elapsed(max(0.0, self.now() - begun)) if begun else "-"
                progress = f"{describe_items(counts)}, {describe_rows(total)}"
                self.display.status(f"{status} {elapsed}, {progress}", key=f"{status} {progress}")
                ended = status in TERMINAL_STATUSES
                if ended and int(execution.get("redriveCount", 0)) >= redrive_count:
                    self.display.finish()
                    return execution
                self.sleep(self.poll_seconds)
        except KeyboardInterrupt:
            self.display.finish()
            raise

    def item_counts(self, execution_arn: str) -> dict[str, int] | None:
        """The Distributed Map's item counts, or None before its Map Run exists."""
        runs = self.sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])
        if not runs:
            return None
        latest = max(runs, key=lambda run: run["startDate"])
        described = self.sfn.describe_map_run(mapRunArn=latest["mapRunArn"])
        return {name: int(value) for name, value in described.get("itemCounts", {}).items()}
