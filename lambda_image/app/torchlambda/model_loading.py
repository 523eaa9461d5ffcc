"""Loads the models once, at init, and refuses to start with anything but the recorded artifacts
(and, when a version is pinned to one build, anything but that build's weights): the champion from
its source, an experiment's challenger from the image."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from aws_lambda_powertools import Logger

from torchlambda.contract import CHALLENGER, CHAMPION, Variant
from torchlambda.experiment.settings import ExperimentSettings
from torchlambda.model_sources.locate import locate_model
from torchlambda.predictor.artifact import LoadedModel, load_artifact
from torchlambda.settings import Settings


def load_model(settings: Settings, logger: Logger) -> LoadedModel:
    torch.set_num_threads(settings.torch_threads)
    located = locate_model(settings)
    fields = {"model_source": settings.model_source.kind, **located.fields}
    if settings.initialization_type is not None:
        fields["initialization_type"] = settings.initialization_type
    sha256 = settings.model_source.sha256
    return _load(
        CHAMPION, located.directory, sha256, settings=settings, logger=logger, extra=fields
    )


def load_challenger(
    settings: Settings, experiment: ExperimentSettings, logger: Logger
) -> LoadedModel:
    """The experiment's challenger, baked into the image beside the champion and pinned."""
    fields = {"experiment": experiment.mode}
    directory, sha256 = experiment.challenger_dir, experiment.challenger_sha256
    return _load(CHALLENGER, directory, sha256, settings=settings, logger=logger, extra=fields)


def _load(
    variant: Variant,
    directory: Path,
    sha256: str | None,
    *,
    settings: Settings,
    logger: Logger,
    extra: dict[str, Any],
) -> LoadedModel:
    started = time.perf_counter()
    loaded = load_artifact(directory, settings.max_abs_x, sha256)
    fields = {
        "variant": variant,
        "model_dir": str(directory),
        "model_version": loaded.version,
        "weights_sha256": loaded.sha256,
        "weights_bytes": loaded.weights_bytes,
        "architecture": loaded.spec.to_dict(),
        # Proven at init: no layer exceeds this for any accepted x, so no output is NaN or inf.
        "output_bound": loaded.output_bound,
        "max_abs_x": settings.max_abs_x,
        "torch_threads": settings.torch_threads,
        "load_ms": round((time.perf_counter() - started) * 1e3, 1),
        **extra,
    }
    if loaded.card is None:
        logger.warning(
            f"no model card (model.json): serving the {variant}'s model.pth with the default "
            "architecture, unverified; train with `make train` to get a card",
            extra=fields,
        )
    else:
        logger.info(
            f"model loaded ({variant}), verified against its card and proven finite over the "
            "domain",
            extra=fields,
        )
    return loaded
