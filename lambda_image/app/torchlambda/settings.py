"""Runtime settings of the function, read once from environment variables (set by the CDK).

The variables' names and defaults are in ``contract``:

============================  ======================  ==========================================
variable                      default                 meaning
============================  ======================  ==========================================
MODEL_DIR                     /var/task/model         directory with model.pth (and model.json)
TORCH_NUM_THREADS             1                       intra-op threads; 1 is fastest for batch 1
MAX_ABS_X                     1e6                     requests with abs(x) above it get a 400
POWERTOOLS_SERVICE_NAME       torchlambda-inference   ``service`` in logs and metrics
POWERTOOLS_METRICS_NAMESPACE  TorchLambda             CloudWatch namespace of the EMF metrics
POWERTOOLS_LOG_LEVEL          INFO                    DEBUG logs every successful request too
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

from torchlambda import contract

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot run with."""


@dataclass(frozen=True)
class Settings:
    model_dir: Path = Path(contract.MODEL_DIR_IN_IMAGE)
    torch_threads: int = contract.TORCH_THREADS
    max_abs_x: float = contract.DEFAULT_MAX_ABS_X
    service: str = contract.SERVICE_NAME
    metrics_namespace: str = contract.METRIC_NAMESPACE
    metrics_disabled: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        defaults = cls()
        return cls(
            model_dir=Path(environ.get(contract.ENV_MODEL_DIR) or defaults.model_dir),
            torch_threads=_positive_int(
                environ, contract.ENV_TORCH_THREADS, defaults.torch_threads
            ),
            max_abs_x=_positive_finite(environ, contract.ENV_MAX_ABS_X, defaults.max_abs_x),
            service=service_name(environ),
            metrics_namespace=environ.get(contract.ENV_METRIC_NAMESPACE)
            or defaults.metrics_namespace,
            metrics_disabled=_flag(
                environ, contract.ENV_METRICS_DISABLED, defaults.metrics_disabled
            ),
        )


def service_name(environ: Mapping[str, str] = os.environ) -> str:
    """Read on its own so that the logger exists before anything else can fail."""
    return environ.get(contract.ENV_SERVICE_NAME) or contract.SERVICE_NAME


def required(environ: Mapping[str, str], name: str) -> str:
    """A variable the function cannot run without (the CDK always sets it)."""
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


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
