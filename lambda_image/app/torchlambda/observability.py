"""Logs and metrics with aws-lambda-powertools, and what one invocation reports.

Per request the cost matters (the whole prediction takes tens of microseconds): a successful
request logs only at DEBUG, and one EMF line carries its metrics; refusals log a WARNING with the
error code and x, never the body. Traces come from Lambda's active tracing alone: the function
calls no other service, and the X-Ray SDK (with the botocore it pulls in) would add tens of MB to
the image and about 0.3 s to every cold start for no subsegment worth having.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from torchlambda.api import Outcome


def create_metrics(service: str, namespace: str) -> Metrics:
    return Metrics(service=service, namespace=namespace)


def record(outcome: Outcome, model_version: str, logger: Logger, metrics: Metrics | None) -> None:
    if metrics is not None:
        count(outcome, model_version, metrics)
    if outcome.error is None:
        logger.debug("request served", extra=_fields(outcome))
        return
    error = outcome.error
    fields = {**_fields(outcome), "status": error.status, "error_code": error.code}
    if error.status >= 500:
        logger.error(error.message, extra=fields)
    else:
        logger.warning(error.message, extra=fields)


def count(outcome: Outcome, model_version: str, metrics: Metrics) -> None:
    # Per invocation rather than a default dimension: Powertools shares those across instances.
    metrics.add_dimension(name="model_version", value=model_version)
    error = outcome.error
    if error is not None:
        metrics.add_dimension(name="error_code", value=error.code)
        metrics.add_metric(name="errors", unit=MetricUnit.Count, value=1)
        return
    if outcome.predictions:
        metrics.add_metric(name="predictions", unit=MetricUnit.Count, value=outcome.predictions)
    else:
        metrics.add_metric(name="health_checks", unit=MetricUnit.Count, value=1)
    if outcome.batch_size is not None:
        metrics.add_metric(name="batch_size", unit=MetricUnit.Count, value=outcome.batch_size)


def _fields(outcome: Outcome) -> dict[str, Any]:
    fields: dict[str, Any] = {"route": outcome.route}
    if outcome.x is not None:
        fields["x"] = outcome.x
    if outcome.batch_size is not None:
        fields["batch_size"] = outcome.batch_size
    return fields
