"""The job function on moto: validate's checks and manifest; summarize over result writer files
shaped as Step Functions writes them, or over the objects' reports; the verdicts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aws_lambda_powertools import Logger

from tests.lambda_image.batch.conftest import BUCKET, object_keys
from torchlambda import contract
from torchlambda.batch import events
from torchlambda.batch.events import EventError, ManifestItem
from torchlambda.batch.job import BatchJob, InvalidJob, load_job, summarize, validate
from torchlambda.batch.model import BatchModel
from torchlambda.batch.worker import BatchWorker, InputChanged
from torchlambda.startup import InitError

JOB = "job-1"
STARTED = "2026-11-21T19:00:00.000Z"
FINISHED = dt.datetime(2026, 11, 21, 19, 1, 30, 250000, tzinfo=dt.UTC)
ACCOUNT = "arn:aws:states:us-east-1:123456789012"


def validate_event(input_key: Any, job_id: Any = JOB) -> dict[str, Any]:
    return {
        events.STEP: events.VALIDATE,
        events.REQUEST: {events.INPUT: input_key},
        "job_id": job_id,
    }


def put(s3: Any, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)


# ---- validate -----------------------------------------------------------------------------


def test_validate_lists_the_prefix_and_writes_the_manifest(s3: Any) -> None:
    put(
        s3,
        {
            "batch/in/day1/b.csv.gz": b"0" * 10,
            "batch/in/day1/a.csv": b"1\n2\n",
            "batch/in/day1/sub/c.jsonl": b'{"x": 1}\n',
            "batch/in/day10/d.csv": b"1\n",  # another prefix that merely starts the same
            "batch/in/day1/": b"",  # a console-made folder
        },
    )
    job = validate(validate_event("batch/in/day1"), s3, BUCKET)
    assert job == {
        "job_id": JOB,
        "input": "batch/in/day1",
        "manifest_key": contract.batch_manifest_key(JOB),
        events.RESULTS_PREFIX: "batch/out/job-1/map",  # the result writer adds /<run>/...
        "objects": 3,
        "bytes": 10 + 4 + 9,
    }
    answer = s3.get_object(Bucket=BUCKET, Key=contract.batch_manifest_key(JOB))
    assert answer["ContentType"] == "application/jsonl"
    lines = [orjson.loads(line) for line in answer["Body"].read().splitlines()]
    assert [line["key"] for line in lines] == [
        "batch/in/day1/a.csv",
        "batch/in/day1/b.csv.gz",
        "batch/in/day1/sub/c.jsonl",
    ]
    head = s3.head_object(Bucket=BUCKET, Key="batch/in/day1/a.csv")
    assert lines[0] == {"key": "batch/in/day1/a.csv", "etag": head["ETag"], "size": 4}


def manifest_keys(s3: Any, job: dict[str, Any]) -> list[str]:
    body = s3.get_object(Bucket=BUCKET, Key=job["manifest_key"])["Body"].read()
    return [orjson.loads(line)["key"] for line in body.splitlines()]


def test_a_key_that_prefixes_another_lists_only_itself(s3: Any) -> None:
    put(s3, {"batch/in/a.csv": b"1\n", "batch/in/a.csv.gz": b"zz", "batch/in/a.csv.bak": b""})
    job = validate(validate_event("batch/in/a.csv"), s3, BUCKET)
    assert manifest_keys(s3, job) == ["batch/in/a.csv"]
    assert (job["objects"], job["bytes"]) == (1, 2)
    # Below it as a folder is named too (S3 keeps both `a.csv` and `a.csv/x.csv`).
    put(s3, {"batch/in/a.csv/x.csv": b"2\n"})
    again = validate(validate_event("batch/in/a.csv", job_id="job-2"), s3, BUCKET)
    assert manifest_keys(s3, again) == ["batch/in/a.csv", "batch/in/a.csv/x.csv"]


def test_an_unsupported_object_under_the_prefix_is_refused(s3: Any) -> None:
    put(s3, {"batch/in/d/a.csv": b"1\n", "batch/in/d/README.md": b"#", "batch/in/d/z.txt": b""})
    with pytest.raises(InvalidJob) as refused:
        validate(validate_event("batch/in/d/"), s3, BUCKET)
    assert str(refused.value) == (
        "2 object(s) under batch/in/d/ are not batch inputs (first: batch/in/d/README.md); "
        "name them *.csv, *.csv.gz, *.jsonl, *.jsonl.gz"
    )
    assert object_keys(s3, "batch/out/") == []


def test_an_empty_prefix_is_refused(s3: Any) -> None:
    put(s3, {"batch/in/other/a.csv": b"1\n"})
    with pytest.raises(InvalidJob) as refused:
        validate(validate_event("batch/in/none/"), s3, BUCKET)
    assert str(refused.value) == f"nothing to score: no object s3://{BUCKET}/batch/in/none/"
    assert object_keys(s3, "batch/out/") == []


START_WITH = 'start the job with {"input": "batch/in/<key or prefix>"}'
BELOW = "name a key or prefix below batch/in/, such as batch/in/scores.csv.gz"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"step": "validate", "job_id": JOB}, f"request must be a JSON object: {START_WITH}"),
        (validate_event(5), f"request.input must be a str: {START_WITH}"),
        (
            {**validate_event("batch/in/set/a.csv"), "request": "batch/in/set/a.csv"},
            "request must be",
        ),
        (
            validate_event("batch/in/set/a.csv", job_id=None),
            f"event.job_id must be a str: {START_WITH}",
        ),
        (
            validate_event("batch/in/set/a.csv", job_id="a/b"),
            "job id 'a/b': use 1 to 80 of A-Z, a-z, 0-9, - and _",
        ),
        (validate_event("batch/in/set/a.csv", job_id="j" * 81), "job id 'jjj"),
        (validate_event("batch/in/set/a.csv", job_id=""), "job id '': use 1 to 80"),
        (validate_event("data/train.csv"), f"input 'data/train.csv': {BELOW}"),
        (validate_event("batch/in/"), f"input 'batch/in/': {BELOW}"),
        (validate_event("batch/in"), f"input 'batch/in': {BELOW}"),
        (validate_event("batch/in//"), f"input 'batch/in//': {BELOW}"),
        (validate_event("batch/out/x.csv"), f"input 'batch/out/x.csv': {BELOW}"),
    ],
)
def test_bad_requests_are_refused_with_a_message(
    s3: Any, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidJob) as refused:
        validate(event, s3, BUCKET)
    assert str(refused.value).startswith(message)
    assert object_keys(s3) == []


# ---- summarize ----------------------------------------------------------------------------


@pytest.fixture
def worker(s3: Any, batch_model: BatchModel) -> BatchWorker:
    return BatchWorker(model=batch_model, s3=s3, bucket=BUCKET, logger=Logger(service="t"))


def start(s3: Any, objects: dict[str, bytes], input_key: str = "batch/in/set/") -> dict[str, Any]:
    put(s3, objects)
    return validate(validate_event(input_key), s3, BUCKET)


def manifest_items(s3: Any, job: dict[str, Any]) -> list[ManifestItem]:
    body = s3.get_object(Bucket=BUCKET, Key=job["manifest_key"])["Body"].read()
    return [ManifestItem.from_dict(orjson.loads(line)) for line in body.splitlines()]


def batch_event(items: list[ManifestItem]) -> dict[str, Any]:
    return {
        events.ITEMS: [item.to_dict() for item in items],
        events.BATCH_INPUT: {events.JOB_ID: JOB},
    }


def names() -> Iterator[str]:
    for index in range(1000):
        yield f"{index:08x}-0000-4000-8000-000000000000"


NAMES = names()


def record(event: dict[str, Any], worker: BatchWorker) -> dict[str, Any]:
    """The result writer's record of one child execution running the worker on `event`."""
    name = next(NAMES)
    document: dict[str, Any] = {
        "ExecutionArn": f"{ACCOUNT}:execution:torchlambda-batch-dev/Score:{name}",
        "Input": json.dumps(event),
        "InputDetails": {"Included": True},
        "Name": name,
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "StartDate": "2026-11-21T19:00:01.000Z",
        "StateMachineArn": f"{ACCOUNT}:stateMachine:torchlambda-batch-dev/Score",
        "StopDate": "2026-11-21T19:00:02.000Z",
    }
    try:
        output = worker(event, None)
    except Exception as error:
        cause = {"errorMessage": str(error), "errorType": type(error).__name__}
        document.update(
            Status="FAILED",
            Error=type(error).__name__,
            Cause=json.dumps(cause),
            RedriveStatus="REDRIVABLE",
        )
    else:
        document.update(
            Status="SUCCEEDED", Output=json.dumps(output), OutputDetails={"Included": True}
        )
    return document


