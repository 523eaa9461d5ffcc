"""Batch scoring: the Lambda workers a job fans out over, the Distributed Map's limits, the job
function that validates and summarizes (docs/batch.md).

One Map item is one manifest line, that is one whole S3 object, so ``max_items_per_batch`` stays 1
unless the inputs are many small objects: a worker invocation then scores several of them, which
saves invocations and child executions but puts them all in one 15-minute window, and one failed
object fails the whole batch (all its items count as failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from infra.settings.function import MAX_MEMORY_MB, MIN_MEMORY_MB

MAX_LAMBDA_TIMEOUT_S = 900  # Lambda's limit; a Standard child execution waits as long


@dataclass(frozen=True)
class BatchSettings:
    # 3,538 MB is two vCPUs (Lambda gives one per 1,769 MB): the worker's reader and writer threads
    # run beside its single-threaded forward pass. `make bench-batch` measured 825,000 rows/s on two
    # and 520,000 on one: 59% faster for 26% more GB-s per row (docs/batch.md).
    worker_memory_mb: int = 3538
    worker_timeout_seconds: int = MAX_LAMBDA_TIMEOUT_S
    worker_reserved_concurrency: int = 10
    # The Map's MaxConcurrency: strictly below the workers' reservation (see faults).
    max_concurrency: int = 8
    # Of the Map's items (objects), and of the rows the job may reject, before a job fails: the
    # Map's ToleratedFailurePercentage, and the job function's TOLERATED_FAILURE_PERCENTAGE.
    tolerated_failure_percentage: float = 1.0
    max_items_per_batch: int = 1  # the Map's ItemBatcher (see above)
    job_memory_mb: int = 512
    job_timeout_seconds: int = 300

    def faults(self) -> Iterator[str]:
        for name, memory in (
            ("batch worker_memory_mb", self.worker_memory_mb),
            ("batch job_memory_mb", self.job_memory_mb),
        ):
            if not MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB:
                yield f"{name}={memory} is outside Lambda's {MIN_MEMORY_MB}..{MAX_MEMORY_MB}"
        for name, timeout in (
            ("batch worker_timeout_seconds", self.worker_timeout_seconds),
            ("batch job_timeout_seconds", self.job_timeout_seconds),
        ):
            if not 1 <= timeout <= MAX_LAMBDA_TIMEOUT_S:
                yield f"{name}={timeout} must be 1..{MAX_LAMBDA_TIMEOUT_S} (Lambda's limit)"
        if self.max_concurrency < 1:
            yield (
                f"batch max_concurrency={self.max_concurrency} must be >= 1 "
                "(0 would mean unlimited to the Map)"
            )
        if self.worker_reserved_concurrency < 1:
            yield (
                f"batch worker_reserved_concurrency={self.worker_reserved_concurrency} must be "
                ">= 1: the workers need a reservation of their own"
            )
        elif self.max_concurrency >= self.worker_reserved_concurrency:
            yield (
                f"batch max_concurrency={self.max_concurrency} must be below "
                f"worker_reserved_concurrency={self.worker_reserved_concurrency}, so a job never "
                "needs more workers than reserved (with headroom for an invocation still ending "
                "while its retry starts): lower max_concurrency or raise the reservation"
            )
        if not 0 <= self.tolerated_failure_percentage <= 100:
            yield (
                f"batch tolerated_failure_percentage={self.tolerated_failure_percentage} "
                "must be 0..100"
            )
        if self.max_items_per_batch < 1:
            yield (
                f"batch max_items_per_batch={self.max_items_per_batch} must be >= 1 "
                "(1: one object per worker invocation)"
            )
