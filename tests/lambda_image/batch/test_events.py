"""The documents between the state machine and the functions: parsed strictly, by name."""

from __future__ import annotations

from typing import Any

import pytest

from torchlambda.batch.events import EventError, ManifestItem, ObjectReport, WorkerEvent

ITEM = {"key": "batch/in/a.csv", "etag": '"abc"', "size": 12}
REPORT = {
    "key": "batch/in/a.csv",
    "output_key": "batch/out/j/predictions/a.csv",
    "errors_key": None,
    "rows_read": 3,
    "rows_predicted": 3,
    "rows_rejected": 0,
    "model_version": "e05f2e21f808",
    "seconds": 0.5,
}


def test_a_worker_event() -> None:
    event = WorkerEvent.parse({"Items": [ITEM, ITEM], "BatchInput": {"job_id": "j"}})
    assert event.job_id == "j"
    assert event.items == (ManifestItem("batch/in/a.csv", '"abc"', 12),) * 2
    assert event.items[0].to_dict() == ITEM


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event must be a JSON object"),
        ({"BatchInput": {"job_id": "j"}}, "event.Items must be a list"),
        ({"Items": []}, "event.BatchInput must be a Mapping"),
        ({"Items": [], "BatchInput": {"job_id": 1}}, "BatchInput.job_id must be a str"),
        ({"Items": [{**ITEM, "size": True}], "BatchInput": {"job_id": "j"}}, r"Items\[0\].size"),
        ({"Items": [ITEM, {"key": "k"}], "BatchInput": {"job_id": "j"}}, r"Items\[1\].etag"),
    ],
)
def test_a_bad_worker_event_names_the_field(event: Any, message: str) -> None:
    with pytest.raises(EventError, match=message):
        WorkerEvent.parse(event)


def test_an_object_report_round_trips() -> None:
    report = ObjectReport.from_dict(REPORT)
    assert report.to_dict() == REPORT
    with_errors = {**REPORT, "errors_key": "batch/out/j/errors/a.csv.errors.jsonl", "seconds": 2}
    assert ObjectReport.from_dict(with_errors).to_dict() == {**with_errors, "seconds": 2.0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"errors_key": 1}, "errors_key must be a str or null"),
        ({"seconds": "1"}, "seconds must be a number"),
        ({"seconds": True}, "seconds must be a number"),
        ({"rows_read": 1.5}, "rows_read must be a int"),
        ({"model_version": None}, "model_version must be a str"),
    ],
)
def test_a_bad_object_report(change: dict[str, Any], message: str) -> None:
    with pytest.raises(EventError, match=message):
        ObjectReport.from_dict({**REPORT, **change})