def write_results(s3: Any, records: list[dict[str, Any]], run: str | None = None) -> str:
    """The result writer's files for one Map run: manifest.json and its result files."""
    run = run or next(NAMES)
    prefix = f"{contract.batch_results_prefix(JOB)}{run}/"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        chosen = [r for r in records if r["Status"] == status]
        if chosen:
            body = json.dumps(chosen).encode()
            key = f"{prefix}{status}_0.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest = {
        "DestinationBucket": BUCKET,
        "MapRunArn": f"{ACCOUNT}:mapRun:torchlambda-batch-dev/Score:{run}",
        "ResultFiles": files,
    }
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}manifest.json", Body=json.dumps(manifest).encode())
    return prefix


def summarize_event(job: dict[str, Any], map_error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        events.STEP: events.SUMMARIZE,
        events.JOB: job,
        events.STARTED_AT: STARTED,
        events.MAP_ERROR: map_error or {},
    }


def run_summary(s3: Any, job: dict[str, Any], tolerated: float, **kw: Any) -> dict[str, Any]:
    verdict = summarize(summarize_event(job, **kw), s3, BUCKET, tolerated, now=FINISHED)
    assert verdict[events.SUMMARY_KEY] == contract.batch_summary_key(JOB)
    answer = s3.get_object(Bucket=BUCKET, Key=contract.batch_summary_key(JOB))
    assert answer["ContentType"] == "application/json"
    summary: dict[str, Any] = orjson.loads(answer["Body"].read())
    assert (summary["status"], summary["error"], summary["cause"]) == (
        verdict[events.STATUS],
        verdict[events.ERROR],
        verdict[events.CAUSE],
    )
    return summary


