"""Each variant's live figures (predictions, errors, latency) beside the paired comparison: from
CloudWatch's metrics in the cloud, from the request log lines locally (RequestTally)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ops.experiment.feedback_log import VersionPair
from tooling.percentiles import percentile
from torchlambda.contract import CHALLENGER, CHAMPION, Variant
from torchlambda.experiment.request_record import RequestRecord


@dataclass(frozen=True)
class VariantFigures:
    variant: Variant
    model_version: str
    predictions: int
    errors: int
    latency_p50_ms: float | None  # None: no forward pass measured
    latency_p99_ms: float | None


@dataclass(frozen=True)
class LiveFigures:
    variants: tuple[VariantFigures, ...]  # the champion's, then the challenger's (if any)
    # The challenger failed and the champion answered instead (shadow: its run beside the
    # champion's; split: a request assigned to it): no caller saw these.
    challenger_failures: int


@dataclass
class VariantTally:
    predictions: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def figures(self, variant: Variant, model_version: str) -> VariantFigures:
        measured = self.latencies_ms
        return VariantFigures(
            variant=variant,
            model_version=model_version,
            predictions=self.predictions,
            errors=self.errors,
            latency_p50_ms=percentile(measured, 0.50) if measured else None,
            latency_p99_ms=percentile(measured, 0.99) if measured else None,
        )


@dataclass
class PairTally:
    champion: VariantTally = field(default_factory=VariantTally)
    challenger: VariantTally = field(default_factory=VariantTally)
    challenger_failures: int = 0


class RequestTally:
    """Request log lines counted by the version pair that served them, then by variant."""

    def __init__(self) -> None:
        self.pairs: dict[VersionPair, PairTally] = {}

    def add(self, record: RequestRecord) -> None:
        pair = VersionPair(record.champion_version, record.challenger_version)
        tally = self.pairs.setdefault(pair, PairTally())
        answered = tally.challenger if record.variant == CHALLENGER else tally.champion
        answered.predictions += record.predictions
        answered.errors += record.error_code is not None
        if record.latency_ms is not None:
            answered.latencies_ms.append(record.latency_ms)
        shadow = record.shadow
        # A failed shadow run is also the record's challenger_failure: one failure, counted once.
        if record.challenger_failure is not None or (shadow and shadow.failure is not None):
            tally.challenger_failures += 1
        elif shadow is not None:  # the challenger predicted the same x the champion answered
            tally.challenger.predictions += record.predictions
            if shadow.latency_ms is not None:
                tally.challenger.latencies_ms.append(shadow.latency_ms)

    def figures(self, pair: VersionPair) -> LiveFigures:
        tally = self.pairs.get(pair, PairTally())
        variants = [tally.champion.figures(CHAMPION, pair.champion)]
        if pair.challenger is not None:
            variants.append(tally.challenger.figures(CHALLENGER, pair.challenger))
        return LiveFigures(tuple(variants), tally.challenger_failures)
