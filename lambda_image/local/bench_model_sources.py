"""Init time per model source, for `make bench-serve`: the image, S3 at init, EFS in place.

For the shipped model, the whole init (`load_function`: settings, the source's step, load and
verify, the API) per source, the fastest of a few runs. For a synthetic 1 GB state_dict, the
source's step alone (download and verify, or verify in place) and `torch.load` of it: the served
architecture's bounds (predictor/architecture.py) keep an MLP of that size from being served, but
the bytes travel and are hashed as any model's would.

S3 is moto in server mode on 127.0.0.1 and EFS a local directory: loopback bandwidth, not AWS's.
The table says what each implies; docs/model-sources.md sets it beside Lambda's network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from torchlambda import contract
from torchlambda.function import load_function
from torchlambda.model_sources.efs_source import check_efs_build
from torchlambda.model_sources.s3_source import download_model
from torchlambda.model_sources.transfer import model_s3_client
from torchlambda.predictor.digest import sha256_file
from torchlambda.settings import S3Model

BUCKET = "torchlambda-bench-model-sources"
PREFIX = contract.model_prefix("bench", "build-1")
INIT_RUNS = 3
SYNTHETIC_BYTES = 1 << 30
Row = tuple[str, str, str, str]
HEADER: Row = ("init per model source", "shipped model", "1 GB state_dict: source step", "implies")


@contextlib.contextmanager
def moto_s3() -> Iterator[None]:
    """A moto server on 127.0.0.1 behind AWS_ENDPOINT_URL, with stand-in credentials."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def publish(client: Any, directory: Path) -> str:
    """The directory's card and weights under PREFIX; the weights' sha256."""
    for name in (contract.CARD_FILE, contract.WEIGHTS_FILE):
        client.upload_file(str(directory / name), BUCKET, PREFIX + name)
    return sha256_file(directory / contract.WEIGHTS_FILE)


def fastest(run: Callable[[], None], before: Callable[[], None], runs: int = INIT_RUNS) -> float:
    best = float("inf")
    for _ in range(runs):
        before()
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def synthetic_model(directory: Path) -> Path:
    """A 1 GB state_dict and a card recording its sha256."""
    directory.mkdir(parents=True)
    weights = directory / contract.WEIGHTS_FILE
    torch.save({"weight": torch.ones(SYNTHETIC_BYTES // 4)}, weights)
    card = {"schema_version": 2, "sha256": sha256_file(weights)}
    (directory / contract.CARD_FILE).write_text(json.dumps(card))
    return directory


def shipped_inits(model: Path, workspace: Path, client: Any) -> dict[str, float]:
    """Seconds of the whole init per source, the shipped model's card and weights."""
    sha256 = publish(client, model)
    download = workspace / "download"
    mount = workspace / "mount" / "build-1"
    shutil.copytree(model, mount)
    base = {contract.ENV_METRICS_DISABLED: "true", contract.ENV_MAX_ABS_X: "1e6"}
    environments = {
        "image": {**base, contract.ENV_MODEL_DIR: str(model)},
        "s3": {
            **base,
            contract.ENV_MODEL_SOURCE: "s3",
            contract.ENV_MODEL_BUCKET: BUCKET,
            contract.ENV_MODEL_PREFIX: PREFIX,
            contract.ENV_MODEL_SHA256: sha256,
            contract.ENV_MODEL_DIR: str(download),
        },
        "efs": {
            **base,
            contract.ENV_MODEL_SOURCE: "efs",
            contract.ENV_MODEL_SHA256: sha256,
            contract.ENV_MODEL_DIR: str(mount),
        },
    }

    def init(environ: dict[str, str]) -> Callable[[], None]:
        def run() -> None:
            load_function(environ)

        return run

    return {
        kind: fastest(
            init(environ),
            lambda: shutil.rmtree(download, ignore_errors=True),  # a cold sandbox's empty /tmp
        )
        for kind, environ in environments.items()
    }


def synthetic_steps(workspace: Path, client: Any) -> dict[str, tuple[float, float]]:
    """(seconds, torch.load seconds) of each source's step for the 1 GB state_dict."""
    model = synthetic_model(workspace / "synthetic")
    sha256 = publish(client, model)
    download = workspace / "synthetic-download"

    def load_once(directory: Path) -> float:
        started = time.perf_counter()
        torch.load(directory / contract.WEIGHTS_FILE, map_location="cpu", weights_only=True)
        return time.perf_counter() - started

    started = time.perf_counter()
    download_model(S3Model(BUCKET, PREFIX, sha256), download, client)
    s3_seconds = time.perf_counter() - started
    started = time.perf_counter()
    check_efs_build(model)
    sha256_file(model / contract.WEIGHTS_FILE)  # what init's verification reads in place
    efs_seconds = time.perf_counter() - started
    torch_load = load_once(model)
    return {
        "s3": (s3_seconds, torch_load),
        "efs": (efs_seconds, torch_load),
        "image": (0.0, torch_load),
    }


def rows(shipped: dict[str, float], synthetic: dict[str, tuple[float, float]]) -> list[Row]:
    size_mb = SYNTHETIC_BYTES / 1e6
    implied = {
        "image": "read through Lambda's lazy image loading",
        "s3": f"{size_mb / synthetic['s3'][0]:,.0f} MB/s download + verify over loopback",
        "efs": f"{size_mb / synthetic['efs'][0]:,.0f} MB/s verify read (local disk)",
    }
    return [
        (
            kind,
            f"{shipped[kind] * 1e3:,.0f} ms",
            (
                f"{synthetic[kind][0]:.1f} s + torch.load {synthetic[kind][1]:.1f} s"
                if kind != "image"
                else f"torch.load {synthetic[kind][1]:.1f} s"
            ),
            implied[kind],
        )
        for kind in ("image", "s3", "efs")
    ]


def model_source_rows(model: Path, workspace: Path) -> list[Row]:
    with moto_s3():
        client = model_s3_client()
        client.create_bucket(Bucket=BUCKET)
        shipped = shipped_inits(model, workspace, client)
        synthetic = synthetic_steps(workspace, client)
    return rows(shipped, synthetic)
