"""The model artifact contract: file names, the model card, and loading with integrity checks.

A model directory holds ``model.pth`` (a state_dict), optionally ``model.json`` (the model card) and
``training.png``. With a card, the architecture comes from it and the weights' sha256 must match it;
without one (a bare ``model.pth`` trained with the book), the default architecture is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .architecture import DEFAULT_SPEC, ArchitectureSpec, SpecError, build_model

WEIGHTS_FILE = "model.pth"
CARD_FILE = "model.json"
PLOT_FILE = "training.png"
CARD_SCHEMA_VERSION = 1


class ArtifactError(RuntimeError):
    """The artifact is missing, corrupt, or not the one its model card records."""


@dataclass(frozen=True)
class LoadedModel:
    module: nn.Module
    spec: ArchitectureSpec
    sha256: str
    card: dict[str, Any] | None

    @property
    def version(self) -> str:
        """Short, stable identifier of the exact weights being served."""
        return self.sha256[:12]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / CARD_FILE
    if not path.exists():
        return None
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path}: unreadable model card ({error})") from None
    if not isinstance(card, dict):
        raise ArtifactError(f"{path}: model card must be a JSON object")
    if card.get("schema_version") != CARD_SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: schema_version {card.get('schema_version')!r} is not {CARD_SCHEMA_VERSION}"
        )
    return card


def load_artifact(model_dir: Path) -> LoadedModel:
    """Load and verify the model in `model_dir`, ready for inference (eval mode, on CPU)."""
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise ArtifactError(f"{weights}: model weights not found")
    card = read_card(model_dir)
    actual = sha256_file(weights)
    if card is None:
        spec = DEFAULT_SPEC
    else:
        recorded = card.get("sha256")
        if recorded != actual:
            raise ArtifactError(
                f"{weights}: sha256 {actual[:12]} does not match the model card's "
                f"{str(recorded)[:12]}; refusing to serve a model other than the recorded one"
            )
        try:
            spec = ArchitectureSpec.from_dict(card.get("architecture") or {})
        except (SpecError, TypeError) as error:
            raise ArtifactError(f"{model_dir / CARD_FILE}: bad architecture ({error})") from None
    module = build_model(spec)
    try:
        # weights_only: a state_dict is plain tensors; never unpickle arbitrary objects.
        state = torch.load(weights, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except Exception as error:  # torch raises many types for a corrupt or mismatched file
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise ArtifactError(f"{weights}: cannot load state_dict ({first_line})") from None
    module.eval()
    return LoadedModel(module=module, spec=spec, sha256=actual, card=card)
