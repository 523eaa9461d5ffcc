"""The evaluation document (events.py's names), built by the evaluator and read back, checked
field by field, by the promotion: what reaches ``promote`` through the workflow's state or the
ops tools is never trusted as is."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from torchlambda.build_ids import is_key_segment
from torchlambda.contract import MODEL_VERSION_LENGTH
from torchlambda.lifecycle import events
from torchlambda.lifecycle.errors import InvalidEvent
from torchlambda.predictor.digest import is_sha256

MODEL_VERSION = re.compile(f"[0-9a-f]{{{MODEL_VERSION_LENGTH}}}")


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO 8601 in UTC to the second, as training's pointer writes it: 2026-01-31T09:30:00Z."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SetRecord:
    """Which rows both models were scored on: the object's key, its sha256 and its row count."""

    source: str
    sha256: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {events.SOURCE: self.source, events.SHA256: self.sha256, events.ROWS: self.rows}

    @classmethod
    def from_dict(cls, document: Any, where: str) -> SetRecord:
        rows = _value(document, events.ROWS, where)
        if type(rows) is not int or rows < 1:
            raise InvalidEvent(f"{where}.{events.ROWS} must be a whole number >= 1")
        return cls(_text(document, events.SOURCE, where), _sha256(document, where), rows)


@dataclass(frozen=True)
class ScoredModel:
    build_id: str
    sha256: str  # the weights'
    model_version: str
    mse: float  # on the evaluation set

    def to_dict(self) -> dict[str, Any]:
        return {
            events.BUILD_ID: self.build_id,
            events.SHA256: self.sha256,
            events.MODEL_VERSION: self.model_version,
            events.MSE: self.mse,
        }

    @classmethod
    def from_dict(cls, document: Any, where: str) -> ScoredModel:
        build_id = _text(document, events.BUILD_ID, where)
        if not is_key_segment(build_id):
            raise InvalidEvent(f"{where}.{events.BUILD_ID}={build_id[:70]!r} is not a build id")
        version = _text(document, events.MODEL_VERSION, where)
        if not MODEL_VERSION.fullmatch(version):
            raise InvalidEvent(
                f"{where}.{events.MODEL_VERSION} must be {MODEL_VERSION_LENGTH} lowercase hex "
                "digits"
            )
        mse = _number(document, events.MSE, where)
        if mse < 0:
            raise InvalidEvent(f"{where}.{events.MSE} must be >= 0")
        return cls(build_id, _sha256(document, where), version, mse)


@dataclass(frozen=True)
class Evaluation:
    environment: str
    evaluation_set: SetRecord
    candidate: ScoredModel
    champion: ScoredModel | None  # None: no champion yet (the first model)
    champion_etag: str | None  # champion.json's ETag when it was read; None with no champion
    improvement: float | None  # relative to the champion's MSE; None with no champion
    summary: str
    evaluated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            events.ENVIRONMENT: self.environment,
            events.EVALUATION_SET: self.evaluation_set.to_dict(),
            events.CANDIDATE: self.candidate.to_dict(),
            events.CHAMPION: None if self.champion is None else self.champion.to_dict(),
            events.CHAMPION_ETAG: self.champion_etag,
            events.IMPROVEMENT: self.improvement,
            events.SUMMARY: self.summary,
            events.EVALUATED_AT: self.evaluated_at,
        }

    @classmethod
    def from_dict(cls, document: Any, where: str = events.EVALUATION) -> Evaluation:
        if not isinstance(document, Mapping):
            raise InvalidEvent(f"{where} must be a JSON object (the evaluate function's answer)")
        environment = _text(document, events.ENVIRONMENT, where)
        champion_document = _value(document, events.CHAMPION, where)
        champion = (
            None
            if champion_document is None
            else ScoredModel.from_dict(champion_document, f"{where}.{events.CHAMPION}")
        )
        etag = _optional_text(document, events.CHAMPION_ETAG, where)
        improvement = (
            None
            if _value(document, events.IMPROVEMENT, where) is None
            else _number(document, events.IMPROVEMENT, where)
        )
        if (champion is None) != (etag is None) or (champion is None) != (improvement is None):
            raise InvalidEvent(
                f"{where}: {events.CHAMPION}, {events.CHAMPION_ETAG} and {events.IMPROVEMENT} "
                "must all be set (a champion was scored) or all be null (the first model)"
            )
        return cls(
            environment=environment,
            evaluation_set=SetRecord.from_dict(
                _value(document, events.EVALUATION_SET, where), f"{where}.{events.EVALUATION_SET}"
            ),
            candidate=ScoredModel.from_dict(
                _value(document, events.CANDIDATE, where), f"{where}.{events.CANDIDATE}"
            ),
            champion=champion,
            champion_etag=etag,
            improvement=improvement,
            summary=_text(document, events.SUMMARY, where),
            evaluated_at=_text(document, events.EVALUATED_AT, where),
        )


def _value(document: Any, name: str, where: str) -> Any:
    if not isinstance(document, Mapping):
        raise InvalidEvent(f"{where} must be a JSON object")
    if name not in document:
        raise InvalidEvent(f"{where}.{name} is missing")
    return document[name]


def _text(document: Any, name: str, where: str) -> str:
    value = _value(document, name, where)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"{where}.{name} must be a non-empty string")
    return value


def _optional_text(document: Any, name: str, where: str) -> str | None:
    return None if _value(document, name, where) is None else _text(document, name, where)


def _number(document: Any, name: str, where: str) -> float:
    value = _value(document, name, where)
    # bool is an int subclass; true is not a number here.
    if type(value) not in (int, float) or not math.isfinite(value):
        raise InvalidEvent(f"{where}.{name} must be a finite number")
    return float(value)


def _sha256(document: Any, where: str) -> str:
    value = _text(document, events.SHA256, where)
    if not is_sha256(value):
        raise InvalidEvent(f"{where}.{events.SHA256} must be 64 lowercase hex digits")
    return value
