"""Lambda entry point (``handler.handler``): everything expensive happens once, at import.

Init loads settings and the model; if either is wrong it logs one line naming the problem and
raises, so Lambda reports an init error instead of serving a model other than the recorded one.
"""

from __future__ import annotations

from typing import Any

import torch
from api import InferenceApi
from errors import ApiError
from http_responses import error_response
from inference import Predictor
from model_loading import load_model
from observability import create_logger, create_metrics, create_tracer, record
from predictor.architecture import SpecError
from predictor.artifact import ArtifactError
from settings import Settings, SettingsError, service_name


class InitError(RuntimeError):
    """The function cannot start: bad settings or a missing, corrupt or mismatched model."""


logger = create_logger(service_name())
try:
    settings = Settings.from_env()
    loaded = load_model(settings, logger)
except (SettingsError, ArtifactError, SpecError) as problem:
    logger.error(f"init failed: {problem}")
    raise InitError(str(problem)) from None

MODEL_VERSION = loaded.version
api = InferenceApi(
    predictor=Predictor(loaded.module),
    model_version=MODEL_VERSION,
    torch_version=torch.__version__.split("+")[0],
    max_abs_x=settings.max_abs_x,
)
# Powertools' own POWERTOOLS_METRICS_DISABLED skips the flush but keeps every metric in memory;
# with metrics off, no Metrics object is used at all.
metrics = (
    None
    if settings.metrics_disabled
    else create_metrics(settings.service, settings.metrics_namespace)
)
INTERNAL_ERROR = ApiError(500, "internal", "internal error")


@logger.inject_lambda_context(clear_state=True)
def _observed(event: Any, context: Any) -> dict[str, Any]:
    outcome = api.handle(event)
    record(outcome, MODEL_VERSION, logger, metrics)
    return outcome.response


if metrics is not None:
    _observed = metrics.log_metrics(_observed, capture_cold_start_metric=True)

# Even a disabled Tracer imports the X-Ray SDK (about 0.3 s of init): build one only when it is on.
tracer = None if settings.trace_disabled else create_tracer(settings.service)
if tracer is not None:
    _observed = tracer.capture_lambda_handler(_observed, capture_response=False)


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        return _observed(event, context)
    except Exception:
        # A fault of ours: logged with its traceback, answered without one (never a 502).
        logger.exception("unhandled error")
        return error_response(INTERNAL_ERROR, MODEL_VERSION)
