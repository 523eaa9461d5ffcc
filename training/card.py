"""The model card (``model.json``): what was trained, on what, how, and how well."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from torchlambda.predictor.architecture import ArchitectureSpec
from torchlambda.predictor.artifact import CARD_SCHEMA_VERSION, model_identity

from .data import Dataset

REPOSITORY = Path(__file__).resolve().parent.parent


def data_source(dataset: Dataset, rows: dict[str, int]) -> dict[str, Any]:
    return {"source": dataset.source, "sha256": dataset.sha256, "rows": rows}


def build_card(
    *,
    spec: ArchitectureSpec,
    weights_sha256: str,
    data: dict[str, Any],
    hyperparameters: dict[str, Any],
    seed: int,
    metrics: dict[str, dict[str, float]],
    x_range: tuple[float, float],
    training_seconds: float,
) -> dict[str, Any]:
    return {
        "schema_version": CARD_SCHEMA_VERSION,
        "architecture": spec.to_dict(),
        "sha256": weights_sha256,
        "model_id": model_identity(spec, weights_sha256),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "data": data,
        "hyperparameters": hyperparameters,
        "seed": seed,
        "metrics": metrics,
        "x_range": {"min": x_range[0], "max": x_range[1]},
        "training_seconds": round(training_seconds, 3),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "git_commit": git_commit(),
    }


def git_commit() -> str | None:
    """The repository's HEAD, or None where there is no git (e.g. a CodeBuild S3 source)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None
