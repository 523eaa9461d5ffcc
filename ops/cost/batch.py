"""What a batch job costs per million rows, beside the online API's cost for the same predictions.

A job (docs/batch.md) is one Standard execution: validate lists the input and writes the manifest,
a Distributed Map starts one Standard child execution per batch of ``max_items_per_batch``
objects, each invoking a worker that streams its objects from S3 and back, and summarize writes
the summary. One job's usage is counted (invocations, seconds, state transitions, S3 requests),
priced, and spread over the job's rows; the online alternative is the same rows sent to the API in
POSTs of ``contract.MAX_BATCH``, priced by ``ops.cost.model.lambda_cost`` on demand (the marginal
price: provisioned concurrency's allocation is paid whatever the predictions are).

Left out: failures and retries (each retried task is one more transition and invocation), rows
rejected into errors/ objects, workers' init (billed once per new execution environment), storage,
data transfer (none inside a region), and the client's own side of either path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.config import EnvironmentConfig
from ops.cost.model import LambdaSetup, MonthlyCost, Workload, lambda_cost, setup_from_config
from ops.cost.prices import PRICES, Prices
from torchlambda.contract import MAX_BATCH

ROWS_PRICED = 1_000_000  # `make cost` prices this many rows each way
# How the rows arrive. Defaults while `make cost` has no flags for them: a job of one object.
ROWS_PER_JOB = 1_000_000
ROWS_PER_OBJECT = 1_000_000
# `make bench-batch` measures ~800,000 rows/s end to end (gzip CSV in, scored gzip CSV out) on two
# vCPUs, the default worker's. A worker's real rate on Lambda depends on the vCPUs its memory buys
# (one per 1,769 MB): measure it from the object reports' rows_read / seconds and pass it in.
WORKER_ROWS_PER_SECOND = 800_000.0
SCORED_CSV_BYTES_PER_ROW = 38.0  # bench-batch's scored CSV, uncompressed
GZIP_RATIO = 0.48  # its gzip output against that (ISA-L level 2, torchlambda.batch.sinks)
OUTPUT_BYTES_PER_ROW = SCORED_CSV_BYTES_PER_ROW * GZIP_RATIO  # ~18.2
JOB_STEP_SECONDS = 1.0  # validate's and summarize's billed duration, each
# bench-batch's comparison row: one warm 10,000-row POST took 13 to 16 ms over its runs (620,000 to
# 780,000 rows/s); the slower is priced.
ONLINE_POST_MS = 16.0

# What the code does, as it does it.
PART_BYTES = 8 << 20  # torchlambda.batch.sinks.PART_BYTES (a test compares them)
LIST_PAGE_KEYS = 1000  # ListObjectsV2 answers at most 1,000 keys a page
# The parent's states, one transition each on success (infra/constructs/batch_job.py).
PARENT_STATES = ("Prepare", "Validate", "ScoreObjects", "Summarize", "Verdict", "JobSucceeded")
# Each child: the transition the Map bills for starting it, and its ScoreBatch task's own.
CHILD_TRANSITIONS = 2
# A job's S3 requests besides its objects' and validate's LIST pages (torchlambda.batch.job, the
# Map's item reader and result writer). PUT-class: the manifest, the result writer's manifest.json
# and SUCCEEDED_0.json, the summary, and summarize's LIST of the results. GET: the manifest (the
# item reader's, summarize's), the results' manifest.json and their SUCCEEDED_0.json.
JOB_PUT_REQUESTS = 5
JOB_GET_REQUESTS = 4


@dataclass(frozen=True)
class BatchSetup:
    """The job's Lambda functions: the workers and the job function (validate, summarize)."""

    worker_memory_mb: int
    job_memory_mb: int
    architecture: str  # both run the inference image, built for the function's architecture
    max_items_per_batch: int = 1  # objects per worker invocation (one child execution)

    def __post_init__(self) -> None:
        if self.max_items_per_batch < 1:
            raise ValueError(f"max_items_per_batch={self.max_items_per_batch} must be >= 1")


