"""Runtime settings of the function, read once from environment variables (set by the CDK).

The variables' names and defaults are in ``contract``:

============================  ======================  ==========================================
variable                      default                 meaning
============================  ======================  ==========================================
MODEL_SOURCE                  image                   image, s3 or efs: where the model comes from
MODEL_DIR                     /var/task/model         directory with model.pth (and model.json);
                              (s3: /tmp/model)        s3: where it is downloaded to
MODEL_BUCKET                                          s3: the bucket holding the build
MODEL_PREFIX                                          s3: the build's prefix, models/<env>/<id>/
MODEL_SHA256                                          the weights' pinned sha256 (s3, efs: needed)
TORCH_NUM_THREADS             1                       intra-op threads; 1 is fastest for batch 1
MAX_ABS_X                     1e6                     requests with abs(x) above it get a 400
POWERTOOLS_SERVICE_NAME       torchlambda-inference   ``service`` in logs and metrics
POWERTOOLS_METRICS_NAMESPACE  TorchLambda             CloudWatch namespace of the EMF metrics
POWERTOOLS_LOG_LEVEL          INFO                    DEBUG logs every successful request too
POWERTOOLS_METRICS_DISABLED   false                   ``true`` emits no EMF metrics (local runs)
============================  ======================  ==========================================

OMP_NUM_THREADS and MKL_NUM_THREADS are read by torch itself at import (the image sets both to 1).
AWS_LAMBDA_INITIALIZATION_TYPE is Lambda's own (on-demand, provisioned-concurrency, ...): the
init log line reports it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from torchlambda import contract
from torchlambda.predictor.digest import is_sha256

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
LAMBDA_INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"  # set by Lambda itself


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot run with."""


@dataclass(frozen=True)
class ImageModel:
    """Baked into the image; its weights are checked against `sha256` when one is set."""

    sha256: str | None = None
    kind: ClassVar[contract.ModelSourceKind] = "image"


@dataclass(frozen=True)
class S3Model:
    """One build in S3 (`prefix` is models/<env>/<build id>/), downloaded at init."""

    bucket: str
    prefix: str
    sha256: str
    kind: ClassVar[contract.ModelSourceKind] = "s3"


@dataclass(frozen=True)
class EfsModel:
    """One build read in place from the file system (MODEL_DIR is its directory there)."""

    sha256: str
    kind: ClassVar[contract.ModelSourceKind] = "efs"


ModelSource = ImageModel | S3Model | EfsModel


@dataclass(frozen=True)
class Settings:
    model_dir: Path = Path(contract.MODEL_DIR_IN_IMAGE)
    model_source: ModelSource = ImageModel()
    torch_threads: int = contract.TORCH_THREADS
    max_abs_x: float = contract.DEFAULT_MAX_ABS_X
    service: str = contract.SERVICE_NAME
    metrics_namespace: str = contract.METRIC_NAMESPACE
    metrics_disabled: bool = False
    initialization_type: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        defaults = cls()
        source = model_source(environ)
        # /var/task is read-only on Lambda: a download goes to /tmp unless MODEL_DIR says where.
        default_dir = (
            contract.MODEL_DOWNLOAD_DIR if source.kind == "s3" else contract.MODEL_DIR_IN_IMAGE
        )
        return cls(
            model_dir=Path(environ.get(contract.ENV_MODEL_DIR) or default_dir),
            model_source=source,
            initialization_type=environ.get(LAMBDA_INITIALIZATION_TYPE) or None,
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


def model_source(environ: Mapping[str, str]) -> ModelSource:
    kind = _model_source_kind(environ)
    sha256 = _sha256(environ)
    if kind == "image":
        return ImageModel(sha256)
    if sha256 is None:
        raise SettingsError(
            f"{contract.ENV_MODEL_SOURCE}={kind} needs {contract.ENV_MODEL_SHA256}, "
            "the weights' sha256 this version is pinned to"
        )
    if kind == "efs":
        return EfsModel(sha256)
    bucket = _needed_by(kind, environ, contract.ENV_MODEL_BUCKET)
    prefix = _needed_by(kind, environ, contract.ENV_MODEL_PREFIX)
    if not prefix.endswith("/"):
        raise SettingsError(
            f"{contract.ENV_MODEL_PREFIX}={prefix!r}: expected a build's prefix ending in / "
            "(models/<env>/<build id>/)"
        )
    return S3Model(bucket, prefix, sha256)


def _model_source_kind(environ: Mapping[str, str]) -> contract.ModelSourceKind:
    raw = environ.get(contract.ENV_MODEL_SOURCE, "").strip()
    if not raw:
        return "image"
    for kind in contract.MODEL_SOURCES:
        if raw == kind:
            return kind
    raise SettingsError(
        f"{contract.ENV_MODEL_SOURCE}={raw!r}: expected one of {', '.join(contract.MODEL_SOURCES)}"
    )


def _sha256(environ: Mapping[str, str]) -> str | None:
    raw = environ.get(contract.ENV_MODEL_SHA256, "").strip()
    if not raw:
        return None
    if not is_sha256(raw):
        raise SettingsError(
            f"{contract.ENV_MODEL_SHA256}={raw[:70]!r}: expected the weights' sha256, "
            "64 lowercase hex digits"
        )
    return raw


def _needed_by(kind: str, environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{contract.ENV_MODEL_SOURCE}={kind} needs {name}")
    return value


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
