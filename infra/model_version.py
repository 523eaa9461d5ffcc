"""The version of the model the image holds, read at synth without torch (or aws_cdk).

The card's ``model_id`` (its first ``MODEL_VERSION_LENGTH`` hex digits are the version every
response carries); with no card, or for a build loaded from S3 or EFS, ``weights-`` and the first
12 hex digits of the weights' sha256.
The Batch stack publishes it, and a batch job's id includes it: a new model scores anew.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from infra.settings.model_source import ImageSource, ModelSource
from torchlambda import contract

MODEL_DIR = Path(__file__).resolve().parents[1] / "lambda_image" / "model"
WEIGHTS_PREFIX = "weights-"
HEX = re.compile(r"[0-9a-f]+")


class ModelVersionError(ValueError):
    """The model directory holds nothing a version can be read from; the message says what."""


def model_version(model_dir: Path = MODEL_DIR) -> str:
    card_path = model_dir / contract.CARD_FILE
    if card_path.exists():
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ModelVersionError(f"{card_path}: unreadable model card ({error})") from None
        model_id = card.get("model_id") if isinstance(card, dict) else None
        if not (
            isinstance(model_id, str)
            and len(model_id) >= contract.MODEL_VERSION_LENGTH
            and HEX.fullmatch(model_id)
        ):
            raise ModelVersionError(f"{card_path}: model_id is not a hex digest")
        return model_id[: contract.MODEL_VERSION_LENGTH]
    weights = model_dir / contract.WEIGHTS_FILE
    if not weights.is_file():
        raise ModelVersionError(
            f"{model_dir} holds neither {contract.CARD_FILE} nor {contract.WEIGHTS_FILE}; "
            "train (`make train`) or fetch a model (`make fetch-model`) first"
        )
    digest = hashlib.sha256()
    with weights.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return WEIGHTS_PREFIX + digest.hexdigest()[: contract.MODEL_VERSION_LENGTH]


def source_model_version(source: ModelSource, model_dir: Path = MODEL_DIR) -> str:
    """The image's model's version, or for a published build the weights' pinned sha256 (its
    card is in S3, which synthesis does not read)."""
    if isinstance(source, ImageSource):
        return model_version(model_dir)
    return WEIGHTS_PREFIX + source.sha256[: contract.MODEL_VERSION_LENGTH]
