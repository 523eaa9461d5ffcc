"""The worker against S3 on moto: outputs, errors and reports where the contract says, with their
content types; a changed or missing object raises InputChanged and writes nothing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from aws_lambda_powertools import Logger, Metrics

from tests.lambda_image.batch.conftest import (
    BUCKET,
    SHIPPED_MODEL,
    object_keys,
    pending_uploads,
    score_bytes,
)
from torchlambda import contract
from torchlambda.batch import events
from torchlambda.batch.csv_rows import LayoutError
from torchlambda.batch.events import ManifestItem
from torchlambda.batch.inputs import list_inputs
from torchlambda.batch.model import BatchModel
from torchlambda.batch.streams import CorruptInput
from torchlambda.batch.worker import BatchWorker, InputChanged, load_worker
from torchlambda.startup import InitError

JOB = "job-1"
INPUTS = {
    "batch/in/day/a.csv": b"1,2\n3,abc\n5,6\n",
    "batch/in/day/b.jsonl.gz": gzip.compress(b'{"id": 1, "x": 0.5}\n{"id": 2, "x": -3}\n'),
    "batch/in/day/sub/t.csv": b"id,x\nq,1.25\n",
}


def worker_event(items: list[ManifestItem], job_id: str = JOB) -> dict[str, Any]:
    return {
        events.ITEMS: [item.to_dict() for item in items],
        events.BATCH_INPUT: {events.JOB_ID: job_id},
    }


def put_inputs(s3: Any, inputs: dict[str, bytes]) -> list[ManifestItem]:
    for key, body in inputs.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return list_inputs(s3, BUCKET, "batch/in/")


@pytest.fixture
def worker(s3: Any, batch_model: BatchModel) -> BatchWorker:
    return BatchWorker(
        model=batch_model, s3=s3, bucket=BUCKET, logger=Logger(service="batch-tests")
    )


def read(s3: Any, key: str) -> tuple[bytes, dict[str, Any]]:
    answer = s3.get_object(Bucket=BUCKET, Key=key)
    return answer["Body"].read(), answer


def test_a_batch_of_objects(
    s3: Any, worker: BatchWorker, batch_model: BatchModel, tmp_path: Path
) -> None:
    items = put_inputs(s3, INPUTS)
    result = worker(worker_event(items), None)
    reports = {report["key"]: report for report in result["objects"]}
    assert list(reports) == sorted(INPUTS)
    for key, report in reports.items():
        assert report["output_key"] == contract.batch_output_key(JOB, key)
        assert report["model_version"] == batch_model.version
        assert isinstance(report["seconds"], float)
        # The report object is the report, written after the output.
        body, answer = read(s3, contract.batch_report_key(JOB, key))
        assert orjson.loads(body) == report
        assert answer["ContentType"] == "application/json"
    assert reports["batch/in/day/a.csv"]["errors_key"] == contract.batch_errors_key(
        JOB, "batch/in/day/a.csv"
    )
    assert reports["batch/in/day/b.jsonl.gz"]["errors_key"] is None
    counts = {
        key: (r["rows_read"], r["rows_predicted"], r["rows_rejected"]) for key, r in reports.items()
    }
    assert counts == {
        "batch/in/day/a.csv": (3, 2, 1),
        "batch/in/day/b.jsonl.gz": (2, 2, 0),
        "batch/in/day/sub/t.csv": (1, 1, 0),
    }

    # Each output is what scoring the same bytes locally gives, with the input's content type.
    for key, content_type, encoding in (
        ("batch/in/day/a.csv", "text/csv", None),
        ("batch/in/day/b.jsonl.gz", "application/jsonl", "gzip"),
        ("batch/in/day/sub/t.csv", "text/csv", None),
    ):
        body, answer = read(s3, contract.batch_output_key(JOB, key))
        local = score_bytes(
            INPUTS[key], key.rsplit("/", 1)[1], tmp_path, predict=batch_model.predict
        )
        assert body == local.output
        assert answer["ContentType"] == content_type
        assert answer.get("ContentEncoding") == encoding

    errors, answer = read(s3, contract.batch_errors_key(JOB, "batch/in/day/a.csv"))
    assert answer["ContentType"] == "application/jsonl"
    assert [orjson.loads(line) for line in errors.splitlines()] == [
        {
            "line": 2,
            "code": "invalid_x",
            "reason": "x must be a decimal number such as 42, -1.5 or 2e3",
            "row": "3,abc",
        }
    ]
    written = object_keys(s3, contract.batch_job_prefix(JOB))
    assert written == sorted(
        [contract.batch_output_key(JOB, key) for key in INPUTS]
        + [contract.batch_report_key(JOB, key) for key in INPUTS]
        + [contract.batch_errors_key(JOB, "batch/in/day/a.csv")]
    )
    assert pending_uploads(s3) == []


def test_a_rerun_writes_the_same_bytes(s3: Any, worker: BatchWorker) -> None:
    items = put_inputs(s3, INPUTS)
    worker(worker_event(items), None)
    first = {key: read(s3, key)[0] for key in object_keys(s3, "batch/out/")}
    worker(worker_event(items), None)
    again = {key: read(s3, key)[0] for key in object_keys(s3, "batch/out/")}
    for key, body in first.items():
        if "/reports/" not in key:  # reports carry the time taken
            assert again[key] == body, key


def test_an_empty_batch(worker: BatchWorker) -> None:
    assert worker(worker_event([]), None) == {"objects": []}


def test_a_changed_object_raises_and_writes_nothing(s3: Any, worker: BatchWorker) -> None:
    (item,) = put_inputs(s3, {"batch/in/a.csv": b"1\n2\n"})
    s3.put_object(Bucket=BUCKET, Key=item.key, Body=b"1\n2\n3\n")  # a new version
    with pytest.raises(InputChanged, match="changed after the job listed it"):
        worker(worker_event([item]), None)
    assert object_keys(s3, "batch/out/") == []


def test_a_missing_object_raises_and_writes_nothing(s3: Any, worker: BatchWorker) -> None:
    (item,) = put_inputs(s3, {"batch/in/a.csv": b"1\n"})
    s3.delete_object(Bucket=BUCKET, Key=item.key)
    with pytest.raises(InputChanged, match="deleted"):
        worker(worker_event([item]), None)
    assert object_keys(s3, "batch/out/") == []


@pytest.mark.parametrize(
    ("key", "body", "error"),
    [
        ("batch/in/a.csv.gz", b"1,2\n3,4\n5,6\n7,8\n9,10\n", CorruptInput),
        ("batch/in/a.csv", b"id,value\n1,2\n", LayoutError),
    ],
)
def test_an_object_that_cannot_be_scored_writes_nothing(
    s3: Any, worker: BatchWorker, key: str, body: bytes, error: type[Exception]
) -> None:
    items = put_inputs(s3, {key: body})
    with pytest.raises(error):
        worker(worker_event(items), None)
    assert object_keys(s3, "batch/out/") == []
    assert pending_uploads(s3) == []


def test_objects_before_a_failing_one_keep_their_reports(s3: Any, worker: BatchWorker) -> None:
    first, second = put_inputs(s3, {"batch/in/a.csv": b"1\n", "batch/in/b.csv": b"2\n"})
    s3.delete_object(Bucket=BUCKET, Key=second.key)
    with pytest.raises(InputChanged):
        worker(worker_event([first, second]), None)
    assert object_keys(s3, "batch/out/") == [
        contract.batch_output_key(JOB, first.key),
        contract.batch_report_key(JOB, first.key),
    ]


def test_the_worker_counts_rows_in_metrics(
    s3: Any, batch_model: BatchModel, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = Metrics(namespace="TorchLambda", service=contract.BATCH_SERVICE_NAME)
    worker = BatchWorker(
        model=batch_model, s3=s3, bucket=BUCKET, logger=Logger(service="t"), metrics=metrics
    )
    items = put_inputs(s3, INPUTS)
    capsys.readouterr()
    worker(worker_event(items), None)
    emitted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    assert len(emitted) == 1
    assert emitted[0]["service"] == contract.BATCH_SERVICE_NAME
    values = {
        name: emitted[0][name]
        for name in ("rows_read", "rows_predicted", "rows_rejected", "objects_scored")
    }
    # Powertools writes each metric's values as a list.
    assert values == {
        "rows_read": [6.0],
        "rows_predicted": [5.0],
        "rows_rejected": [1.0],
        "objects_scored": [3.0],
    }


def worker_env(**values: str) -> dict[str, str]:
    return {
        contract.ENV_MODEL_DIR: str(SHIPPED_MODEL),
        contract.ENV_ARTIFACTS_BUCKET: BUCKET,
        contract.ENV_METRICS_DISABLED: "true",
        **values,
    }


def test_load_worker(aws_env: pytest.MonkeyPatch, batch_model: BatchModel) -> None:
    worker = load_worker(worker_env())
    assert worker.bucket == BUCKET
    assert worker.model.version == batch_model.version
    assert worker.metrics is None
    assert load_worker(worker_env(**{contract.ENV_METRICS_DISABLED: "false"})).metrics is not None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({contract.ENV_ARTIFACTS_BUCKET: ""}, "ARTIFACTS_BUCKET is not set"),
        ({contract.ENV_ARTIFACTS_BUCKET: "  "}, "ARTIFACTS_BUCKET is not set"),
        ({contract.ENV_MODEL_DIR: "/nonexistent/model"}, "model"),
        ({contract.ENV_MAX_ABS_X: "-1"}, "MAX_ABS_X"),
    ],
)
def test_load_worker_refuses_bad_settings(
    aws_env: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(InitError, match=message):
        load_worker(worker_env(**env))
