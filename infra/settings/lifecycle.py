"""The model lifecycle: what starts a retrain, what the candidate is scored on, the gate it must
pass to become the champion (docs/lifecycle.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from infra.settings.batch import MAX_LAMBDA_TIMEOUT_S
from infra.settings.function import MAX_MEMORY_MB, MIN_MEMORY_MB
from torchlambda import contract
from torchlambda.lifecycle.gate import Gate

# EventBridge's two schedule forms: rate(1 day), rate(7 days), cron(0 3 ? * MON *).
_SCHEDULE = re.compile(r"rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\)")
# Step Functions waits this long for a build (the project's own timeout plus its queue).
MAX_TRAINING_MINUTES = 8 * 60


@dataclass(frozen=True)
class LifecycleSettings:
    # An EventBridge schedule expression, e.g. "rate(7 days)"; None: no scheduled retrains.
    schedule: str | None = None
    # Retrain when an object is created under data/ (S3 sends its events to EventBridge).
    retrain_on_new_data: bool = False
    # Both models are scored on the same rows: a key under data/ (book CSV, y,x), or
    # contract.CANDIDATE_TEST_SPLIT for the test split the candidate's training held out.
    evaluation_set: str = contract.CANDIDATE_TEST_SPLIT
    gate: Gate = field(default_factory=Gate)
    training_timeout_minutes: int = 120
    evaluator_memory_mb: int = 1769
    evaluator_timeout_seconds: int = 600

    @property
    def evaluates_on_holdout(self) -> bool:
        return self.evaluation_set != contract.CANDIDATE_TEST_SPLIT

    @property
    def evaluation_set_description(self) -> str:
        return (
            f"`{self.evaluation_set}`"
            if self.evaluates_on_holdout
            else "the candidate's test split"
        )

    @property
    def triggers_description(self) -> str:
        """What starts a retrain, for people: `make retrain` always does."""
        triggers = [f"`{self.schedule}`"] if self.schedule else []
        if self.retrain_on_new_data:
            triggers.append("new data")
        return ", ".join([*triggers, "`make retrain`"])

    def faults(self) -> Iterator[str]:
        if self.schedule is not None and not _SCHEDULE.fullmatch(self.schedule):
            yield (
                f"lifecycle schedule={self.schedule!r} is not an EventBridge schedule: use "
                "e.g. 'rate(7 days)' or 'cron(0 3 ? * MON *)', or None"
            )
        if not contract.names_an_evaluation_set(self.evaluation_set):
            yield (
                f"lifecycle evaluation_set={self.evaluation_set!r} must be an object under "
                f"{contract.DATA_PREFIX} (e.g. {contract.DEFAULT_HOLDOUT_KEY!r}) or "
                f"{contract.CANDIDATE_TEST_SPLIT!r}"
            )
        yield from (f"lifecycle {fault}" for fault in self.gate.faults())
        if not 1 <= self.training_timeout_minutes <= MAX_TRAINING_MINUTES:
            yield (
                f"lifecycle training_timeout_minutes={self.training_timeout_minutes} must be "
                f"1..{MAX_TRAINING_MINUTES}"
            )
        if not MIN_MEMORY_MB <= self.evaluator_memory_mb <= MAX_MEMORY_MB:
            yield (
                f"lifecycle evaluator_memory_mb={self.evaluator_memory_mb} is outside Lambda's "
                f"{MIN_MEMORY_MB}..{MAX_MEMORY_MB}"
            )
        if not 1 <= self.evaluator_timeout_seconds <= MAX_LAMBDA_TIMEOUT_S:
            yield (
                f"lifecycle evaluator_timeout_seconds={self.evaluator_timeout_seconds} must be "
                f"1..{MAX_LAMBDA_TIMEOUT_S} (Lambda's limit)"
            )
