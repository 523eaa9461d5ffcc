"""The evaluation document, read back field by field: what promote is given is never trusted."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from torchlambda.lifecycle import events
from torchlambda.lifecycle.documents import Evaluation, utc_timestamp
from torchlambda.lifecycle.errors import InvalidEvent

SHA = "a" * 64


def scored(build_id: str, mse: float) -> dict[str, Any]:
    return {
        events.BUILD_ID: build_id,
        events.SHA256: SHA,
        events.MODEL_VERSION: "0123456789ab",
        events.MSE: mse,
    }


EVALUATION: dict[str, Any] = {
    events.ENVIRONMENT: "dev",
    events.EVALUATION_SET: {events.SOURCE: "data/holdout.csv", events.SHA256: SHA, events.ROWS: 3},
    events.CANDIDATE: scored("b2", 1.0),
    events.CHAMPION: scored("b1", 2),
    events.CHAMPION_ETAG: '"etag"',
    events.IMPROVEMENT: 0.5,
    events.SUMMARY: "candidate b2 ... vs champion b1 ...",
    events.EVALUATED_AT: "2026-01-31T09:30:00Z",
}


def edited(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(EVALUATION)
    *parents, name = path
    target = document
    for parent in parents:
        target = target[parent]
    if value is KeyError:
        del target[name]
    else:
        target[name] = value
    return document


def test_a_document_round_trips() -> None:
    parsed = Evaluation.from_dict(EVALUATION)
    assert parsed.to_dict() == EVALUATION | {events.CHAMPION: scored("b1", 2.0)}
    assert parsed.champion is not None and parsed.champion.mse == 2.0


def test_the_first_model_has_all_three_champion_fields_null() -> None:
    first = EVALUATION | {
        events.CHAMPION: None,
        events.CHAMPION_ETAG: None,
        events.IMPROVEMENT: None,
    }
    assert Evaluation.from_dict(first).to_dict() == first


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((events.ENVIRONMENT,), KeyError, "evaluation.environment is missing"),
        ((events.ENVIRONMENT,), "", "evaluation.environment must be a non-empty string"),
        ((events.CANDIDATE, events.MSE), "1", "evaluation.candidate.mse must be a finite number"),
        ((events.CANDIDATE, events.MSE), True, "evaluation.candidate.mse must be a finite"),
        ((events.CANDIDATE, events.MSE), float("nan"), "evaluation.candidate.mse must be a finite"),
        ((events.CANDIDATE, events.MSE), -1, "evaluation.candidate.mse must be >= 0"),
        ((events.CANDIDATE, events.BUILD_ID), "../x", "candidate.build_id='../x' is not a build"),
        ((events.CANDIDATE, events.SHA256), "A" * 64, "candidate.sha256 must be 64 lowercase hex"),
        ((events.CHAMPION, events.MODEL_VERSION), "abc", "champion.model_version must be 12"),
        ((events.EVALUATION_SET, events.ROWS), 0, "evaluation_set.rows must be a whole number"),
        ((events.EVALUATION_SET, events.ROWS), 2.0, "evaluation_set.rows must be a whole number"),
        ((events.EVALUATION_SET,), [], "evaluation.evaluation_set must be a JSON object"),
        ((events.CHAMPION_ETAG,), None, "must all be set"),
        ((events.IMPROVEMENT,), None, "must all be set"),
        ((events.CHAMPION,), None, "must all be set"),
    ],
)
def test_a_wrong_field_is_named(path: tuple[str, ...], value: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message.replace("(", r"\(").replace(".", r"\.")):
        Evaluation.from_dict(edited(path, value))


def test_not_an_object_is_named() -> None:
    with pytest.raises(InvalidEvent, match="evaluation must be a JSON object"):
        Evaluation.from_dict([EVALUATION])


def test_timestamps_are_utc_to_the_second() -> None:
    moment = datetime(2026, 1, 31, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert utc_timestamp(moment) == "2026-01-31T09:30:00Z"
    assert utc_timestamp().endswith("Z") and utc_timestamp() <= utc_timestamp(
        datetime.now(UTC) + timedelta(seconds=1)
    )
