"""The champion pointer, ``models/<env>/champion.json``: the build an environment should serve,
and why. Without torch: the promote function and the ops tools read and move it.

It moves only by a conditional write: ``If-Match`` the ETag the evaluator read when it scored the
candidate against the champion (``If-None-Match: *`` when there was none). A promotion therefore
replaces exactly the champion its candidate beat; of two promotions from the same evaluation one
wins and the other fails with ``ChampionMoved``, leaving the winner in place.

The document names the build as ``latest.json`` does (``build_id`` and ``sha256``), so the tools
that install the latest build install the champion the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from torchlambda.build_ids import is_key_segment
from torchlambda.contract import MODEL_VERSION_LENGTH, champion_key
from torchlambda.lifecycle import events
from torchlambda.lifecycle.cards import read_card
from torchlambda.lifecycle.documents import Evaluation, utc_timestamp
from torchlambda.lifecycle.errors import (
    ChampionMoved,
    ChampionUnreadable,
    InvalidEvent,
    ModelRefused,
    StorageError,
)
from torchlambda.model_sources.errors import one_line
from torchlambda.predictor.digest import is_sha256
from torchlambda.s3_conditional import (
    ConditionFailed,
    PutFailed,
    conditional_put,
    unchanged_since,
)

# 1: the first champion document.
CHAMPION_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Champion:
    """champion.json as it was read, and its ETag: the condition a promotion writes on."""

    document: dict[str, Any]
    etag: str

    @property
    def build_id(self) -> str:
        return str(self.document[events.BUILD_ID])

    @property
    def sha256(self) -> str:
        return str(self.document[events.SHA256])


def read_champion(s3: Any, bucket: str, environment: str) -> Champion | None:
    """The environment's champion, or None before the first promotion."""
    key = champion_key(environment)
    where = f"s3://{bucket}/{key}"
    # A listing first, so that "no champion yet" is told from "may not read it" with a listing
    # scoped to this one key (without s3:ListBucket, S3 answers a missing key with 403).
    try:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        if not any(item["Key"] == key for item in listing.get("Contents", [])):
            return None
        answer = s3.get_object(Bucket=bucket, Key=key)
        body = answer["Body"].read()
    except (ClientError, BotoCoreError) as error:
        raise ChampionUnreadable(
            f"{where}: cannot read ({one_line(error)}); if a promotion or a rollback just "
            "moved it, run again"
        ) from None
    return Champion(_champion_document(body, where), str(answer["ETag"]))


def _champion_document(body: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        problem = "not a JSON object"
    elif not _is(is_key_segment, document.get(events.BUILD_ID)):
        problem = f"{events.BUILD_ID} is not a build id"
    elif not _is(is_sha256, document.get(events.SHA256)):
        problem = f"{events.SHA256} is not the weights' sha256"
    else:
        return document
    raise ChampionUnreadable(
        f"{where} is not a champion document ({problem}); restore a previous version of it "
        "(the bucket keeps them) before evaluating or promoting"
    )


def _is(check: Callable[[str], bool], value: Any) -> bool:
    return isinstance(value, str) and check(value)


def champion_document(
    evaluation: Evaluation,
    card: Mapping[str, Any],
    *,
    promoted_by: str,
    forced: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What champion.json says once the evaluation's candidate is promoted."""
    candidate, previous = evaluation.candidate, evaluation.champion
    return {
        events.SCHEMA_VERSION: CHAMPION_SCHEMA_VERSION,
        events.ENVIRONMENT: evaluation.environment,
        events.BUILD_ID: candidate.build_id,
        events.SHA256: candidate.sha256,
        events.MODEL_ID: card["model_id"],
        events.MODEL_VERSION: candidate.model_version,
        events.METRICS: card.get("metrics"),
        events.EVALUATION: {
            events.EVALUATION_SET: evaluation.evaluation_set.to_dict(),
            events.CANDIDATE: candidate.to_dict(),
            events.CHAMPION: None if previous is None else previous.to_dict(),
            events.IMPROVEMENT: evaluation.improvement,
            events.EVALUATED_AT: evaluation.evaluated_at,
        },
        events.PREVIOUS: None
        if previous is None
        else {events.BUILD_ID: previous.build_id, events.SHA256: previous.sha256},
        events.PROMOTED_AT: utc_timestamp(now),
        events.PROMOTED_BY: promoted_by,
        events.FORCED: forced,
    }


def promote(
    s3: Any,
    bucket: str,
    environment: str,
    evaluation: Mapping[str, Any],
    *,
    promoted_by: str,
    forced: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Make the evaluation's candidate the environment's champion; the new champion document.

    `promoted_by`: the workflow's execution ARN, or ``cli:<user>``. `forced`: why a promotion
    skips the gate (recorded); None when the gate passed it. The gate is the caller's: the
    workflow's Choice state, or ``Gate.judge`` in ``make promote``.
    """
    parsed = Evaluation.from_dict(evaluation)
    if parsed.environment != environment:
        raise InvalidEvent(
            f"{events.EVALUATION}.{events.ENVIRONMENT} is {parsed.environment!r}: a candidate "
            f"evaluated in {parsed.environment} cannot be promoted in {environment}"
        )
    if not promoted_by.strip():
        raise InvalidEvent(f"{events.PROMOTED_BY} must name who promotes (an execution ARN)")
    if forced is not None and not forced.strip():
        raise InvalidEvent("a forced promotion needs a reason (FORCE=<why>)")
    card = _candidate_card(s3, bucket, parsed)
    document = champion_document(parsed, card, promoted_by=promoted_by, forced=forced, now=now)
    body = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    key = champion_key(environment)
    try:
        conditional_put(
            s3,
            bucket,
            key,
            body,
            content_type="application/json",
            condition=unchanged_since(parsed.champion_etag),
        )
    except ConditionFailed:
        raise ChampionMoved(
            f"s3://{bucket}/{key}: the champion moved since the candidate was evaluated; "
            f"nothing was replaced (evaluate build {parsed.candidate.build_id} again to judge it "
            "against the new champion)"
        ) from None
    except PutFailed as error:
        raise StorageError(str(error)) from None
    return document


def _candidate_card(s3: Any, bucket: str, evaluation: Evaluation) -> dict[str, Any]:
    """The candidate's card, re-read: it must still describe the weights that were evaluated."""
    candidate = evaluation.candidate
    card = read_card(s3, bucket, evaluation.environment, candidate.build_id, "candidate")
    model_id = str(card.get("model_id"))
    if card["sha256"] != candidate.sha256 or model_id[:MODEL_VERSION_LENGTH] != (
        candidate.model_version
    ):
        raise ModelRefused(
            f"candidate {candidate.build_id}: its model card records sha256 "
            f"{str(card['sha256'])[:12]} and version {model_id[:MODEL_VERSION_LENGTH]}, not the "
            f"evaluated {candidate.sha256[:12]} and {candidate.model_version}; nothing was "
            "promoted"
        )
    return card