GOOD = {
    "batch/in/set/a.csv": b"".join(b"%d,%d\n" % (i, i) for i in range(9)) + b"9,bad\n",
    "batch/in/set/b.jsonl": b'{"x": 1}\n{"x": 2}\n',
    "batch/in/set/c.csv.gz": b"",  # an empty object: scored, zero rows
}


def test_a_job_that_succeeded(s3: Any, worker: BatchWorker, batch_model: BatchModel) -> None:
    job = start(s3, GOOD)
    items = manifest_items(s3, job)
    # Two item batches: the first of two objects, the second of one.
    results = [record(batch_event(items[:2]), worker), record(batch_event(items[2:]), worker)]
    write_results(s3, results)
    summary = run_summary(s3, job, tolerated=10.0)
    reports = [r for result in results for r in json.loads(result["Output"])["objects"]]
    assert summary == {
        "job_id": JOB,
        "input": "batch/in/set/",
        "status": "SUCCEEDED",
        "error": None,
        "cause": None,
        "model_versions": [batch_model.version],
        "objects": {"total": 3, "succeeded": 3, "failed": 0},
        "rows": {"read": 12, "predicted": 11, "rejected": 1, "rejected_percentage": 8.333333},
        "tolerated_failure_percentage": 10.0,
        "started_at": "2026-11-21T19:00:00+00:00",
        "finished_at": "2026-11-21T19:01:30.250000+00:00",
        "seconds": 90.25,
        "outputs": reports,
        "failed_objects": [],
    }


def test_objects_failed_over_the_threshold(s3: Any, worker: BatchWorker) -> None:
    job = start(s3, GOOD)
    items = manifest_items(s3, job)
    s3.put_object(Bucket=BUCKET, Key="batch/in/set/c.csv.gz", Body=b"changed")
    results = [record(batch_event([item]), worker) for item in items]
    assert [r["Status"] for r in results] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    write_results(s3, results)
    summary = run_summary(s3, job, tolerated=10.0)
    assert summary["status"] == "FAILED"
    assert summary["error"] == "ObjectsFailed"
    # The Cause as Step Functions records a Lambda function's error: its JSON, as a string.
    cause = results[2]["Cause"]
    assert json.loads(cause) == {
        "errorMessage": "batch/in/set/c.csv.gz changed after the job listed it (ETag "
        f"{items[2].etag}); start a new job to score the new version",
        "errorType": InputChanged.__name__,
    }
    assert summary["cause"] == (
        "1 of 3 objects failed (33.3333% > 10% tolerated): "
        f"batch/in/set/c.csv.gz: InputChanged: {cause}"
    )
    assert summary["objects"] == {"total": 3, "succeeded": 2, "failed": 1}
    assert summary["failed_objects"] == [
        {"key": "batch/in/set/c.csv.gz", "error": "InputChanged", "cause": cause}
    ]


