"""``make bench-serve``: warm latency, batch throughput, cold start and memory of the handler, side
by side with the book's load-per-request approach, printed as a table; then what Lambda would bill:
the image's entry point under the Lambda Runtime Interface Emulator (`lambda_image.local.rie`),
each invocation's Duration from the emulator's REPORT line, beside a constant handler's under the
same emulator in the same run (the floor: the runtime interface client and the emulator's own
exchange, which no handler can go below).

Timings on a shared machine are noisy: latencies are percentiles of many calls; cold starts are the
fastest of interleaved runs, in wall time and in CPU time (which other load barely moves); the
emulated functions are invoked in turn, so that background load skews both alike; nothing here
asserts.
"""

from __future__ import annotations

import contextlib
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

from lambda_image.local import rie
from lambda_image.local.bench_experiments import HEADER as EXPERIMENT_HEADER
from lambda_image.local.bench_experiments import experiment_rows
from lambda_image.local.bench_model_sources import HEADER as MODEL_SOURCE_HEADER
from lambda_image.local.bench_model_sources import model_source_rows
from lambda_image.local.function import LocalContext, model_dir
from tooling.percentiles import percentile
from torchlambda.contract import CARD_FILE, ENV_MODEL_DIR, WEIGHTS_FILE

REPO = Path(__file__).resolve().parents[2]
WARM_CALLS = 20_000
BOOK_CALLS = 1_000
BATCH_CALLS = 30
BATCH_SIZE = 10_000
RSS_CALLS = 100_000
COLD_RUNS = 5
EMULATED_CALLS = 2_000  # warm invocations of each function under the emulator, in turn
# The floor: a handler that does nothing, run by the image's ENTRYPOINT as its CMD.
FLOOR_HANDLER = 'def handler(event, context):\n    return {"statusCode": 200, "body": "{}"}\n'
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
HEADER: Row = ("measure", "this handler", "book: load per request", "target")
EMULATED_HEADER: Row = (
    "under the Lambda RIE (its REPORT lines)",
    "this handler",
    "constant handler (floor)",
    "over the floor",
)


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
    runs: dict[str, list[ColdStart]] = {name: [] for name in COLD_CHILDREN}
    for _ in range(COLD_RUNS):
        for name, code in COLD_CHILDREN.items():
            runs[name].append(spawn_until_ready(code, env))
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
    ]


@dataclass(frozen=True)
class Emulated:
    """One function under the emulator: its warm invocations' REPORT lines and its init."""

    durations_ms: list[float]
    billed_ms: list[float]
    init_ms: float
    peak_rss_kib: int | None


def emulated(directory: Path, workspace: Path) -> dict[str, Emulated]:
    """The image's command for the model in `directory`, and the floor, under the emulator."""
    installed = rie.ensure()
    limits = rie.deployed_limits()
    floor_root = workspace / "floor"
    floor_root.mkdir()
    (floor_root / "floor.py").write_text(FLOOR_HANDLER, encoding="utf-8")
    for sandbox in ("handler-tmp", "floor-tmp"):
        (workspace / sandbox).mkdir()
    commands = {
        "handler": rie.image_command(workspace / "handler-tmp", model_dir=directory),
        "floor": rie.image_command(
            workspace / "floor-tmp", function_root=floor_root, handler="floor.handler"
        ),
    }
    event = json.loads((REPO / "lambda_image/events/predict-get.json").read_text())
    with contextlib.ExitStack() as running:
        emulators = {
            name: running.enter_context(rie.start(installed.emulator, command, limits))
            for name, command in commands.items()
        }
        for name, emulator in emulators.items():
            _invoked(name, emulator, event)  # the first invocation runs the init: not counted
        reports: dict[str, list[rie.Report]] = {name: [] for name in emulators}
        for _ in range(EMULATED_CALLS):
            for name, emulator in emulators.items():
                reports[name].append(_invoked(name, emulator, event))
        return {
            name: Emulated(
                durations_ms=[r.duration_ms for r in reports[name]],
                billed_ms=[r.billed_duration_ms for r in reports[name]],
                init_ms=emulator.init_reports[0].duration_ms,
                peak_rss_kib=emulator.runtime_peak_rss_kib(),
            )
            for name, emulator in emulators.items()
        }


def _invoked(name: str, emulator: rie.Emulator, event: Any) -> rie.Report:
    invocation = emulator.invoke(event)
    if invocation.report is None or invocation.payload.get("statusCode") != 200:
        log = emulator.log[-1] if emulator.log else "no log"
        raise RuntimeError(f"{name} under the emulator: {invocation.body[:200]!r} ({log})")
    return invocation.report


def emulated_rows(runs: dict[str, Emulated]) -> list[Row]:
    handler, floor = runs["handler"], runs["floor"]

    def ms(value: float, sign: str = "") -> str:
        whole = abs(value) >= 100 or value.is_integer()
        return f"{value:{sign}.0f} ms" if whole else f"{value:{sign}.2f} ms"

    def row(label: str, ours: float, theirs: float) -> Row:
        return (label, ms(ours), ms(theirs), ms(ours - theirs, "+"))

    rows = [
        row(
            f"warm Duration, p{round(fraction * 100)}"
            + (f" of {EMULATED_CALLS:,} invocations" if fraction == 0.5 else ""),
            percentile(handler.durations_ms, fraction),
            percentile(floor.durations_ms, fraction),
        )
        for fraction in (0.5, 0.9, 0.99)
    ]
    rows.append(
        row(
            "Billed Duration, p50",
            percentile(handler.billed_ms, 0.5),
            percentile(floor.billed_ms, 0.5),
        )
    )
    rows.append(row("Init Duration (its INIT REPORT)", handler.init_ms, floor.init_ms))
    if handler.peak_rss_kib is not None and floor.peak_rss_kib is not None:
        ours, theirs = handler.peak_rss_kib / 1024, floor.peak_rss_kib / 1024
        rows.append(
            (
                "peak RSS of the runtime (VmHWM)",
                f"{ours:.0f} MiB",
                f"{theirs:.0f} MiB",
                f"{ours - theirs:+.0f} MiB",
            )
        )
    return rows


def print_table(rows: list[Row], out: TextIO, header: Row = HEADER) -> None:
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
        print(
            f"under the Lambda RIE: {EMULATED_CALLS:,} invocations of each, in turn ...",
            file=out,
            flush=True,
        )
        try:
            runs = emulated(directory, Path(workspace))
        except rie.RieError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print_table(emulated_rows(runs), out, EMULATED_HEADER)
    print("the same function with an experiment on, interleaved ...", file=out, flush=True)
    with tempfile.TemporaryDirectory() as workspace:
        print_table(experiment_rows(directory, Path(workspace)), out, EXPERIMENT_HEADER)
    if (directory / CARD_FILE).is_file():  # S3 and EFS serve only carded builds
        print(
            "init per model source (S3: moto on 127.0.0.1; EFS: a local directory) ...",
            file=out,
            flush=True,
        )
        with tempfile.TemporaryDirectory() as workspace:
            print_table(model_source_rows(directory, Path(workspace)), out, MODEL_SOURCE_HEADER)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
