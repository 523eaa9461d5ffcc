"""A batch job without a model: what the real one leaves in S3 (docs/batch.md), written by a
runner of the Step Functions stand-in, so `make batch` has something true to follow and report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.ops.aws_stand_ins import RunnerContext, RunResult
from tests.ops.batch.conftest import MODEL_VERSION
from torchlambda.batch.inputs import list_inputs
from torchlambda.contract import (
    batch_errors_key,
    batch_output_key,
    batch_report_key,
    batch_summary_key,
)

REJECTED_ROW = "bad"  # a row the fake model refuses


def rows_of(body: bytes) -> list[str]:
    return [line for line in body.decode().splitlines() if line.strip()]


@dataclass
class FakeJob:
    """Scores each input object (a row `bad` is rejected, the others get `,0.5`), one item a
    step; the objects named in `failing[attempt]` fail on that attempt. `validate_error` fails the
    job before its map (no summary). A redrive scores only the objects without predictions."""

    s3: Any
    bucket: str
    stepped: bool = False
    failing: dict[int, set[str]] = field(default_factory=dict)
    validate_error: tuple[str, str] | None = None
    tolerated_rejected_percentage: float = 50.0
    attempts: list[list[str]] = field(default_factory=list)  # the keys scored, per attempt

    def __call__(self, context: RunnerContext) -> RunResult:
        location = context.job_input["input"]
        job_id = context.job_id
        if self.stepped:
            context.step()  # the follower sees the job before its map
        if self.validate_error:
            return RunResult("FAILED", *self.validate_error)
        keys = [item.key for item in list_inputs(self.s3, self.bucket, location)]
        done = [key for key in keys if self._exists(batch_output_key(job_id, key))]
        scored: list[str] = []
        failed: list[str] = []
        succeeded = len(done)
        context.items(total=len(keys), succeeded=succeeded)
        for key in keys:
            if key in done:
                continue
            if key in self.failing.get(context.attempt, set()):
                failed.append(key)
            else:
                self._score(job_id, key)
                scored.append(key)
                succeeded += 1
            context.items(total=len(keys), succeeded=succeeded, failed=len(failed))
            if self.stepped:
                context.step()
        self.attempts.append(scored)
        return self._summarize(job_id, location, keys, failed)

    def _exists(self, key: str) -> bool:
        return bool(self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key).get("KeyCount"))

    def _score(self, job_id: str, key: str) -> None:
        """Predictions, rejected rows, then the object's report (written last, as the worker
        does: a report means the object is done)."""
        rows = rows_of(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        good = [row for row in rows if row != REJECTED_ROW]
        bad = [number for number, row in enumerate(rows, start=1) if row == REJECTED_ROW]
        if bad:
            errors = "".join(
                json.dumps({"line": number, "reason": "x is not a number"}) + "\n" for number in bad
            )
            self.s3.put_object(
                Bucket=self.bucket, Key=batch_errors_key(job_id, key), Body=errors.encode()
            )
        self.s3.put_object(
            Bucket=self.bucket,
            Key=batch_output_key(job_id, key),
            Body="".join(f"{row},0.5\n" for row in good).encode(),
        )
        report = {
            "key": key,
            "output_key": batch_output_key(job_id, key),
            "errors_key": batch_errors_key(job_id, key) if bad else None,
            "rows_read": len(rows),
            "rows_predicted": len(good),
            "rows_rejected": len(bad),
            "model_version": MODEL_VERSION,
            "seconds": 0.25,
        }
        self.s3.put_object(
            Bucket=self.bucket, Key=batch_report_key(job_id, key), Body=json.dumps(report).encode()
        )

    def _summarize(
        self, job_id: str, location: str, keys: list[str], failed: list[str]
    ) -> RunResult:
        outputs: list[dict[str, Any]] = []
        for key in keys:
            if key not in failed:
                body = self.s3.get_object(Bucket=self.bucket, Key=batch_report_key(job_id, key))
                outputs.append(json.loads(body["Body"].read()))
        read = sum(int(report["rows_read"]) for report in outputs)
        predicted = sum(int(report["rows_predicted"]) for report in outputs)
        rejected = sum(int(report["rows_rejected"]) for report in outputs)
        share = 100.0 * rejected / read if read else 0.0
        error = cause = None
        if failed:
            error = "ObjectsFailed"
            cause = f"{len(failed)} of {len(keys)} objects failed, more than 0% tolerated"
        elif share > self.tolerated_rejected_percentage:
            error = "RowsRejected"
            cause = (
                f"{rejected} of {read} rows rejected ({share:g}%), more than "
                f"{self.tolerated_rejected_percentage:g}% tolerated"
            )
        status = "FAILED" if error else "SUCCEEDED"
        summary = {
            "job_id": job_id,
            "input": location,
            "status": status,
            "error": error,
            "cause": cause,
            "model_versions": [MODEL_VERSION],
            "objects": {"total": len(keys), "succeeded": len(outputs), "failed": len(failed)},
            "rows": {
                "read": read,
                "predicted": predicted,
                "rejected": rejected,
                "rejected_percentage": round(share, 4),
            },
            "tolerated_failure_percentage": 0.0,
            "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:00:42Z",
            "seconds": 42.1,
            "outputs": outputs,
            "failed_objects": [
                {"key": key, "error": "Worker.Crashed", "cause": "out of memory"} for key in failed
            ],
        }
        self.s3.put_object(
            Bucket=self.bucket, Key=batch_summary_key(job_id), Body=json.dumps(summary).encode()
        )
        return RunResult(status, error, cause, output={"status": status})
