"""The Lambda function, built once per execution environment: settings, model, API, observability.

`load_function` does everything init does: it reads the settings, loads and verifies the model,
and wraps the API in logging and metrics (traces come from Lambda's active tracing). If the
settings or the model are wrong it logs one line naming the problem and raises `InitError`, so
Lambda reports an init error instead of serving a model other than the recorded one. Tests and
the local tools build functions from their own settings with it; the image's entry point is
``torchlambda.handler.handler``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from aws_lambda_powertools import Logger

from torchlambda.api import InferenceApi
from torchlambda.errors import ApiError
from torchlambda.http_responses import error_response
from torchlambda.inference import Predictor
from torchlambda.model_loading import load_model
from torchlambda.model_sources.errors import ModelSourceError
from torchlambda.observability import create_metrics, record
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

    def __init__(self, settings: Settings, loaded: LoadedModel, logger: Logger) -> None:
        self.settings = settings
        self.logger = logger
        self.model_version = loaded.version
        self.api = InferenceApi(
            predictor=Predictor(loaded.module),
            model_version=self.model_version,
            torch_version=torch.__version__.split("+")[0],
            max_abs_x=settings.max_abs_x,
        )
        self._observed = self._wrap(self._serve)

    def _serve(self, event: Any, context: Any) -> dict[str, Any]:
        outcome = self.api.handle(event)
        record(outcome, self.model_version, self.logger, self._metrics)
        return outcome.response

    def _wrap(self, serve: Handler) -> Handler:
        observed: Handler = self.logger.inject_lambda_context(serve, clear_state=True)
        # Powertools' own POWERTOOLS_METRICS_DISABLED skips the flush but keeps every metric in
        # memory; with metrics off, no Metrics object is used at all.
        self._metrics = (
            None
            if self.settings.metrics_disabled
            else create_metrics(self.settings.service, self.settings.metrics_namespace)
        )
        if self._metrics is not None:
            observed = self._metrics.log_metrics(observed, capture_cold_start_metric=True)
        return observed

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        try:
            return self._observed(event, context)
        except Exception:
            # A fault of ours: logged with its traceback, answered without one (never a 502).
            self.logger.exception("unhandled error")
            return error_response(INTERNAL_ERROR, self.model_version)


def load_function(environ: Mapping[str, str]) -> Function:
    """Init of the online function: settings from `environ`, the verified model, the API."""
    return initialize(
        environ,
        lambda settings, logger: Function(settings, load_model(settings, logger), logger),
        MODEL_REFUSALS,
    )
