"""The experiment a function version runs, read once from its environment (set by the CDK).

==================  ====================  ====================================================
variable            default               meaning
==================  ====================  ====================================================
EXPERIMENT          none                  none, shadow or split
CHALLENGER_DIR      /var/task/challenger  the challenger's model.pth and model.json
CHALLENGER_SHA256                         its weights' sha256 (needed by an experiment)
SPLIT_WEIGHT                              split: share of callers, in (0, 0.5]
STICKY_HEADER       x-user-id             split: the header that keeps a caller's variant
==================  ====================  ====================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from torchlambda import contract
from torchlambda.predictor.digest import is_sha256
from torchlambda.settings import SettingsError

# An HTTP field name (RFC 9110 token), lowercase: API Gateway lowercases header names.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")


@dataclass(frozen=True)
class ExperimentSettings:
    mode: contract.ExperimentMode = "none"
    challenger_dir: Path = Path(contract.CHALLENGER_DIR_IN_IMAGE)
    challenger_sha256: str | None = None  # set whenever mode is not none
    split_weight: float = 0.0  # split only
    sticky_header: str = contract.DEFAULT_STICKY_HEADER

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ExperimentSettings:
        mode = _mode(environ)
        if mode == "none":
            return cls()
        sha256 = environ.get(contract.ENV_CHALLENGER_SHA256, "").strip()
        if not is_sha256(sha256):
            raise SettingsError(
                f"{contract.ENV_EXPERIMENT}={mode} needs {contract.ENV_CHALLENGER_SHA256}, "
                "the challenger's weights' sha256 (64 lowercase hex digits)"
            )
        directory = Path(
            environ.get(contract.ENV_CHALLENGER_DIR, "").strip() or contract.CHALLENGER_DIR_IN_IMAGE
        )
        if mode == "shadow":
            return cls(mode, directory, sha256)
        return cls(mode, directory, sha256, _split_weight(environ), _sticky_header(environ))


def _mode(environ: Mapping[str, str]) -> contract.ExperimentMode:
    raw = environ.get(contract.ENV_EXPERIMENT, "").strip()
    if not raw:
        return "none"
    for mode in contract.EXPERIMENT_MODES:
        if raw == mode:
            return mode
    raise SettingsError(
        f"{contract.ENV_EXPERIMENT}={raw[:40]!r}: expected one of "
        f"{', '.join(contract.EXPERIMENT_MODES)}"
    )


def _split_weight(environ: Mapping[str, str]) -> float:
    raw = environ.get(contract.ENV_SPLIT_WEIGHT, "").strip()
    try:
        weight = float(raw)
    except ValueError:
        weight = math.nan
    if not 0 < weight <= contract.MAX_SPLIT_WEIGHT:
        raise SettingsError(
            f"{contract.ENV_SPLIT_WEIGHT}={raw[:40]!r}: split needs the challenger's share of "
            f"callers, a number in (0, {contract.MAX_SPLIT_WEIGHT}]"
        )
    return weight


def _sticky_header(environ: Mapping[str, str]) -> str:
    raw = environ.get(contract.ENV_STICKY_HEADER, "").strip()
    if not raw:
        return contract.DEFAULT_STICKY_HEADER
    if HEADER_NAME.fullmatch(raw) is None:
        raise SettingsError(
            f"{contract.ENV_STICKY_HEADER}={raw[:40]!r}: expected a lowercase HTTP header name "
            "such as x-user-id"
        )
    return raw
