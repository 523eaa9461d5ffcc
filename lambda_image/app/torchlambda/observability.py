"""Logs and metrics with aws-lambda-powertools, and what one invocation reports.

Per request the cost matters (the whole prediction takes tens of microseconds): without an
experiment a successful request logs only at DEBUG, and one EMF line carries its metrics; refusals
log a WARNING with the error code and x, never the body. With an experiment every request logs its
line at INFO (the request id, the variant, both versions and, in shadow, both outputs: the
experiment's record), a challenger fault at WARNING; the challenger's own figures (its shadow run,
its faults) go out as a second EMF line under its own version and variant. Feedback logs one INFO
line per FEEDBACK_PAIRS_PER_EVENT pairs. Traces come from Lambda's active tracing alone: the
function calls no other service, and the X-Ray SDK (with the botocore it pulls in) would add tens of
MB to the image and about 0.3 s to every cold start for no subsegment worth having.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from torchlambda.api import Outcome
from torchlambda.contract import (
    CHALLENGER,
    DIMENSION_ERROR_CODE,
    DIMENSION_MODEL_VERSION,
    DIMENSION_VARIANT,
    METRIC_CHALLENGER_FAILURES,
    METRIC_ERRORS,
    METRIC_MODEL_LATENCY,
    METRIC_PREDICTIONS,
)
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE
from torchlambda.experiment.request_record import RequestRecord
from torchlambda.experiment.variants import Variants

SERVED_MESSAGE = "request served"
FEEDBACK_METRIC = "feedback_pairs"


def create_metrics(service: str, namespace: str) -> Metrics:
    return Metrics(service=service, namespace=namespace)


class Observer:
    """Logs and counts each outcome; `metrics` None when metrics are off."""

    def __init__(
        self, variants: Variants, logger: Logger, metrics: Metrics | None, namespace: str
    ) -> None:
        self.variants = variants
        self.logger = logger
        self.metrics = metrics
        # Each level's logging method, looked up once rather than per request.
        self._log_at = {
            logging.DEBUG: logger.debug,
            logging.INFO: logger.info,
            logging.WARNING: logger.warning,
            logging.ERROR: logger.error,
        }
        # The challenger's figures need a dimension set of their own: an isolated metrics object.
        self._challenger_metrics = (
            EphemeralMetrics(namespace=namespace, service=metrics.service)
            if metrics is not None and variants.challenger is not None
            else None
        )

    def record(self, outcome: Outcome) -> None:
        if self.metrics is not None:
            self._count(outcome, self.metrics)
        if self._challenger_metrics is not None:
            self._count_challenger(outcome, self._challenger_metrics)
        for event in outcome.feedback:
            self.logger.info(FEEDBACK_MESSAGE, extra=event.fields())
        self._log(outcome)

    def _log(self, outcome: Outcome) -> None:
        error = outcome.error
        level = _level(outcome, self.variants)
        if level < self.logger.log_level:
            return  # the common case without an experiment: no fields built at all
        fields = {**self._record(outcome).fields(), **_request_fields(outcome)}
        self._log_at[level](SERVED_MESSAGE if error is None else error.message, extra=fields)

    def _record(self, outcome: Outcome) -> RequestRecord:
        served, error, variants = outcome.served, outcome.error, self.variants
        variant = served.variant if served is not None else outcome.variant
        return RequestRecord(
            request_id=outcome.request_id,
            route=outcome.route,
            status=outcome.response.get("statusCode", 0),
            experiment=variants.mode,
            variant=variant,
            model_version=variants.version_of(variant),
            champion_version=variants.champion.version,
            challenger_version=variants.challenger_version,
            predictions=outcome.predictions,
            latency_ms=None if served is None else round(served.latency_ms, 4),
            error_code=None if error is None else error.code,
            challenger_failure=_challenger_failure(outcome),
            shadow=None if served is None else served.shadow,
        )

    def _count(self, outcome: Outcome, metrics: Metrics) -> None:
        # Per invocation rather than default dimensions: Powertools shares those across instances.
        served = outcome.served
        variant = served.variant if served is not None else outcome.variant
        metrics.add_dimension(name=DIMENSION_MODEL_VERSION, value=self.variants.version_of(variant))
        metrics.add_dimension(name=DIMENSION_VARIANT, value=variant)
        error = outcome.error
        if error is not None:
            metrics.add_dimension(name=DIMENSION_ERROR_CODE, value=error.code)
            metrics.add_metric(name=METRIC_ERRORS, unit=MetricUnit.Count, value=1)
            return
        if served is not None:
            metrics.add_metric(name=METRIC_PREDICTIONS, unit=MetricUnit.Count, value=len(served.ys))
            metrics.add_metric(
                name=METRIC_MODEL_LATENCY, unit=MetricUnit.Milliseconds, value=served.latency_ms
            )
        elif outcome.feedback:
            metrics.add_metric(
                name=FEEDBACK_METRIC, unit=MetricUnit.Count, value=outcome.batch_size or 0
            )
        else:
            metrics.add_metric(name="health_checks", unit=MetricUnit.Count, value=1)
        if outcome.batch_size is not None:
            metrics.add_metric(name="batch_size", unit=MetricUnit.Count, value=outcome.batch_size)

    def _count_challenger(self, outcome: Outcome, metrics: EphemeralMetrics) -> None:
        """The challenger's shadow run, or its fault, under its own version and variant."""
        served = outcome.served
        shadow = None if served is None else served.shadow
        failed = _challenger_failure(outcome) is not None
        if shadow is None and not failed:
            return
        metrics.add_dimension(
            name=DIMENSION_MODEL_VERSION, value=self.variants.version_of(CHALLENGER)
        )
        metrics.add_dimension(name=DIMENSION_VARIANT, value=CHALLENGER)
        if failed:
            metrics.add_metric(name=METRIC_CHALLENGER_FAILURES, unit=MetricUnit.Count, value=1)
        elif served is not None and shadow is not None and shadow.latency_ms is not None:
            metrics.add_metric(name=METRIC_PREDICTIONS, unit=MetricUnit.Count, value=len(served.ys))
            metrics.add_metric(
                name=METRIC_MODEL_LATENCY, unit=MetricUnit.Milliseconds, value=shadow.latency_ms
            )
        metrics.flush_metrics()


def _challenger_failure(outcome: Outcome) -> str | None:
    served = outcome.served
    if served is not None:
        if served.challenger_failure is not None:
            return served.challenger_failure
        if served.shadow is not None:
            return served.shadow.failure
    return outcome.feedback_failure


def _level(outcome: Outcome, variants: Variants) -> int:
    error = outcome.error
    if error is not None:
        return logging.ERROR if error.status >= 500 else logging.WARNING
    if _challenger_failure(outcome) is not None:
        return logging.WARNING
    return logging.INFO if variants.challenger is not None else logging.DEBUG


def _request_fields(outcome: Outcome) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if outcome.x is not None:
        fields["x"] = outcome.x
    if outcome.batch_size is not None:
        fields["batch_size"] = outcome.batch_size
    return fields
