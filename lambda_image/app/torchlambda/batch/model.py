"""The model as batch scoring uses it: loaded and verified as the online function's init does,
predicting in slices of the size its forward pass runs fastest at."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger

from torchlambda.batch.chunks import Predict
from torchlambda.inference import Predictor
from torchlambda.model_loading import load_model
from torchlambda.settings import Settings

# This MLP runs about twice as many rows a second in slices of 4,096 as in slices of 65,536:
# the hidden layers' activations then stay in the CPU's cache.
PREDICT_SLICE = 4096


@dataclass(frozen=True)
class BatchModel:
    predict: Predict
    version: str
    max_abs_x: float


def sliced(predictor: Predictor, size: int = PREDICT_SLICE) -> Predict:
    def predict(values: list[float]) -> list[float]:
        if len(values) <= size:
            return predictor.predict(values)
        ys: list[float] = []
        for start in range(0, len(values), size):
            ys += predictor.predict(values[start : start + size])
        return ys

    return predict


def load_batch_model(settings: Settings, logger: Logger) -> BatchModel:
    """Raises what the online init raises for a bad model (ArtifactError, SpecError)."""
    loaded = load_model(settings, logger)
    return BatchModel(sliced(Predictor(loaded.module)), loaded.version, settings.max_abs_x)
