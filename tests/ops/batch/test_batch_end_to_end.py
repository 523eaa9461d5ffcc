"""`make batch` with the real job behind the Step Functions stand-in: the runner does what the
state machine does, with the runtime's own functions (docs/batch.md): validate, the worker on
each item batch of the Distributed Map (recording its results as the Map's result writer does),
then summarize. Only the state machine itself is stood in for."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from ops.aws import AwsClients
from ops.cli import main
from tests.ops.aws_stand_ins import RunnerContext, RunResult, StepFunctionsStandIn
from tests.ops.conftest import BUCKET
from tests.ops.model_files import model_files, version_of
from torchlambda import contract
from torchlambda.batch import events

job = pytest.importorskip("torchlambda.batch.job")
worker_module = pytest.importorskip("torchlambda.batch.worker")

TOLERATED_PERCENTAGE = 10.0  # of objects failed, and of rows rejected
BATCH_SIZE = 1  # manifest items per worker invocation (the Map's item batcher)


MODEL = model_files(seed=7, validation_mse=0.1)  # as training publishes a model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("batch-model")
    for name, data in MODEL.items():
        (directory / name).write_bytes(data)
    return directory


@pytest.fixture
def batch_model_version() -> str:
    """The stack's BatchModelVersion: the version of the model the worker loads."""
    return version_of(MODEL)


@pytest.fixture
def worker(moto: str, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The worker function as its init builds it, its S3 client on moto."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")  # its logs would go to the CLI's stdout
    # Its S3 client comes from boto3's default session, which keeps the credentials it found:
    # the session goes with the test, as the test's credentials do.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    built = worker_module.load_worker(
        {
            contract.ENV_MODEL_DIR: str(model_dir),
            contract.ENV_ARTIFACTS_BUCKET: BUCKET,
            contract.ENV_METRICS_DISABLED: "true",
            contract.ENV_SERVICE_NAME: contract.BATCH_SERVICE_NAME,
        }
    )
    assert isinstance(built, worker_module.BatchWorker)
    return built


class StateMachine:
    """The state machine's path through the job: validate, the Distributed Map over the
    manifest (items in batches, a tolerated failure percentage, a result writer), summarize.
    A redrive runs again only the items that did not succeed. `crash[attempt]` names the keys
    whose worker invocation fails on that attempt, as a Lambda timeout would."""

    def __init__(self, s3: Any, worker: Any) -> None:
        self.s3, self.worker = s3, worker
        self.crash: dict[int, set[str]] = {}
        self.succeeded: dict[str, set[str]] = {}  # job id -> keys scored
        self.invocations: list[list[str]] = []

    def __call__(self, context: RunnerContext) -> RunResult:
        job_id = context.job_id
        started_at = dt.datetime.now(dt.UTC).isoformat()
        try:
            validated = job.validate(
                {events.STEP: events.VALIDATE, events.REQUEST: context.job_input,
                 events.JOB_ID: job_id},
                self.s3, BUCKET,
            )  # fmt: skip
        except job.InvalidJob as error:
            return RunResult("FAILED", "InvalidJob", str(error))
        body = self.s3.get_object(Bucket=BUCKET, Key=validated[events.MANIFEST_KEY])["Body"]
        items = [json.loads(line) for line in body.read().splitlines() if line]
        done = self.succeeded.setdefault(job_id, set())
        records: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
        failed = 0
        context.items(total=len(items), succeeded=len(done))
        pending = [item for item in items if item[events.KEY] not in done]
        for start in range(0, len(pending), BATCH_SIZE):
            batch = pending[start : start + BATCH_SIZE]
            keys = [item[events.KEY] for item in batch]
            event = {events.ITEMS: batch, events.BATCH_INPUT: {events.JOB_ID: job_id}}
            record: dict[str, Any] = {"Input": json.dumps(event)}
            try:
                if set(keys) & self.crash.get(context.attempt, set()):
                    raise TimeoutError("Task timed out after 900.00 seconds")
                self.invocations.append(keys)
                output = self.worker(event, None)
            except Exception as error:
                records["FAILED"].append(
                    record | {"Status": "FAILED", "Error": type(error).__name__,
                              "Cause": str(error)}
                )  # fmt: skip
                failed += len(batch)
            else:
                records["SUCCEEDED"].append(
                    record | {"Status": "SUCCEEDED", "Output": json.dumps(output)}
                )
                done.update(keys)
            context.items(total=len(items), succeeded=len(done), failed=failed)
        self._write_results(job_id, records)
        map_error: dict[str, str] = {}
        if failed and 100 * failed / len(items) > TOLERATED_PERCENTAGE:
            map_error = {
                "Error": "States.ExceedToleratedFailureThreshold",
                "Cause": "The specified tolerated failure threshold was exceeded",
            }
        verdict = job.summarize(
            {events.STEP: events.SUMMARIZE, events.JOB: validated,
             events.STARTED_AT: started_at, events.MAP_ERROR: map_error},
            self.s3, BUCKET, TOLERATED_PERCENTAGE,
        )  # fmt: skip
        return RunResult(verdict[events.STATUS], verdict[events.ERROR], verdict[events.CAUSE])

    def _write_results(self, job_id: str, records: dict[str, list[dict[str, Any]]]) -> None:
        """As the Map's ResultWriter: result files by status and a manifest naming them."""
        prefix = f"{contract.batch_results_prefix(job_id)}{uuid.uuid4()}/"
        files: dict[str, list[dict[str, Any]]] = {}
        for status, listed in records.items():
            if listed:
                key = f"{prefix}{status}_0.json"
                self.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(listed).encode())
                files[status] = [{"Key": key, "Size": 0}]
        manifest = {"DestinationBucket": BUCKET, "MapRunArn": "stand-in", "ResultFiles": files}
        self.s3.put_object(
            Bucket=BUCKET, Key=f"{prefix}manifest.json", Body=json.dumps(manifest).encode()
        )


