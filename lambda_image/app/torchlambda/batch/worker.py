"""The batch worker: scores the S3 objects of one item batch of the Distributed Map.

For each item it streams the object (``If-Match`` its manifest ETag, so an object changed since
validation fails instead of mixing two versions), writes the predictions and the rejected rows
under the job's prefix, then the object's report. An object that cannot be scored (bad gzip, no x
column, changed or missing) raises: the Map counts the item as failed, against the tolerated
percentage, and a redrive runs it again. Outputs are keyed by job and input, so a rerun
overwrites them with the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from torchlambda import contract
from torchlambda.aws_clients import s3_client
from torchlambda.batch.events import ManifestItem, ObjectReport, WorkerEvent
from torchlambda.batch.formats import format_of
from torchlambda.batch.model import BatchModel, load_batch_model
from torchlambda.batch.scoring import score_stream
from torchlambda.batch.sinks import LazySink, S3ObjectSink
from torchlambda.batch.storage import S3_CONFIG
from torchlambda.function import MODEL_REFUSALS
from torchlambda.observability import create_metrics
from torchlambda.settings import Settings, required
from torchlambda.startup import initialize

ERRORS_CONTENT_TYPE = "application/jsonl"


class InputChanged(RuntimeError):
    """The object is not the version the job's manifest recorded (or is gone)."""


class BatchWorker:
    def __init__(
        self,
        *,
        model: BatchModel,
        s3: Any,
        bucket: str,
        logger: Logger,
        metrics: Metrics | None = None,
    ) -> None:
        self.model = model
        self.s3 = s3
        self.bucket = bucket
        self.logger = logger
        self.metrics = metrics

    def __call__(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        request = WorkerEvent.parse(event)
        reports = [self.score_object(request.job_id, item) for item in request.items]
        if self.metrics is not None:
            _count(reports, self.metrics)
        return {"objects": [report.to_dict() for report in reports]}

    def score_object(self, job_id: str, item: ManifestItem) -> ObjectReport:
        started = time.perf_counter()
        input_format = format_of(item.key)
        output_key = contract.batch_output_key(job_id, item.key)
        errors_key = contract.batch_errors_key(job_id, item.key)
        errors = LazySink(
            lambda: S3ObjectSink(self.s3, self.bucket, errors_key, content_type=ERRORS_CONTENT_TYPE)
        )
        body = self._open(item)
        try:
            counts = score_stream(
                body,
                input_format,
                predict=self.model.predict,
                max_abs_x=self.model.max_abs_x,
                output=S3ObjectSink(
                    self.s3,
                    self.bucket,
                    output_key,
                    content_type=input_format.content_type,
                    content_encoding=input_format.content_encoding,
                ),
                errors=errors,
            )
        finally:
            body.close()
        report = ObjectReport(
            key=item.key,
            output_key=output_key,
            errors_key=errors_key if errors.opened else None,
            rows_read=counts.rows_read,
            rows_predicted=counts.rows_predicted,
            rows_rejected=counts.rows_rejected,
            model_version=self.model.version,
            seconds=round(time.perf_counter() - started, 3),
        )
        self.s3.put_object(
            Bucket=self.bucket,
            Key=contract.batch_report_key(job_id, item.key),
            Body=orjson.dumps(report.to_dict()),
            ContentType="application/json",
        )
        self.logger.info("object scored", extra=report.to_dict())
        return report

    def _open(self, item: ManifestItem) -> Any:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=item.key, IfMatch=item.etag)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "412"):
                raise InputChanged(
                    f"{item.key} changed after the job listed it (ETag {item.etag}); "
                    "start a new job to score the new version"
                ) from None
            # Without s3:ListBucket (the worker has none), S3 answers a missing key with 403.
            if code in ("NoSuchKey", "404", "AccessDenied", "403"):
                raise InputChanged(
                    f"{item.key} was deleted after the job listed it, or cannot be read"
                ) from None
            raise
        return answer["Body"]


def _count(reports: list[ObjectReport], metrics: Metrics) -> None:
    for name, value in (
        ("rows_read", sum(report.rows_read for report in reports)),
        ("rows_predicted", sum(report.rows_predicted for report in reports)),
        ("rows_rejected", sum(report.rows_rejected for report in reports)),
        ("objects_scored", len(reports)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()


def load_worker(environ: Mapping[str, str]) -> BatchWorker:
    """Init of the worker function: the verified model (as the online function loads it), S3."""

    def build(settings: Settings, logger: Logger) -> BatchWorker:
        bucket = required(environ, contract.ENV_ARTIFACTS_BUCKET)
        return BatchWorker(
            model=load_batch_model(settings, logger),
            s3=s3_client(S3_CONFIG),
            bucket=bucket,
            logger=logger,
            metrics=None
            if settings.metrics_disabled
            else create_metrics(settings.service, settings.metrics_namespace),
        )

    return initialize(environ, build, MODEL_REFUSALS)
