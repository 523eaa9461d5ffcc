"""Loads the model once, at init, and refuses to start with anything but the recorded artifact."""

from __future__ import annotations

import time

import torch
from aws_lambda_powertools import Logger

from torchlambda.predictor.artifact import LoadedModel, load_artifact
from torchlambda.settings import Settings


def load_model(settings: Settings, logger: Logger) -> LoadedModel:
    torch.set_num_threads(settings.torch_threads)
    started = time.perf_counter()
    loaded = load_artifact(settings.model_dir, settings.max_abs_x)
    fields = {
        "model_dir": str(settings.model_dir),
        "model_version": loaded.version,
        "weights_sha256": loaded.sha256,
        "architecture": loaded.spec.to_dict(),
        # Proven at init: no layer exceeds this for any accepted x, so no output is NaN or inf.
        "output_bound": loaded.output_bound,
        "max_abs_x": settings.max_abs_x,
        "torch_threads": settings.torch_threads,
        "load_ms": round((time.perf_counter() - started) * 1e3, 1),
    }
    if loaded.card is None:
        logger.warning(
            "no model card (model.json): serving model.pth with the default architecture, "
            "unverified; train with `make train` to get a card",
            extra=fields,
        )
    else:
        logger.info(
            "model loaded, verified against its card and proven finite over the domain",
            extra=fields,
        )
    return loaded