@pytest.fixture
def machine(clients: AwsClients, worker: Any, sfn: StepFunctionsStandIn) -> StateMachine:
    state_machine = StateMachine(clients.s3, worker)
    sfn.runner = state_machine
    return state_machine


def batch(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["batch", "--env", "dev", "--poll-seconds", "0.01", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def job_id_in(out: str) -> str:
    match = re.search(r"job ([A-Za-z0-9_-]+-[0-9a-f]{24})", out)
    assert match, out
    return match.group(1)


def test_a_directory_scored_by_the_real_job(
    machine: StateMachine,
    batch_model_version: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "march"
    folder.mkdir()
    (folder / "plain.csv").write_text("".join(f"{x / 10}\n" for x in range(-20, 20)) + "abc\n")
    (folder / "more").mkdir()
    with gzip.open(folder / "more" / "rows.jsonl.gz", "wt") as stream:
        stream.writelines(json.dumps({"x": x / 4}) + "\n" for x in range(10))
    output = tmp_path / "results"

    code, out, err = batch(capsys, "--input", str(folder), "--output", str(output))
    assert (code, err) == (0, ""), err
    name = job_id_in(out)
    lines = out.splitlines()
    assert lines[0].startswith("uploaded 2 files (") and lines[0].endswith(
        f"s3://{BUCKET}/batch/in/march/"
    )
    assert lines[1].startswith(f"started job {name}: 2 objects (")
    assert re.search(r"^SUCCEEDED \d+m\d\ds, items 2/2 done \(0 failed\), rows 50 predicted "
                     r"\(1 rejected\)$", out, re.M)  # fmt: skip
    assert f"job {name}: SUCCEEDED in " in out
    assert f", model {batch_model_version}" in out
    assert "rows: 51 read, 50 predicted, 1 rejected (1.96078%)" in lines
    assert "objects: 2 succeeded, 0 failed of 2" in lines
    assert (
        f"rejected rows: s3://{BUCKET}/batch/out/{name}/errors/march/plain.csv.errors.jsonl"
        in lines
    )

    summary = json.loads((output / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED" and summary["model_versions"] == [batch_model_version]
    predicted = (output / "predictions" / "march" / "plain.csv").read_text().splitlines()
    assert len(predicted) == 40
    with gzip.open(output / "predictions" / "march" / "more" / "rows.jsonl.gz", "rt") as stream:
        rows = [json.loads(line) for line in stream]
    assert len(rows) == 10 and all(set(row) >= {"x", "y"} for row in rows)
    assert (output / "errors" / "march" / "plain.csv.errors.jsonl").read_text().count("\n") == 1

    # Again: the same job, already run; nothing scored twice.
    code, out, err = batch(capsys, "--input", str(folder))
    assert (code, err) == (0, "")
    assert f"job {name} already ran (SUCCEEDED); not running it again" in out.splitlines()
    assert len(machine.invocations) == 2


def test_a_crashed_item_fails_the_job_and_a_rerun_redrives_only_it(
    machine: StateMachine, sfn: StepFunctionsStandIn, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    folder = tmp_path / "days"
    folder.mkdir()
    for day in ("mon", "tue", "wed"):
        (folder / f"{day}.csv").write_text("0.5\n1.5\n")
    machine.crash = {0: {"batch/in/days/tue.csv"}}

    code, out, err = batch(capsys, "--input", str(folder))
    name = job_id_in(out)
    assert code == 1
    assert err.startswith(
        f"error: job {name} FAILED: States.ExceedToleratedFailureThreshold: The specified "
        "tolerated failure threshold was exceeded"
    ), err
    assert "objects: 2 succeeded, 1 failed of 3" in out.splitlines()
    assert (
        "failed: batch/in/days/tue.csv: TimeoutError: Task timed out after 900.00 seconds"
        in out.splitlines()
    )

    code, out, err = batch(capsys, "--input", str(folder))
    assert (code, err) == (0, ""), err
    assert f"job {name} ended FAILED before; redriving it" in out
    assert "objects: 3 succeeded, 0 failed of 3" in out.splitlines()
    assert machine.invocations == [
        ["batch/in/days/mon.csv"], ["batch/in/days/wed.csv"], ["batch/in/days/tue.csv"]
    ]  # fmt: skip
    assert sfn.operations("RedriveExecution") == 1


def test_an_object_the_worker_cannot_read_fails_the_job_with_its_cause(
    machine: StateMachine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "broken.csv.gz"
    data.write_bytes(b"this is not gzip\n")
    code, out, err = batch(capsys, "--input", str(data))
    name = job_id_in(out)
    assert code == 1
    assert err.startswith(f"error: job {name} FAILED: States.ExceedToleratedFailureThreshold")
    failed = [line for line in out.splitlines() if line.startswith("failed: ")]
    assert failed and failed[0].startswith("failed: batch/in/broken.csv.gz: CorruptInput: ")
