"""Loads the model once, at init, and refuses to start with anything but the recorded artifact."""

from __future__ import annotations

import time

import torch
from aws_lambda_powertools import Logger
from predictor.artifact import LoadedModel, load_artifact
from settings import Settings


def load_model(settings: Settings, logger: Logger) -> LoadedModel:
    torch.set_num_threads(settings.torch_threads)
    started = time.perf_counter()
    loaded = load_artifact(settings.model_dir)
    fields = {
        "model_dir": str(settings.model_dir),
        "model_version": loaded.version,
        "architecture": loaded.spec.to_dict(),
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
        logger.info("model loaded and verified against its card", extra=fields)
    return loaded
