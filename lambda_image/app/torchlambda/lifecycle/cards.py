"""A published build's model card, read from S3 (without torch: the promote function reads it)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from torchlambda.contract import CARD_FILE, model_key
from torchlambda.lifecycle.errors import ModelRefused
from torchlambda.model_sources.errors import one_line
from torchlambda.model_sources.s3_object import S3Location, s3_failure
from torchlambda.predictor.digest import is_sha256


def read_card(s3: Any, bucket: str, environment: str, build_id: str, role: str) -> dict[str, Any]:
    """The card of build `build_id` in `environment`; `role` (candidate, champion) names it in
    errors."""
    location = S3Location(bucket, model_key(environment, build_id, CARD_FILE))
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
    except (ClientError, BotoCoreError) as error:
        raise ModelRefused(
            f"{role} {build_id}: {s3_failure(location, error)}; was build {build_id} published "
            f"to {environment}?"
        ) from None
    try:
        card = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ModelRefused(
            f"{role} {build_id}: {location}: unreadable model card ({one_line(error)})"
        ) from None
    if isinstance(card, dict) and isinstance(card.get("sha256"), str) and is_sha256(card["sha256"]):
        return card
    raise ModelRefused(
        f"{role} {build_id}: {location}: not a model card (no weights' sha256 in it)"
    )
