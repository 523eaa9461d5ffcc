"""``make bench-batch``: batch scoring's rows per second and peak memory, end to end through the
worker's code, beside the online handler's POST throughput on the same model.

A 5M-row gzip CSV in the book's layout (generated once under .bench/) is scored gzip CSV in, gzip
CSV out, by ``make batch-local``'s code (the worker's ``score_stream`` with local files), in a child
process so that its peak RSS is its own, pinned to one CPU and then to two: a Lambda function gets
one vCPU per 1,769 MB. Each is run RUNS times, in turn, and its median shown with the range (a
shared machine is noisy); nothing here asserts.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from isal import isal_zlib

from lambda_image.local.bench import Row, print_table, timed
from lambda_image.local.function import LocalContext, load_local_function
from torchlambda import contract

REPO = Path(__file__).resolve().parents[2]
ROWS = 5_000_000
INPUT = REPO / ".bench" / "batch" / f"book-{ROWS}.csv.gz"
POST_SIZE, POST_CALLS = 10_000, 30
RUNS = 3
TARGET_ROWS_PER_S = 700_000
TARGET_RSS_MIB = 400
HEADER: Row = ("path", f"rows/s, median of {RUNS} (range)", "peak RSS", "target")
# The worker's CPUs, as the memory setting buys them (infra/settings/batch.py).
WORKERS: tuple[tuple[str, frozenset[int]], ...] = (
    ("1 vCPU (a 1,769 MB worker)", frozenset({0})),
    ("2 vCPUs (3,538 MB, the default worker)", frozenset({0, 1})),
)
# As the image sets them (lambda_image/Dockerfile): one thread for torch and its libraries.
ONE_THREAD = dict.fromkeys((contract.ENV_TORCH_THREADS, *contract.LIBRARY_THREAD_VARIABLES), "1")


def generate(path: Path, rows: int) -> None:
    """The book's `y,x` rows over the serving domain's everyday range, written once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    partial = path.with_suffix(".tmp")
    compressor = isal_zlib.compressobj(2, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    with partial.open("wb") as out:
        for _ in range(rows // 10_000):
            xs = [rng.uniform(-100, 100) for _ in range(10_000)]
            text = "".join(f"{0.05 * x * x:.6f},{x:.6f}\n" for x in xs)
            out.write(compressor.compress(text.encode()))
        out.write(compressor.flush())
    partial.rename(path)


def child(source: Path, output: Path, cpus: set[int]) -> None:
    """Score `source` into `output` on `cpus` and print one JSON line: rows, seconds, peak RSS."""
    from lambda_image.local.batch import load_model, score_file

    os.sched_setaffinity(0, cpus)
    model = load_model()
    scored = score_file(source, output, output.with_name(output.name + ".errors.jsonl"), model)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"rows": scored.counts.rows_read, "seconds": scored.seconds, "rss_mib": peak_mib}
        )
    )


def scored(cpus: frozenset[int]) -> dict[str, float]:
    """One child process's run on `cpus`: rows, seconds, peak RSS."""
    with tempfile.TemporaryDirectory() as workspace:
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "lambda_image.local.bench_batch",
                "--child",
                str(INPUT),
                str(Path(workspace) / "out.csv.gz"),
                ",".join(map(str, sorted(cpus))),
            ],
            env={**os.environ, **ONE_THREAD},
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def scored_rows(workers: tuple[tuple[str, frozenset[int]], ...]) -> list[Row]:
    """Each worker size's runs, taken in turn so that a noisy minute falls on all of them."""
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in workers}
    for _ in range(RUNS):
        for label, cpus in workers:
            runs[label].append(scored(cpus))
    rows: list[Row] = []
    for label, results in runs.items():
        rates = [result["rows"] / result["seconds"] for result in results]
        rows.append(
            (
                f"batch worker code (score_stream), {label}",
                f"{statistics.median(rates):,.0f} ({min(rates):,.0f} to {max(rates):,.0f})",
                f"{max(result['rss_mib'] for result in results):.0f} MiB",
                f">= {TARGET_ROWS_PER_S:,}/s, < {TARGET_RSS_MIB} MiB",
            )
        )
    return rows


def post_row() -> Row:
    handler = load_local_function()
    event = json.loads((REPO / "lambda_image/events/predict-post-batch.json").read_text())
    event["body"] = json.dumps({"x": [i / 100 for i in range(POST_SIZE)]})
    context = LocalContext()
    assert handler(event, context)["statusCode"] == 200
    median = statistics.median(timed(lambda: handler(event, context), POST_CALLS))
    return (
        f"online handler, POST /predict of {POST_SIZE:,} (for comparison)",
        f"{POST_SIZE / median:,.0f} (median of {POST_CALLS})",
        "-",
        "-",
    )


def main() -> int:
    if not INPUT.exists():
        print(f"generating {INPUT} ({ROWS:,} rows) ...", flush=True)
        generate(INPUT, ROWS)
    workers = tuple((label, cpus) for label, cpus in WORKERS if cpus <= os.sched_getaffinity(0))
    print(f"scoring {INPUT.name}: gzip CSV in, gzip CSV out, {RUNS} runs each ...", flush=True)
    # One torch thread: the reader and writer threads use the second vCPU, and more torch threads
    # would oversubscribe the cores (measured: several times slower).
    rows = scored_rows(workers)
    # The handler logs and prints EMF to stdout, as on Lambda: to /dev/null here, unlike the table.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    rows.append(post_row())
    print_table(rows, out, HEADER)
    out.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]), {int(cpu) for cpu in sys.argv[4].split(",")})
        sys.exit(0)
    sys.exit(main())
