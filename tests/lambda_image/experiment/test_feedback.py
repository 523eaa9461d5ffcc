"""POST /feedback: labelled pairs, scored by every served model, logged in bounded events."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lambda_image.local.function import LocalContext
from tests.lambda_image.conftest import http_event
from tests.lambda_image.lambda_models import reference_prediction
from torchlambda.contract import FEEDBACK_PAIRS_PER_EVENT
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE, FeedbackEvent
from torchlambda.function import Function


def feedback_events(caplog: pytest.LogCaptureFixture) -> list[FeedbackEvent]:
    return [
        FeedbackEvent.from_fields(r.__dict__)
        for r in caplog.records
        if r.getMessage() == FEEDBACK_MESSAGE
    ]


def test_one_pair_is_recorded_with_every_models_prediction(
    function: Function,
    model_dir: Path,
    challenger_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    event = http_event("POST", "/feedback", b'{"x": 42, "y": 40.5}')
    response = function(event, LocalContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "recorded": 1,
        "model_version": function.model_version,
        "variant": "champion",
    }
    (recorded,) = feedback_events(caplog)
    assert (recorded.x, recorded.y) == ((42.0,), (40.5,))
    assert recorded.request_id == event["requestContext"]["requestId"]
    assert recorded.experiment == function.variants.mode
    assert recorded.champion_version == function.model_version
    assert recorded.champion_y == pytest.approx(reference_prediction(model_dir, [42.0]), rel=1e-5)
    if function.variants.challenger is None:
        assert recorded.challenger_y is None and recorded.challenger_version is None
    else:
        assert recorded.challenger_version == function.variants.challenger_version
        expected = reference_prediction(challenger_dir, [42.0])
        assert recorded.challenger_y == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_a_batch_is_logged_in_events_of_bounded_size(
    function: Function, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    count = 2 * FEEDBACK_PAIRS_PER_EVENT + 500
    pairs = [{"x": i / 100, "y": i / 50} for i in range(count)]
    response = function(
        http_event("POST", "/feedback", json.dumps({"pairs": pairs}).encode()), LocalContext()
    )
    assert json.loads(response["body"])["recorded"] == count
    events = feedback_events(caplog)
    assert [len(e.x) for e in events] == [FEEDBACK_PAIRS_PER_EVENT] * 2 + [500]
    assert [x for e in events for x in e.x] == [p["x"] for p in pairs]
    assert [y for e in events for y in e.y] == [p["y"] for p in pairs]
    # Each event is one log line: far below CloudWatch Logs' 256 KB per event.
    longest = max(len(json.dumps(e.fields())) for e in events)
    assert longest < 128 * 1024


def test_feedback_with_a_failing_challenger_still_records_the_champions(
    function: Function, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    challenger = function.variants.challenger
    if challenger is None:
        pytest.skip("no challenger without an experiment")

    def explode(batch: object) -> list[float]:
        raise RuntimeError("challenger exploded")

    monkeypatch.setattr(challenger.predictor, "predict_batch", explode)
    caplog.set_level(logging.INFO)
    response = function(http_event("POST", "/feedback", b'{"x": 1, "y": 2}'), LocalContext())
    assert response["statusCode"] == 200
    (recorded,) = feedback_events(caplog)
    assert recorded.challenger_y is None and recorded.challenger_version is None
    warnings = [r.__dict__ for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and warnings[-1]["challenger_failure"].startswith("RuntimeError")