def test_objects_failed_within_the_threshold(s3: Any, worker: BatchWorker) -> None:
    job = start(s3, GOOD)
    items = manifest_items(s3, job)
    s3.delete_object(Bucket=BUCKET, Key="batch/in/set/b.jsonl")
    write_results(s3, [record(batch_event([item]), worker) for item in items])
    summary = run_summary(s3, job, tolerated=50.0)
    assert summary["status"] == "SUCCEEDED"
    assert [failed["key"] for failed in summary["failed_objects"]] == ["batch/in/set/b.jsonl"]
    assert summary["objects"] == {"total": 3, "succeeded": 2, "failed": 1}


def test_rows_rejected_over_the_threshold(s3: Any, worker: BatchWorker) -> None:
    job = start(s3, GOOD)
    write_results(s3, [record(batch_event(manifest_items(s3, job)), worker)])
    summary = run_summary(s3, job, tolerated=5.0)
    assert (summary["status"], summary["error"]) == ("FAILED", "RowsRejected")
    assert summary["cause"] == (
        "1 of 12 rows were rejected (8.33333% > 5% tolerated); each is in the job's errors/ "
        "objects with its line number and reason"
    )
    assert summary["objects"]["failed"] == 0


def test_a_map_error_fails_the_job(s3: Any, worker: BatchWorker) -> None:
    job = start(s3, GOOD)
    write_results(s3, [record(batch_event(manifest_items(s3, job)), worker)])
    error = {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "too many items failed"}
    summary = run_summary(s3, job, tolerated=100.0, map_error=error)
    assert (summary["status"], summary["error"], summary["cause"]) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
        "too many items failed",
    )
    assert summary["objects"]["succeeded"] == 3  # counted all the same


def test_without_result_files_the_reports_are_read(s3: Any, worker: BatchWorker) -> None:
    job = start(s3, GOOD)
    items = manifest_items(s3, job)
    worker(batch_event(items[:2]), None)  # the third object was never scored
    assert object_keys(s3, contract.batch_results_prefix(JOB)) == []
    error = {"Error": "States.Runtime", "Cause": "the Map failed"}
    summary = run_summary(s3, job, tolerated=50.0, map_error=error)
    assert [report["key"] for report in summary["outputs"]] == [
        "batch/in/set/a.csv",
        "batch/in/set/b.jsonl",
    ]
    assert summary["rows"]["read"] == 12
    assert summary["failed_objects"] == [
        {
            "key": "batch/in/set/c.csv.gz",
            "error": "NotScored",
            "cause": "no result was recorded for this object",
        }
    ]
    assert summary["status"] == "FAILED"
    assert summary["error"] == "States.Runtime"
    no_error = run_summary(s3, job, tolerated=50.0)
    assert no_error["status"] == "SUCCEEDED"  # 1 of 3 failed: within 50%


def test_a_failed_batch_keeps_the_reports_of_its_scored_objects(
    s3: Any, worker: BatchWorker
) -> None:
    job = start(s3, GOOD)
    items = manifest_items(s3, job)
    s3.delete_object(Bucket=BUCKET, Key="batch/in/set/b.jsonl")
    failed = record(batch_event(items), worker)  # a.csv scored, then b.jsonl failed the batch
    assert failed["Status"] == "FAILED"
    write_results(s3, [failed])
    summary = run_summary(s3, job, tolerated=100.0)
    assert [report["key"] for report in summary["outputs"]] == ["batch/in/set/a.csv"]
    assert [(f["key"], f["error"]) for f in summary["failed_objects"]] == [
        ("batch/in/set/b.jsonl", "InputChanged"),
        ("batch/in/set/c.csv.gz", "InputChanged"),  # in the failed batch, never reached
    ]


def test_a_redrive_wins_over_the_run_before(s3: Any, worker: BatchWorker) -> None:
    job = start(s3, GOOD)
    items = manifest_items(s3, job)
    body = GOOD["batch/in/set/b.jsonl"]
    s3.delete_object(Bucket=BUCKET, Key="batch/in/set/b.jsonl")
    first = [record(batch_event([item]), worker) for item in items]
    write_results(s3, first, run="0-first")
    # The object is restored, byte for byte (so its ETag): the redrive scores it.
    s3.put_object(Bucket=BUCKET, Key="batch/in/set/b.jsonl", Body=body)
    write_results(s3, [record(batch_event([items[1]]), worker)], run="1-redrive")
    summary = run_summary(s3, job, tolerated=0.0)
    assert summary["objects"] == {"total": 3, "succeeded": 3, "failed": 0}
    assert summary["failed_objects"] == []


