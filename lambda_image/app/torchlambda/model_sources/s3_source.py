"""The s3 source: the pinned build downloaded into MODEL_DIR at init, or reused when an earlier
init in this sandbox already put it there (/tmp outlives an init that failed or was restarted)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from torchlambda.contract import WEIGHTS_FILE
from torchlambda.model_sources.build import fetch_build, verify_build
from torchlambda.model_sources.disk import LOCAL_DISK, Disk
from torchlambda.model_sources.errors import ModelSourceError
from torchlambda.model_sources.transfer import TRANSFER_CONFIG, model_s3_client
from torchlambda.settings import S3Model


@dataclass(frozen=True)
class Download:
    size: int  # the weights' bytes
    seconds: float  # the card's and the weights' download, or verifying what was reused
    reused: bool

    def log_fields(self) -> dict[str, Any]:
        milliseconds = round(self.seconds * 1e3, 1)
        if self.reused:
            return {"download_reused": True, "verify_ms": milliseconds}
        return {
            "download_ms": milliseconds,
            "download_mb_per_s": round(self.size / 1e6 / max(self.seconds, 1e-6), 1),
        }


def download_model(
    model: S3Model,
    model_dir: Path,
    client: Any | None = None,
    *,
    disk: Disk = LOCAL_DISK,
    config: TransferConfig = TRANSFER_CONFIG,
) -> Download:
    started = time.perf_counter()
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelSourceError(f"{model_dir}: cannot create ({error.strerror or error})") from None
    if (model_dir / WEIGHTS_FILE).exists():
        try:
            size = verify_build(model_dir, model.sha256)
            return Download(size, time.perf_counter() - started, reused=True)
        except ModelSourceError:
            # Another build's weights, or damaged ones: the download needs their space.
            (model_dir / WEIGHTS_FILE).unlink()
    fetched = fetch_build(
        model_s3_client() if client is None else client,
        model.bucket,
        model.prefix,
        model_dir,
        model.sha256,
        disk=disk,
        config=config,
    )
    return Download(fetched.size, time.perf_counter() - started, reused=False)
