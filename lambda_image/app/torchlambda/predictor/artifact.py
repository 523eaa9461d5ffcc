"""The model artifact: the model card, its identity, and loading with integrity checks.

A model directory holds ``model.pth`` (a state_dict), optionally ``model.json`` (the model card) and
``training.png``. With a card, the architecture comes from it and the weights' sha256 must match it;
without one (a bare ``model.pth`` trained with the book), the default architecture is used.

A model's identity (``model_id``, whose first 12 hex digits are the ``model_version`` every
response carries) is the sha256 of everything that changes its predictions: the architecture spec
and the weights' sha256. Editing either changes the version; a card whose recorded ``model_id``
does not match what it describes is refused, as are weights that are not finite over the serving
domain (``domain.py``). A function version pinned to one build (``MODEL_SHA256``) also refuses
weights with any other sha256, before they are loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from torchlambda.contract import (
    CARD_FILE,
    DEFAULT_MAX_ABS_X,
    ENV_MODEL_SHA256,
    MODEL_VERSION_LENGTH,
    WEIGHTS_FILE,
)
from torchlambda.predictor.architecture import (
    DEFAULT_SPEC,
    ArchitectureSpec,
    SpecError,
    build_model,
)
from torchlambda.predictor.digest import Digest, sha256_stream

# Re-exported: training and the ops tools hash model files through this module.
from torchlambda.predictor.digest import sha256_file as sha256_file  # noqa: PLC0414
from torchlambda.predictor.domain import DomainError, check_finite_over_domain

# 2: the card records model_id, which covers the architecture as well as the weights.
CARD_SCHEMA_VERSION = 2


class ArtifactError(RuntimeError):
    """The artifact is missing, corrupt, or not the one its model card records."""


@dataclass(frozen=True)
class LoadedModel:
    module: nn.Module
    spec: ArchitectureSpec
    sha256: str
    card: dict[str, Any] | None

    model_id: str
    # The largest value any layer can reach over the serving domain (domain.py's proof).
    output_bound: float
    weights_bytes: int

    @property
    def version(self) -> str:
        """Short, stable identifier of the exact model (architecture and weights) being served."""
        return self.model_id[:MODEL_VERSION_LENGTH]


def model_identity(spec: ArchitectureSpec, weights_sha256: str) -> str:
    """sha256 of the canonical JSON of what determines every prediction."""
    canonical = json.dumps(
        {"architecture": spec.to_dict(), "weights_sha256": weights_sha256},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# A torch error can span many lines (every missing and unexpected key): one line, this long at most.
MAX_ERROR_CHARS = 300


def read_card(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / CARD_FILE
    if not path.exists():
        return None
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        # ValueError: bad JSON or UTF-8, or an integer beyond Python's digit limit.
        raise ArtifactError(f"{path}: unreadable model card ({_one_line(error)})") from None
    if not isinstance(card, dict):
        raise ArtifactError(f"{path}: model card must be a JSON object")
    if card.get("schema_version") != CARD_SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: schema_version {card.get('schema_version')!r} is not {CARD_SCHEMA_VERSION}; "
            "retrain (`make train`) to get a card whose model_id covers the architecture"
        )
    return card


def _card_spec(model_dir: Path, card: dict[str, Any], weights_sha256: str) -> ArchitectureSpec:
    """The card's architecture, once its recorded identity is proven to match what it holds."""
    weights = model_dir / WEIGHTS_FILE
    recorded = card.get("sha256")
    if recorded != weights_sha256:
        raise ArtifactError(
            f"{weights}: sha256 {weights_sha256[:12]} does not match the model card's "
            f"{str(recorded)[:12]}; refusing to serve a model other than the recorded one"
        )
    try:
        spec = ArchitectureSpec.from_dict(card.get("architecture"))
    except (SpecError, TypeError) as error:
        raise ArtifactError(f"{model_dir / CARD_FILE}: bad architecture ({error})") from None
    expected = model_identity(spec, weights_sha256)
    if card.get("model_id") != expected:
        raise ArtifactError(
            f"{model_dir / CARD_FILE}: model_id {str(card.get('model_id'))[:12]} does not match "
            f"its architecture and weights ({expected[:12]}); the card was edited after training"
        )
    return spec


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _check_size(weights: Path, size: int, spec: ArchitectureSpec) -> None:
    """Refuse a spec the file cannot hold before allocating its parameters."""
    needed = spec.parameter_count * 4  # float32
    if size < needed:
        raise ArtifactError(
            f"{weights}: {size:,} bytes cannot hold the {spec.parameter_count:,} float32 "
            f"parameters of architecture {spec.to_dict()}"
        )


def _check_pin(weights: Path, actual: str, pinned: str | None) -> None:
    if pinned is not None and actual != pinned:
        raise ArtifactError(
            f"{weights}: sha256 {actual[:12]} is not the pinned {pinned[:12]} "
            f"({ENV_MODEL_SHA256}); refusing to serve a model other than the pinned one"
        )


def _hash(weights: Path, stream: BinaryIO) -> Digest:
    try:
        return sha256_stream(stream)
    except OSError as error:
        raise ArtifactError(f"{weights}: cannot read ({error.strerror or error})") from None


def _load_state(weights: Path, stream: BinaryIO, module: nn.Module) -> None:
    try:
        stream.seek(0)
        # weights_only: a state_dict is plain tensors; never unpickle arbitrary objects.
        state = torch.load(stream, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except Exception as error:  # torch raises many types for a corrupt or mismatched file
        raise ArtifactError(f"{weights}: cannot load state_dict ({_one_line(error)})") from None


def load_artifact(
    model_dir: Path, max_abs_x: float = DEFAULT_MAX_ABS_X, pinned_sha256: str | None = None
) -> LoadedModel:
    """Load and verify the model in `model_dir`, ready for inference (eval mode, on CPU).

    Verified means: the weights' sha256 is `pinned_sha256` when one is given, the card's identity
    matches its architecture and weights, the weights fit the architecture, and every output for
    |x| <= `max_abs_x` is finite.
    """
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise ArtifactError(f"{weights}: model weights not found")
    card = read_card(model_dir)
    try:
        stream = weights.open("rb")
    except OSError as error:
        raise ArtifactError(f"{weights}: cannot read ({error.strerror or error})") from None
    # One open file, hashed and then loaded: the bytes hashed are the bytes loaded (the same
    # inode, even if the path is replaced meanwhile), and the weights are in memory once.
    with stream:
        digest = _hash(weights, stream)
        _check_pin(weights, digest.sha256, pinned_sha256)
        spec = DEFAULT_SPEC if card is None else _card_spec(model_dir, card, digest.sha256)
        _check_size(weights, digest.size, spec)
        module = build_model(spec)
        _load_state(weights, stream, module)
    module.eval()
    try:
        bound = check_finite_over_domain(module, max_abs_x)
    except DomainError as error:
        raise ArtifactError(f"{weights}: {error}") from None
    return LoadedModel(
        module=module,
        spec=spec,
        sha256=digest.sha256,
        card=card,
        model_id=model_identity(spec, digest.sha256),
        output_bound=bound,
        weights_bytes=digest.size,
    )
