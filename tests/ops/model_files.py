"""Model artifacts as training publishes them, built from the shared model definition."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import torch

from torchlambda.contract import CARD_FILE, PLOT_FILE, WEIGHTS_FILE
from torchlambda.predictor.architecture import DEFAULT_SPEC, build_model
from torchlambda.predictor.artifact import CARD_SCHEMA_VERSION, model_identity

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def model_files(seed: int, validation_mse: float) -> dict[str, bytes]:
    """model.pth, model.json and training.png of a freshly initialized default network."""
    torch.manual_seed(seed)
    buffer = io.BytesIO()
    torch.save(build_model(DEFAULT_SPEC).state_dict(), buffer)
    weights = buffer.getvalue()
    weights_sha256 = hashlib.sha256(weights).hexdigest()
    card: dict[str, Any] = {
        "schema_version": CARD_SCHEMA_VERSION,
        "architecture": DEFAULT_SPEC.to_dict(),
        "sha256": weights_sha256,
        "model_id": model_identity(DEFAULT_SPEC, weights_sha256),
        "metrics": {
            "train": {"mse": validation_mse * 0.9, "mae": 0.2},
            "validation": {"mse": validation_mse, "mae": 0.25},
        },
    }
    return {
        WEIGHTS_FILE: weights,
        CARD_FILE: json.dumps(card).encode(),
        PLOT_FILE: PNG_SIGNATURE + b"stand-in plot",
    }


def sha256_of(files: dict[str, bytes]) -> str:
    return hashlib.sha256(files[WEIGHTS_FILE]).hexdigest()


def version_of(files: dict[str, bytes]) -> str:
    """The model_version the image serves these files as."""
    return str(json.loads(files[CARD_FILE])["model_id"])[:12]
