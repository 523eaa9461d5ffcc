"""The Lambda function, built once per execution environment: settings, model, API, observability.

`load_function` does everything init does: it reads the settings, loads and verifies the model
(and an experiment's challenger), and wraps the API in logging and metrics (traces come from
Lambda's active tracing). If the settings or a model are wrong it logs one line naming the
problem and raises `InitError`, so Lambda reports an init error instead of serving a model other
than the recorded one. Tests and the local tools build functions from their own settings with it;
the image's entry point is ``torchlambda.handler.handler``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from aws_lambda_powertools import Logger, Metrics

from torchlambda.api import InferenceApi
from torchlambda.contract import CHAMPION
from torchlambda.errors import ApiError
from torchlambda.experiment.settings import ExperimentSettings
from torchlambda.experiment.variants import ServingModel, Variants
from torchlambda.http_responses import error_response
from torchlambda.inference import Predictor
from torchlambda.model_loading import load_challenger, load_model
from torchlambda.model_sources.errors import ModelSourceError
from torchlambda.observability import Observer, create_metrics
from torchlambda.predictor.architecture import SpecError
from torchlambda.predictor.artifact import ArtifactError, LoadedModel
from torchlambda.settings import Settings, SettingsError
from torchlambda.startup import initialize

INTERNAL_ERROR = ApiError(500, "internal", "internal error")
# What init refuses to start with: bad settings, a model that is not the recorded (or pinned) one,
# or one its source cannot provide.
MODEL_REFUSALS = (SettingsError, ArtifactError, SpecError, ModelSourceError)
Handler = Callable[[Any, Any], dict[str, Any]]


class Function:
    """One execution environment's handler; call it with (event, context)."""

    def __init__(self, settings: Settings, variants: Variants, logger: Logger) -> None:
        self.settings = settings
        self.logger = logger
        self.variants = variants
        self.model_version = variants.champion.version
        self.api = InferenceApi(
            variants=variants,
            torch_version=torch.__version__.split("+")[0],
            max_abs_x=settings.max_abs_x,
        )
        # Powertools' own POWERTOOLS_METRICS_DISABLED skips the flush but keeps every metric in
        # memory; with metrics off, no Metrics object is used at all.
        metrics = (
            None
            if settings.metrics_disabled
            else create_metrics(settings.service, settings.metrics_namespace)
        )
        self.observer = Observer(variants, logger, metrics, settings.metrics_namespace)
        self._observed = self._wrap(self._serve, metrics)

    def _serve(self, event: Any, context: Any) -> dict[str, Any]:
        outcome = self.api.handle(event, getattr(context, "aws_request_id", ""))
        self.observer.record(outcome)
        return outcome.response

    def _wrap(self, serve: Handler, metrics: Metrics | None) -> Handler:
        observed: Handler = self.logger.inject_lambda_context(serve, clear_state=True)
        if metrics is not None:
            observed = metrics.log_metrics(observed, capture_cold_start_metric=True)
        return observed

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        try:
            return self._observed(event, context)
        except Exception:
            # A fault of ours: logged with its traceback, answered without one (never a 502).
            self.logger.exception("unhandled error")
            return error_response(INTERNAL_ERROR, self.model_version, CHAMPION)


def load_variants(settings: Settings, experiment: ExperimentSettings, logger: Logger) -> Variants:
    """The champion, and the experiment's challenger when one is on: both verified at init."""
    champion = _serving(load_model(settings, logger))
    if not experiment.enabled:
        return Variants("none", champion)
    challenger = _serving(load_challenger(settings, experiment, logger))
    return Variants(
        experiment.mode,
        champion,
        challenger,
        split_weight=experiment.split_weight,
        sticky_header=experiment.sticky_header,
    )


def _serving(loaded: LoadedModel) -> ServingModel:
    return ServingModel(Predictor(loaded.module), loaded.version)


def load_function(environ: Mapping[str, str]) -> Function:
    """Init of the online function: settings from `environ`, the verified models, the API."""

    def build(settings: Settings, logger: Logger) -> Function:
        experiment = ExperimentSettings.from_env(environ)
        return Function(settings, load_variants(settings, experiment, logger), logger)

    return initialize(environ, build, MODEL_REFUSALS)
