"""The book's approach, kept only as the benchmark's baseline: the model is loaded from disk on
every request, then asked for one prediction (returned as a bare string)."""

from __future__ import annotations

from pathlib import Path

import torch

from torchlambda.contract import WEIGHTS_FILE
from torchlambda.predictor.architecture import build_model


def predict_loading_every_time(model_dir: Path, x: float) -> str:
    model = build_model()
    model.load_state_dict(
        torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    )
    model.eval()
    with torch.no_grad():
        return str(model(torch.tensor([[x]], dtype=torch.float32)).item())