def report_of(key: str, read: int, rejected: int) -> dict[str, Any]:
    return {
        "key": key,
        "output_key": contract.batch_output_key(JOB, key),
        "errors_key": contract.batch_errors_key(JOB, key) if rejected else None,
        "rows_read": read,
        "rows_predicted": read - rejected,
        "rows_rejected": rejected,
        "model_version": "e05f2e21f808",
        "seconds": 600.0,
    }


@pytest.mark.parametrize(
    ("read", "rejected", "tolerated", "status"),
    [
        (10**9, 1, 0.0, "FAILED"),  # 1e-7 %: more than none
        (10**9, 0, 0.0, "SUCCEEDED"),
        (1000, 10, 1.0, "SUCCEEDED"),  # exactly at the tolerance
        (1000, 11, 1.0, "FAILED"),
        (0, 0, 0.0, "SUCCEEDED"),
    ],
)
def test_the_rows_verdict_at_its_edges(
    s3: Any, read: int, rejected: int, tolerated: float, status: str
) -> None:
    job = start(s3, {"batch/in/big.csv": b"1\n"}, input_key="batch/in/big.csv")
    key = contract.batch_report_key(JOB, "batch/in/big.csv")
    s3.put_object(
        Bucket=BUCKET, Key=key, Body=orjson.dumps(report_of("batch/in/big.csv", read, rejected))
    )
    summary = run_summary(s3, job, tolerated=tolerated)
    assert summary["status"] == status
    assert summary["error"] == (None if status == "SUCCEEDED" else "RowsRejected")


def test_bad_summarize_events(s3: Any) -> None:
    job = start(s3, {"batch/in/set/a.csv": b"1\n"})
    with pytest.raises(EventError, match="not an ISO 8601 time"):
        summarize({**summarize_event(job), events.STARTED_AT: "yesterday"}, s3, BUCKET, 1.0)
    with pytest.raises(EventError, match="job must be a JSON object"):
        summarize({**summarize_event(job), events.JOB: None}, s3, BUCKET, 1.0)


def test_the_handler_routes_each_step(s3: Any) -> None:
    put(s3, {"batch/in/set/a.csv": b"1\n"})
    handler = BatchJob(s3=s3, bucket=BUCKET, tolerated_failure_percentage=1.0)
    job = handler(validate_event("batch/in/set/a.csv"), None)
    assert job["objects"] == 1
    verdict = handler(summarize_event(job), None)
    assert verdict[events.STATUS] == "FAILED"  # nothing was scored
    assert verdict[events.ERROR] == "ObjectsFailed"
    bad_events: list[Any] = [{"step": "score"}, {}, []]
    for event in bad_events:
        with pytest.raises(EventError, match=r"event\.step must be 'validate' or 'summarize'"):
            handler(event, None)


# ---- init ---------------------------------------------------------------------------------


def job_env(**values: str) -> dict[str, str]:
    return {
        contract.ENV_ARTIFACTS_BUCKET: BUCKET,
        contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "1.5",
        **values,
    }


def test_load_job(aws_env: pytest.MonkeyPatch) -> None:
    job = load_job(job_env())
    assert (job.bucket, job.tolerated) == (BUCKET, 1.5)
    assert load_job(job_env(TOLERATED_FAILURE_PERCENTAGE="0")).tolerated == 0.0
    assert load_job(job_env(TOLERATED_FAILURE_PERCENTAGE="100")).tolerated == 100.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({contract.ENV_ARTIFACTS_BUCKET: ""}, "ARTIFACTS_BUCKET is not set"),
        (
            {contract.ENV_TOLERATED_FAILURE_PERCENTAGE: ""},
            "TOLERATED_FAILURE_PERCENTAGE is not set",
        ),
        ({contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "abc"}, "expected a number in 0..100"),
        ({contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "101"}, "expected a number in 0..100"),
        ({contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "-1"}, "expected a number in 0..100"),
        ({contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "nan"}, "expected a number in 0..100"),
        ({contract.ENV_TOLERATED_FAILURE_PERCENTAGE: "inf"}, "expected a number in 0..100"),
    ],
)
def test_load_job_refuses_bad_settings(
    aws_env: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(InitError, match=message):
        load_job(job_env(**env))
