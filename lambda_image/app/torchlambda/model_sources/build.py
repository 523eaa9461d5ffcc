"""One published build (models/<env>/<build id>/): its card and weights, pinned to the weights'
sha256, fetched from S3 into a directory or verified where they already are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from torchlambda.contract import CARD_FILE, WEIGHTS_FILE
from torchlambda.model_sources.disk import LOCAL_DISK, Disk
from torchlambda.model_sources.errors import ModelSourceError, one_line
from torchlambda.model_sources.s3_object import Fetched, S3Location, fetch_object
from torchlambda.model_sources.transfer import TRANSFER_CONFIG
from torchlambda.predictor.digest import sha256_stream


def check_card(card: Path, pinned_sha256: str, shown_as: str) -> None:
    """The card must record the pinned weights: else the prefix and the pin name two builds."""
    try:
        recorded = json.loads(card.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError) as error:  # AttributeError: not an object
        raise ModelSourceError(f"{shown_as}: unreadable model card ({one_line(error)})") from None
    if recorded != pinned_sha256:
        raise ModelSourceError(
            f"{shown_as} records sha256 {str(recorded)[:12]}, not the pinned "
            f"{pinned_sha256[:12]}; refusing to serve a model other than the pinned one"
        )


def fetch_build(
    client: Any,
    bucket: str,
    prefix: str,
    directory: Path,
    pinned_sha256: str,
    *,
    disk: Disk = LOCAL_DISK,
    config: TransferConfig = TRANSFER_CONFIG,
) -> Fetched:
    """The card, checked, then the weights, verified: the weights' name appears last, so a
    directory whose weights are in place holds the whole build. Returns the weights' fetch."""
    card_location = S3Location(bucket, prefix + CARD_FILE)
    card = fetch_object(client, card_location, directory / CARD_FILE, disk=disk, config=config)
    try:
        # Before the weights' download: a card for another build stops it at once.
        check_card(card.path, pinned_sha256, str(card_location))
    except ModelSourceError:
        card.path.unlink()
        raise
    return fetch_object(
        client,
        S3Location(bucket, prefix + WEIGHTS_FILE),
        directory / WEIGHTS_FILE,
        pinned_sha256=pinned_sha256,
        disk=disk,
        config=config,
    )


def verify_build(directory: Path, pinned_sha256: str) -> int:
    """The size of the weights in `directory`, once they and the card are shown to be the pinned
    build's; the reason as a ModelSourceError otherwise."""
    weights, card = directory / WEIGHTS_FILE, directory / CARD_FILE
    if not weights.is_file() or not card.is_file():
        raise ModelSourceError(f"{directory}: {WEIGHTS_FILE} or {CARD_FILE} is missing")
    check_card(card, pinned_sha256, str(card))
    try:
        with weights.open("rb") as stream:
            digest = sha256_stream(stream)
    except OSError as error:
        raise ModelSourceError(f"{weights}: cannot read ({error.strerror or error})") from None
    if digest.sha256 != pinned_sha256:
        raise ModelSourceError(
            f"{weights}: sha256 {digest.sha256[:12]} is not the pinned {pinned_sha256[:12]}"
        )
    return digest.size
