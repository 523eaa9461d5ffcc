"""Loads the model once, at init, and refuses to start with anything but the recorded artifact
(and, when the version is pinned to one build, anything but that build's weights)."""

from __future__ import annotations

import time

import torch
from aws_lambda_powertools import Logger

from torchlambda.model_sources.locate import locate_model
from torchlambda.predictor.artifact import LoadedModel, load_artifact
from torchlambda.settings import Settings


def load_model(settings: Settings, logger: Logger) -> LoadedModel:
    torch.set_num_threads(settings.torch_threads)
    located = locate_model(settings)
    started = time.perf_counter()
    loaded = load_artifact(located.directory, settings.max_abs_x, settings.model_source.sha256)
    fields = {
        "model_source": settings.model_source.kind,
        "model_dir": str(located.directory),
        "model_version": loaded.version,
        "weights_sha256": loaded.sha256,
        "weights_bytes": loaded.weights_bytes,
        "architecture": loaded.spec.to_dict(),
        # Proven at init: no layer exceeds this for any accepted x, so no output is NaN or inf.
        "output_bound": loaded.output_bound,
        "max_abs_x": settings.max_abs_x,
        "torch_threads": settings.torch_threads,
        "load_ms": round((time.perf_counter() - started) * 1e3, 1),
        **located.fields,
    }
    if settings.initialization_type is not None:
        fields["initialization_type"] = settings.initialization_type
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
