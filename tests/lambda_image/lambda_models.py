"""Small model artifacts for the tests, built with the shared model definition (not training)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from torchlambda.contract import CARD_FILE, WEIGHTS_FILE
from torchlambda.predictor.architecture import DEFAULT_SPEC, ArchitectureSpec, build_model
from torchlambda.predictor.artifact import CARD_SCHEMA_VERSION, model_identity, sha256_file


def write_model(
    directory: Path,
    *,
    spec: ArchitectureSpec = DEFAULT_SPEC,
    card: bool = True,
    seed: int = 0,
    card_overrides: dict[str, Any] | None = None,
) -> Path:
    """Write model.pth, and model.json unless ``card=False``."""
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    module = build_model(spec)
    torch.save(module.state_dict(), directory / WEIGHTS_FILE)
    if card:
        weights_sha256 = sha256_file(directory / WEIGHTS_FILE)
        document = {
            "schema_version": CARD_SCHEMA_VERSION,
            "architecture": spec.to_dict(),
            "sha256": weights_sha256,
            "model_id": model_identity(spec, weights_sha256),
            "torch_version": torch.__version__,
            **(card_overrides or {}),
        }
        (directory / CARD_FILE).write_text(json.dumps(document), encoding="utf-8")
    return directory


def reference_prediction(
    directory: Path, xs: list[float], spec: ArchitectureSpec = DEFAULT_SPEC
) -> list[float]:
    """What the plain nn.Module predicts, independently of the handler's fast path."""
    module = build_model(spec)
    module.load_state_dict(torch.load(directory / WEIGHTS_FILE, weights_only=True))
    module.eval()
    with torch.no_grad():
        return module(torch.tensor(xs, dtype=torch.float32).reshape(-1, 1)).reshape(-1).tolist()