@dataclass(frozen=True)
class BatchWorkload:
    rows: float = ROWS_PRICED
    rows_per_job: int = ROWS_PER_JOB
    rows_per_object: int = ROWS_PER_OBJECT
    worker_rows_per_second: float = WORKER_ROWS_PER_SECOND
    output_bytes_per_row: float = OUTPUT_BYTES_PER_ROW
    job_step_seconds: float = JOB_STEP_SECONDS

    def __post_init__(self) -> None:
        for name in ("rows_per_job", "rows_per_object"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        for name in ("rows", "worker_rows_per_second", "output_bytes_per_row", "job_step_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)} must be > 0")


DEFAULT_WORKLOAD = BatchWorkload()


@dataclass(frozen=True)
class JobUsage:
    """What one job uses."""

    objects: int
    # Worker invocations as (how many, rows each): whole batches, then the last one if smaller.
    worker_batches: tuple[tuple[int, int], ...]
    state_transitions: int
    s3_put_requests: int  # PUT, COPY, POST and LIST
    s3_get_requests: int

    @property
    def worker_invocations(self) -> int:
        return sum(count for count, _ in self.worker_batches)


@dataclass(frozen=True)
class BatchCost:
    """The bill for `rows` rows scored in jobs alike, in dollars, line by line."""

    usage: JobUsage  # one job's
    jobs: float  # rows / rows_per_job: the per-job items are spread over the rows priced
    worker_requests: float
    worker_duration: float
    job_requests: float
    job_duration: float
    step_functions: float
    s3_requests: float

    @property
    def lambda_total(self) -> float:
        return self.worker_requests + self.worker_duration + self.job_requests + self.job_duration

    @property
    def total(self) -> float:
        return self.lambda_total + self.step_functions + self.s3_requests


def batch_setup_from_config(config: EnvironmentConfig) -> BatchSetup:
    """The environment's batch settings."""
    batch = config.batch
    return BatchSetup(
        worker_memory_mb=batch.worker_memory_mb,
        job_memory_mb=batch.job_memory_mb,
        architecture=config.function.architecture,
        max_items_per_batch=batch.max_items_per_batch,
    )


def output_requests(rows: int, bytes_per_row: float) -> int:
    """S3 requests that write one object's predictions (torchlambda.batch.sinks.S3ObjectSink):
    one PutObject below a part, else Create + one UploadPart per PART_BYTES begun + Complete."""
    size = rows * bytes_per_row
    if size < PART_BYTES:
        return 1
    return 2 + math.ceil(size / PART_BYTES)


def job_usage(setup: BatchSetup, workload: BatchWorkload) -> JobUsage:
    per_object, per_batch = workload.rows_per_object, setup.max_items_per_batch
    whole, rest = divmod(workload.rows_per_job, per_object)  # whole objects, the last one's rows
    objects = whole + (1 if rest else 0)
    full_batches, left = divmod(whole, per_batch)
    batches = [(full_batches, per_batch * per_object)] if full_batches else []
    if left or rest:  # the last batch: the whole objects left and the smaller last object
        batches.append((1, left * per_object + rest))

    sizes = [(whole, per_object)] + ([(1, rest)] if rest else [])
    # Per object: the requests that write its predictions, then its report's PutObject.
    object_puts = sum(
        count * (output_requests(rows, workload.output_bytes_per_row) + 1) for count, rows in sizes
    )
    invocations = sum(count for count, _ in batches)
    return JobUsage(
        objects=objects,
        worker_batches=tuple(batches),
        state_transitions=len(PARENT_STATES) + CHILD_TRANSITIONS * invocations,
        s3_put_requests=object_puts + math.ceil(objects / LIST_PAGE_KEYS) + JOB_PUT_REQUESTS,
        s3_get_requests=objects + JOB_GET_REQUESTS,
    )


def batch_cost(
    setup: BatchSetup, workload: BatchWorkload = DEFAULT_WORKLOAD, prices: Prices = PRICES
) -> BatchCost:
    usage = job_usage(setup, workload)
    jobs = workload.rows / workload.rows_per_job

    # Lambda as lambda_cost prices it, on demand (HTTP API requests do not apply here).
    worker = LambdaSetup(memory_mb=setup.worker_memory_mb, architecture=setup.architecture)
    workers = [
        lambda_cost(worker, Workload(count, 1000 * rows / workload.worker_rows_per_second), prices)
        for count, rows in usage.worker_batches
    ]
    job_function = LambdaSetup(memory_mb=setup.job_memory_mb, architecture=setup.architecture)
    steps = lambda_cost(job_function, Workload(2, 1000 * workload.job_step_seconds), prices)

    return BatchCost(
        usage=usage,
        jobs=jobs,
        worker_requests=jobs * sum(cost.lambda_requests for cost in workers),
        worker_duration=jobs * sum(cost.lambda_duration for cost in workers),
        job_requests=jobs * steps.lambda_requests,
        job_duration=jobs * steps.lambda_duration,
        step_functions=jobs
        * usage.state_transitions
        * prices.step_functions_per_thousand_transitions
        / 1000,
        s3_requests=jobs
        * (
            usage.s3_put_requests * prices.s3_per_thousand_put_requests
            + usage.s3_get_requests * prices.s3_per_thousand_get_requests
        )
        / 1000,
    )


def online_posts(rows: float, rows_per_post: int = MAX_BATCH) -> int:
    return math.ceil(rows / rows_per_post)


def online_cost(
    setup: LambdaSetup,
    rows: float = ROWS_PRICED,
    rows_per_post: int = MAX_BATCH,
    post_duration_ms: float = ONLINE_POST_MS,
    prices: Prices = PRICES,
) -> MonthlyCost:
    """The API's bill for the same predictions: HTTP API and Lambda requests and duration, one
    POST per `rows_per_post` rows, on demand."""
    posts = online_posts(rows, rows_per_post)
    return lambda_cost(
        setup.without_provisioned_concurrency(), Workload(posts, post_duration_ms), prices
    )


@dataclass(frozen=True)
class BatchComparison:
    """Everything `make cost` reports on batch scoring for one environment."""

    setup: BatchSetup
    workload: BatchWorkload
    batch: BatchCost
    online: MonthlyCost
    online_posts: int
    online_post_duration_ms: float


def compare_batch(
    config: EnvironmentConfig,
    workload: BatchWorkload = DEFAULT_WORKLOAD,
    post_duration_ms: float = ONLINE_POST_MS,
    prices: Prices = PRICES,
) -> BatchComparison:
    setup = batch_setup_from_config(config)
    return BatchComparison(
        setup=setup,
        workload=workload,
        batch=batch_cost(setup, workload, prices),
        online=online_cost(
            setup_from_config(config), workload.rows, MAX_BATCH, post_duration_ms, prices
        ),
        online_posts=online_posts(workload.rows),
        online_post_duration_ms=post_duration_ms,
    )
