"""``make bench-serve``: warm latency, batch throughput, cold start and memory of the handler, side
by side with the book's load-per-request approach, printed as a table.

Timings on a shared machine are noisy: latencies are percentiles of many calls; cold starts are the
fastest of interleaved runs, in wall time and in CPU time (which other load barely moves); nothing
here asserts.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lambda_image.local.function import LocalContext, model_dir
from tooling.percentiles import percentile
from torchlambda.contract import ENV_MODEL_DIR, WEIGHTS_FILE

REPO = Path(__file__).resolve().parents[2]
WARM_CALLS = 20_000
BOOK_CALLS = 1_000
BATCH_CALLS = 30
BATCH_SIZE = 10_000
RSS_CALLS = 100_000
COLD_RUNS = 5
READY = "os.write(2, b'READY\\n')"
COLD_CHILDREN = {
    "torch": f"import os, torch; {READY}",
    "torch + Powertools": (
        f"import os, torch; from aws_lambda_powertools import Logger, Metrics; {READY}"
    ),
    "handler": (
        "import os; from lambda_image.local.function import LocalContext, load_local_function; "
        "load_local_function()({'queryStringParameters': {'x': '42'}}, LocalContext()); " + READY
    ),
}
Row = tuple[str, str, str, str]


def timed(call: Callable[[], Any], repeats: int) -> list[float]:
    clock = time.perf_counter
    samples = []
    for _ in range(repeats):
        started = clock()
        call()
        samples.append(clock() - started)
    return samples


def rss_kib() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class ColdStart:
    wall_s: float  # spawn to the READY line: what a caller waits for
    cpu_s: float  # user + system time of the whole process: robust to other load on the machine


def spawn_until_ready(code: str, env: dict[str, str]) -> ColdStart:
    """Run a Python child that writes READY to stderr after its first response."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    ready = any(line.startswith("READY") for line in child.stderr)
    wall = time.perf_counter() - started
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 or not ready:
        raise RuntimeError(f"cold-start child failed: {code}")
    return ColdStart(wall, usage.ru_utime + usage.ru_stime)


def cold_starts(env: dict[str, str]) -> dict[str, ColdStart]:
    """Fastest of interleaved runs of each child, so that background load skews them alike."""
    variants = {**COLD_CHILDREN, "handler, tracing on": COLD_CHILDREN["handler"]}
    envs = dict.fromkeys(variants, env)
    envs["handler, tracing on"] = {**env, "POWERTOOLS_TRACE_DISABLED": "false"}
    runs: dict[str, list[ColdStart]] = {name: [] for name in variants}
    for _ in range(COLD_RUNS):
        for name, code in variants.items():
            runs[name].append(spawn_until_ready(code, envs[name]))
    return {
        name: ColdStart(min(r.wall_s for r in found), min(r.cpu_s for r in found))
        for name, found in runs.items()
    }


def ensure_model(workspace: Path) -> tuple[Path, str]:
    """The committed model if there is one, else an untrained default-architecture stand-in."""
    if (model_dir() / WEIGHTS_FILE).is_file():
        return model_dir(), str(model_dir())
    import torch  # only needed to write the stand-in

    from torchlambda.predictor.architecture import build_model

    torch.manual_seed(0)
    torch.save(build_model().state_dict(), workspace / WEIGHTS_FILE)
    return workspace, f"untrained stand-in (no model in {model_dir()} yet)"


def warm_rows(directory: Path) -> list[Row]:
    os.environ[ENV_MODEL_DIR] = str(directory)
    from lambda_image.local.book_handler import predict_loading_every_time
    from lambda_image.local.function import load_local_function

    handler = load_local_function()
    context = LocalContext()
    get_event = json.loads((REPO / "lambda_image/events/predict-get.json").read_text())
    post_event = json.loads((REPO / "lambda_image/events/predict-post-batch.json").read_text())
    post_event["body"] = json.dumps({"x": [i / 100 for i in range(BATCH_SIZE)]})
    for event in (get_event, post_event):
        assert handler(event, context)["statusCode"] == 200

    timed(lambda: handler(get_event, context), 2_000)
    warm = timed(lambda: handler(get_event, context), WARM_CALLS)
    book = timed(lambda: predict_loading_every_time(directory, 42.0), BOOK_CALLS)
    batch = timed(lambda: handler(post_event, context), BATCH_CALLS)
    before = rss_kib()
    for _ in range(RSS_CALLS):
        handler(get_event, context)
    growth_mib = (rss_kib() - before) / 1024

    warm_us, book_us = [s * 1e6 for s in warm], [s * 1e6 for s in book]
    ours, theirs = percentile(warm_us, 0.5), percentile(book_us, 0.5)
    batch_s, batch_best_s = statistics.median(batch), min(batch)
    return [
        (
            "warm GET /predict, p50 (p99)",
            f"{ours:.0f} us ({percentile(warm_us, 0.99):.0f} us)",
            f"{theirs:.0f} us ({percentile(book_us, 0.99):.0f} us)",
            "<= 80 us",
        ),
        ("  speed-up over loading per request", f"{theirs / ours:.0f}x", "1x", ">= 15x"),
        (
            f"POST /predict, {BATCH_SIZE:,} values, median (best)",
            f"{BATCH_SIZE / batch_s:,.0f}/s ({BATCH_SIZE / batch_best_s:,.0f}/s, "
            f"{batch_best_s * 1e3:.1f} ms)",
            "-",
            ">= 1,000,000/s",
        ),
        (f"RSS growth over {RSS_CALLS:,} invocations", f"{growth_mib:.2f} MiB", "-", "< 5 MiB"),
    ]


def cold_rows(cold: dict[str, ColdStart]) -> list[Row]:
    def both(name: str, minus: str | None = None) -> str:
        wall, cpu = cold[name].wall_s, cold[name].cpu_s
        if minus is None:
            return f"{wall * 1e3:.0f} ms wall, {cpu * 1e3:.0f} ms CPU"
        wall, cpu = wall - cold[minus].wall_s, cpu - cold[minus].cpu_s
        return f"{wall * 1e3:+.0f} ms wall, {cpu * 1e3:+.0f} ms CPU"

    limit = (cold["torch"].wall_s + 0.3) * 1e3
    return [
        ("cold start: process to first response", both("handler"), "-", f"<= {limit:.0f} ms"),
        ("  python -c 'import torch'", both("torch"), "-", "reference"),
        ("  handler over import torch", both("handler", "torch"), "-", "<= +300 ms"),
        ("  Powertools Logger + Metrics import", both("torch + Powertools", "torch"), "-", "kept"),
        (
            "  X-Ray tracing on (Tracer)",
            both("handler, tracing on", "handler"),
            "-",
            "off by default",
        ),
    ]


def print_table(rows: list[Row], out: TextIO) -> None:
    header = ("measure", "this handler", "book: load per request", "target")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |",
            file=out,
        )


def main() -> int:
    # The handler logs and prints EMF to stdout, as on Lambda: to /dev/null here, unlike the table.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    with tempfile.TemporaryDirectory() as workspace:
        directory, described = ensure_model(Path(workspace))
        print(
            f"model: {described}; TORCH_NUM_THREADS={os.environ.get('TORCH_NUM_THREADS', '1')}",
            file=out,
        )
        print(f"cold starts: {COLD_RUNS} interleaved runs each ...", file=out, flush=True)
        cold = cold_starts({**os.environ, ENV_MODEL_DIR: str(directory)})
        print("warm calls ...", file=out, flush=True)
        rows = warm_rows(directory) + cold_rows(cold)
    print_table(rows, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
