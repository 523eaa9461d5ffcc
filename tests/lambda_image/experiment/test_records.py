"""The feedback event and the request line read back exactly what was written."""

from __future__ import annotations

import json

import pytest

from torchlambda.experiment.feedback import FeedbackEvent, FeedbackEventError
from torchlambda.experiment.request_record import RequestRecord, ShadowRun

EVENT = FeedbackEvent(
    experiment="shadow",
    request_id="r-1",
    champion_version="a" * 12,
    challenger_version="b" * 12,
    x=(1.0, 2.0),
    y=(3.0, 4.5),
    champion_y=(2.9, 4.0),
    challenger_y=(3.1, 4.4),
)


def test_a_feedback_event_round_trips_through_json() -> None:
    assert FeedbackEvent.from_fields(json.loads(json.dumps(EVENT.fields()))) == EVENT


@pytest.mark.parametrize(
    "change",
    [
        {"experiment": "canary"},
        {"champion_version": ""},
        {"y": [3.0]},
        {"x": [1.0, "2"]},
        {"challenger_y": None},
        {"challenger_version": None},
        {"x": [], "y": [], "champion_y": [], "challenger_y": []},
    ],
    ids=repr,
)
def test_a_malformed_feedback_event_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(FeedbackEventError):
        FeedbackEvent.from_fields({**EVENT.fields(), **change})


def test_a_request_line_round_trips_and_other_lines_are_not_requests() -> None:
    record = RequestRecord(
        request_id="r-2",
        route="/predict",
        status=200,
        experiment="shadow",
        variant="champion",
        model_version="a" * 12,
        champion_version="a" * 12,
        challenger_version="b" * 12,
        predictions=1,
        latency_ms=0.05,
        shadow=ShadowRun(0.04, None, 0.25, [1.0], [1.25]),
    )
    assert RequestRecord.from_fields(json.loads(json.dumps(record.fields()))) == record
    assert RequestRecord.from_fields({"message": "model loaded (champion)"}) is None
    assert RequestRecord.from_fields(EVENT.fields()) is None
