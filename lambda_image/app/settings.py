"""Runtime settings of the function, read once from environment variables (set by the CDK).

============================  ======================  ==========================================
variable                      default                 meaning
============================  ======================  ==========================================
MODEL_DIR                     ``model`` beside this   directory with model.pth (and model.json)
TORCH_NUM_THREADS             1                       intra-op threads; 1 is fastest for batch 1
MAX_ABS_X                     1e6                     requests with abs(x) above it get a 400
POWERTOOLS_SERVICE_NAME       torchlambda-inference   ``service`` in logs and metrics
POWERTOOLS_METRICS_NAMESPACE  TorchLambda             CloudWatch namespace of the EMF metrics
POWERTOOLS_LOG_LEVEL          INFO                    DEBUG logs every successful request too
POWERTOOLS_TRACE_DISABLED     true                    ``false`` adds X-Ray subsegments
POWERTOOLS_METRICS_DISABLED   false                   ``true`` emits no EMF metrics (local runs)
============================  ======================  ==========================================

OMP_NUM_THREADS and MKL_NUM_THREADS are read by torch itself at import (the image sets both to 1).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from predictor.artifact import DEFAULT_MAX_ABS_X

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
DEFAULT_SERVICE = "torchlambda-inference"
DEFAULT_NAMESPACE = "TorchLambda"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot run with."""


@dataclass(frozen=True)
class Settings:
    model_dir: Path = DEFAULT_MODEL_DIR
    torch_threads: int = 1
    max_abs_x: float = DEFAULT_MAX_ABS_X
    service: str = DEFAULT_SERVICE
    metrics_namespace: str = DEFAULT_NAMESPACE
    trace_disabled: bool = True
    metrics_disabled: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            model_dir=Path(environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR),
            torch_threads=_positive_int(environ, "TORCH_NUM_THREADS", 1),
            max_abs_x=_positive_finite(environ, "MAX_ABS_X", DEFAULT_MAX_ABS_X),
            service=service_name(environ),
            metrics_namespace=environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
            trace_disabled=_flag(environ, "POWERTOOLS_TRACE_DISABLED", True),
            metrics_disabled=_flag(environ, "POWERTOOLS_METRICS_DISABLED", False),
        )


def service_name(environ: Mapping[str, str] = os.environ) -> str:
    """Read on its own so that the logger exists before anything else can fail."""
    return environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name}={raw!r}: expected a positive integer")
    return int(raw)


def _positive_finite(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name}={raw!r}: expected a positive finite number")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false")
