"""``make bench-serve``'s experiment rows: the same requests without an experiment, in shadow and
in split, side by side in one run.

The challenger is a copy of the champion, so each variant's forward pass costs the same and the
rows show what the experiment itself adds: in shadow one more forward pass over the tensor the
champion ran on, and the INFO line every request logs during an experiment. Peak Python memory
per 10,000-value request (tracemalloc: the request's lists and strings; torch's tensors are not
traced) shows whether shadow allocates anything per value: the challenger's outputs stay a tensor.
Calls are interleaved across the three functions so that background load skews all alike.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from lambda_image.local.function import LocalContext
from lambda_image.local.gateway import to_event
from tooling.percentiles import percentile
from torchlambda import contract
from torchlambda.predictor.digest import sha256_file

Row = tuple[str, str, str, str]
HEADER: Row = ("with an experiment", "none", "shadow", "split (weight 0.5)")
ROUNDS = 20
CALLS_PER_ROUND = 500  # warm GETs per function per round
BATCH_VALUES = 10_000
BATCH_ROUNDS = 15


def experiment_environments(champion: Path, workspace: Path) -> dict[str, dict[str, str]]:
    challenger = workspace / "challenger"
    shutil.copytree(champion, challenger, dirs_exist_ok=True)
    pinned = {
        contract.ENV_CHALLENGER_DIR: str(challenger),
        contract.ENV_CHALLENGER_SHA256: sha256_file(challenger / contract.WEIGHTS_FILE),
    }
    return {
        "none": {contract.ENV_EXPERIMENT: "none"},
        "shadow": {contract.ENV_EXPERIMENT: "shadow", **pinned},
        "split": {contract.ENV_EXPERIMENT: "split", contract.ENV_SPLIT_WEIGHT: "0.5", **pinned},
    }


def load(champion: Path, env: dict[str, str]) -> Callable[[Any], dict[str, Any]]:
    from torchlambda.function import load_function

    function = load_function({**os.environ, contract.ENV_MODEL_DIR: str(champion), **env})
    context = LocalContext()
    return lambda event: function(event, context)


def peak_python_bytes(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()  # once untraced-warm, then measured
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def experiment_rows(champion: Path, workspace: Path) -> list[Row]:
    functions = {
        mode: load(champion, env)
        for mode, env in experiment_environments(champion, workspace).items()
    }
    get = to_event("GET", "/predict?x=42", [], b"", "127.0.0.1")
    body = json.dumps({"x": [i / 100 for i in range(BATCH_VALUES)]}).encode()
    post = to_event("POST", "/predict", [("content-type", "application/json")], body, "127.0.0.1")
    for call in functions.values():
        assert call(get)["statusCode"] == 200 and call(post)["statusCode"] == 200
    warm: dict[str, list[float]] = {mode: [] for mode in functions}
    batch: dict[str, list[float]] = {mode: [] for mode in functions}
    clock = time.perf_counter
    for round_index in range(ROUNDS):
        for mode, call in functions.items():
            for _ in range(CALLS_PER_ROUND):
                started = clock()
                call(get)
                warm[mode].append((clock() - started) * 1e6)
            if round_index < BATCH_ROUNDS:
                started = clock()
                call(post)
                batch[mode].append(clock() - started)
    peak = {mode: peak_python_bytes(partial(call, post)) for mode, call in functions.items()}
    p50 = {mode: percentile(samples, 0.5) for mode, samples in warm.items()}
    return [
        row(
            "warm GET /predict, p50 (p99)",
            {m: f"{p50[m]:.0f} us ({percentile(warm[m], 0.99):.0f} us)" for m in warm},
        ),
        row(
            "  over none, p50",
            {m: "-" if m == "none" else f"+{p50[m] - p50['none']:.0f} us" for m in warm},
        ),
        row(
            f"POST /predict, {BATCH_VALUES:,} values, median",
            {m: f"{BATCH_VALUES / statistics.median(batch[m]):,.0f}/s" for m in batch},
        ),
        row(
            f"peak Python memory, one {BATCH_VALUES:,}-value request",
            {m: f"{peak[m] / 1024:,.0f} KiB" for m in peak},
        ),
    ]


def row(label: str, cells: dict[str, str]) -> Row:
    return (label, cells["none"], cells["shadow"], cells["split"])
