"""`make ab-report`'s live figures: each variant's EMF metrics from CloudWatch.

The function's EMF lines put predictions, errors (one series per error code), model_latency and
challenger_failures in METRIC_NAMESPACE, dimensioned by service, model_version and variant.
ListMetrics finds the compared pair's series (error codes are not known in advance); GetMetricData
reads each over the whole window as one period, so sums add up and a percentile is the window's own
(percentiles of shorter periods could not be combined).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ops.experiment.feedback_log import VersionPair
from ops.experiment.variants import LiveFigures, VariantFigures
from torchlambda.contract import (
    CHALLENGER,
    CHAMPION,
    DIMENSION_MODEL_VERSION,
    DIMENSION_VARIANT,
    METRIC_CHALLENGER_FAILURES,
    METRIC_ERRORS,
    METRIC_MODEL_LATENCY,
    METRIC_NAMESPACE,
    METRIC_PREDICTIONS,
    SERVICE_NAME,
    Variant,
)

SERVICE_DIMENSION = "service"  # Powertools' own dimension: the function's service name
# The latency series of one variant: exactly these dimensions (percentiles of two series would not
# combine into one).
LATENCY_DIMENSIONS = frozenset({SERVICE_DIMENSION, DIMENSION_MODEL_VERSION, DIMENSION_VARIANT})
MAX_QUERIES = 500  # GetMetricData's limit per call
# Whole hours are a valid period however far back the window starts (CloudWatch asks for multiples
# of 60 s, 300 s and 3,600 s once the start is over 3 hours, 15 days and 63 days old).
PERIOD_UNIT_S = 3_600

Dimensions = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Query:
    metric: str
    dimensions: Dimensions
    stat: str  # Sum, p50 or p99


def live_figures(
    cloudwatch: Any, pair: VersionPair, start: datetime.datetime, end: datetime.datetime
) -> LiveFigures:
    """Both variants' figures over [start, end]: zero (or no latency) where nothing was logged."""
    queries: list[Query] = []
    for metric in (METRIC_PREDICTIONS, METRIC_ERRORS):
        queries += [
            Query(metric, dims, "Sum")
            for dims in list_series(cloudwatch, metric)
            if variant_of(dims, pair) is not None
        ]
    for dims in list_series(cloudwatch, METRIC_MODEL_LATENCY):
        if variant_of(dims, pair) is not None and {name for name, _ in dims} == LATENCY_DIMENSIONS:
            queries += [Query(METRIC_MODEL_LATENCY, dims, stat) for stat in ("p50", "p99")]
    versions = {pair.champion, pair.challenger}
    queries += [
        Query(METRIC_CHALLENGER_FAILURES, dims, "Sum")
        for dims in list_series(cloudwatch, METRIC_CHALLENGER_FAILURES)
        if dict(dims).get(DIMENSION_MODEL_VERSION) in versions
    ]
    values = read_values(cloudwatch, queries, start, end)

    def total(metric: str, variant: Variant | None = None) -> int:
        """The metric's sum over its series (of one variant, or of both)."""
        return round(
            sum(
                sum(found)
                for query, found in values.items()
                if query.metric == metric
                and (variant is None or variant_of(query.dimensions, pair) == variant)
            )
        )

    def latency(variant: Variant, stat: str) -> float | None:
        for query, found in values.items():
            if (
                query.metric == METRIC_MODEL_LATENCY
                and query.stat == stat
                and found
                and variant_of(query.dimensions, pair) == variant
            ):
                return found[0]  # one period: one value
        return None

    variants: list[tuple[Variant, str]] = [(CHAMPION, pair.champion)]
    if pair.challenger is not None:
        variants.append((CHALLENGER, pair.challenger))
    return LiveFigures(
        variants=tuple(
            VariantFigures(
                variant=variant,
                model_version=version,
                predictions=total(METRIC_PREDICTIONS, variant),
                errors=total(METRIC_ERRORS, variant),
                latency_p50_ms=latency(variant, "p50"),
                latency_p99_ms=latency(variant, "p99"),
            )
            for variant, version in variants
        ),
        challenger_failures=total(METRIC_CHALLENGER_FAILURES),
    )


def variant_of(dimensions: Dimensions, pair: VersionPair) -> Variant | None:
    """The variant of `pair` a series measures, or None for a series of other versions."""
    named = dict(dimensions)
    version = named.get(DIMENSION_MODEL_VERSION)
    variant = named.get(DIMENSION_VARIANT)
    if variant == CHAMPION and version == pair.champion:
        return CHAMPION
    if variant == CHALLENGER and pair.challenger is not None and version == pair.challenger:
        return CHALLENGER
    return None


def list_series(cloudwatch: Any, metric: str) -> set[Dimensions]:
    """The dimension sets `metric` has data under for the function's service."""
    pages = cloudwatch.get_paginator("list_metrics").paginate(
        Namespace=METRIC_NAMESPACE,
        MetricName=metric,
        Dimensions=[{"Name": SERVICE_DIMENSION, "Value": SERVICE_NAME}],
    )
    return {
        frozenset((item["Name"], item["Value"]) for item in found.get("Dimensions", []))
        for page in pages
        for found in page.get("Metrics", [])
    }


def read_values(
    cloudwatch: Any, queries: Iterable[Query], start: datetime.datetime, end: datetime.datetime
) -> dict[Query, list[float]]:
    """Each query's values over [start, end] as one period (whole minutes, whole hours long)."""
    start = start.replace(second=0, microsecond=0)
    end = end.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    period = PERIOD_UNIT_S * math.ceil((end - start).total_seconds() / PERIOD_UNIT_S)
    ordered = list(queries)
    values: dict[Query, list[float]] = {query: [] for query in ordered}
    for first in range(0, len(ordered), MAX_QUERIES):
        by_id = {f"q{first + i}": query for i, query in enumerate(ordered[first:][:MAX_QUERIES])}
        pages = cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=[
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": METRIC_NAMESPACE,
                            "MetricName": query.metric,
                            "Dimensions": [
                                {"Name": name, "Value": value}
                                for name, value in sorted(query.dimensions)
                            ],
                        },
                        "Period": period,
                        "Stat": query.stat,
                    },
                }
                for query_id, query in by_id.items()
            ],
            StartTime=start,
            EndTime=end,
        )
        for page in pages:
            for result in page.get("MetricDataResults", []):
                values[by_id[result["Id"]]].extend(float(v) for v in result.get("Values", []))
    return values
