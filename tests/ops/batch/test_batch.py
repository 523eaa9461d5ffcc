"""`make batch` against moto (S3, CloudFormation) and the Step Functions stand-in: staging the
input, the job's id, start, follow, redrive, Ctrl-C, the summary and the downloads."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import ops.batch.follow
from ops.aws import AwsClients
from ops.batch.follow import RowCounter, Rows
from ops.cli import main
from tests.ops.aws_stand_ins import StandInError, StepFunctionsStandIn
from tests.ops.batch.conftest import MODEL_VERSION
from tests.ops.batch.fake_job import FakeJob
from tests.ops.conftest import BUCKET
from torchlambda.contract import batch_job_prefix, batch_output_key, batch_report_key

ELAPSED = r"\d+m\d\ds"
JOB_ID = r"[A-Za-z0-9_-]+-[0-9a-f]{24}"
REPO_ROOT = Path(__file__).resolve().parents[3]


def batch(*arguments: str) -> list[str]:
    return ["batch", "--env", "dev", "--poll-seconds", "0.01", *arguments]


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(batch(*arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def job_id_in(out: str) -> str:
    match = re.search(rf"job ({JOB_ID})", out)
    assert match, out
    return match.group(1)


def write(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(row + "\n" for row in rows))
    return path


@pytest.fixture
def job(clients: AwsClients, sfn: StepFunctionsStandIn) -> FakeJob:
    """The stand-in's executions run by a FakeJob on moto's S3."""
    fake = FakeJob(clients.s3, BUCKET)
    sfn.runner = fake
    return fake


def test_a_local_file_is_uploaded_once_and_scored_once(
    clients: AwsClients,
    sfn: StepFunctionsStandIn,
    job: FakeJob,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    data = write(tmp_path / "scores.csv", "1.0", "2.0", "bad")
    code, out, err = run(capsys, "--input", str(data))
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == f"uploaded 1 file (12 B) to s3://{BUCKET}/batch/in/scores.csv"
    name = job_id_in(lines[1])
    assert name.startswith("scores-csv-")
    assert lines[1] == f"started job {name}: 1 object (12 B) with model {MODEL_VERSION}"
    stored = clients.s3.head_object(Bucket=BUCKET, Key="batch/in/scores.csv")
    assert stored["Metadata"]["sha256"] and stored["ContentLength"] == 12
    assert sfn.execution(name).input == json.dumps({"input": "batch/in/scores.csv"})
    assert lines[-6:] == [
        f"job {name}: SUCCEEDED in 42.1 s, model {MODEL_VERSION}",
        "rows: 3 read, 2 predicted, 1 rejected (33.3333%)",
        "objects: 1 succeeded, 0 failed of 1",
        f"predictions: s3://{BUCKET}/batch/out/{name}/predictions/",
        f"rejected rows: s3://{BUCKET}/batch/out/{name}/errors/scores.csv.errors.jsonl",
        f"summary: s3://{BUCKET}/batch/out/{name}/summary.json",
    ]

    # The same command again: nothing uploaded, the same job, not run a second time.
    modified = stored["LastModified"]
    code, out, err = run(capsys, "--input", str(data))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"input already in s3://{BUCKET}/batch/in/scores.csv (same content); nothing uploaded"
    )
    assert lines[1] == f"job {name} already ran (SUCCEEDED); not running it again"
    assert lines[2] == f"job {name}: SUCCEEDED in 42.1 s, model {MODEL_VERSION}"
    again = clients.s3.head_object(Bucket=BUCKET, Key="batch/in/scores.csv")
    assert again["LastModified"] == modified
    assert sfn.operations("StartExecution") == 1 and len(job.attempts) == 1

    # Changed content: uploaded again, a new job.
    write(data, "1.0", "3.0")
    code, out, _ = run(capsys, "--input", str(data))
    assert code == 0
    assert out.splitlines()[0] == f"uploaded 1 file (8 B) to s3://{BUCKET}/batch/in/scores.csv"
    assert job_id_in(out.splitlines()[1]) != name
    assert sfn.operations("StartExecution") == 2


def test_a_job_started_meanwhile_by_someone_else_is_not_started_twice(
    sfn: StepFunctionsStandIn,
    job: FakeJob,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    data = write(tmp_path / "shared.csv", "1")
    assert run(capsys, "--input", str(data))[0] == 0
    describe = sfn.op_DescribeExecution
    missed: list[str] = []

    def not_yet_the_first_time(request: dict[str, Any]) -> dict[str, Any]:
        if not missed:  # as if the other start came between DescribeExecution and ours
            missed.append(request["executionArn"])
            raise StandInError("ExecutionDoesNotExist", "Execution Does Not Exist")
        return describe(request)

    monkeypatch.setattr(sfn, "op_DescribeExecution", not_yet_the_first_time)
    code, out, err = run(capsys, "--input", str(data))
    assert (code, err) == (0, "")
    name = job_id_in(out)
    assert out.splitlines()[1] == f"job {name} already ran (SUCCEEDED); not running it again"
    assert sfn.calls.count("StartExecution") == 2 and len(job.attempts) == 1


def test_a_directory_keeps_its_relative_paths(
    clients: AwsClients,
    sfn: StepFunctionsStandIn,
    job: FakeJob,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "sales"
    write(folder / "2024.csv", "1", "2")
    write(folder / "eu" / "2025.jsonl", '{"x": 1}')
    write(folder / "0" / "x.csv", "7")  # sorts first
    clients.s3.put_object(Bucket=BUCKET, Key="batch/in/sales/old.csv", Body=b"9\n")
    code, out, err = run(capsys, "--input", str(folder))
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == f"uploaded 3 files (15 B) to s3://{BUCKET}/batch/in/sales/"
    assert lines[1] == (
        f"note: s3://{BUCKET}/batch/in/sales/ also holds 1 object not in INPUT={folder}, scored "
        "too: batch/in/sales/old.csv (delete them to leave them out)"
    )
    name = job_id_in(lines[2])
    assert name.startswith("sales-")
    assert lines[2].endswith(": 4 objects (17 B) with model e05f2e21f808")
    assert sfn.execution(name).input == json.dumps({"input": "batch/in/sales/"})
    assert job.attempts[0] == [
        "batch/in/sales/0/x.csv", "batch/in/sales/2024.csv", "batch/in/sales/eu/2025.jsonl",
        "batch/in/sales/old.csv",
    ]  # fmt: skip
    assert "objects: 4 succeeded, 0 failed of 4" in lines


def test_a_directory_whose_prefix_holds_other_files_is_refused_before_uploading(
    clients: AwsClients, sfn: StepFunctionsStandIn, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    clients.s3.put_object(Bucket=BUCKET, Key="batch/in/sales/notes.txt", Body=b"hi")
    folder = tmp_path / "sales"
    write(folder / "2024.csv", "1")
    code, out, err = run(capsys, "--input", str(folder))
    assert (code, out) == (1, "")
    assert err == (
        f"error: INPUT: s3://{BUCKET}/batch/in/sales/notes.txt is not a batch input; name it "
        "*.csv, *.csv.gz, *.jsonl, *.jsonl.gz\n"
    )
    listed = clients.s3.list_objects_v2(Bucket=BUCKET, Prefix="batch/in/")["Contents"]
    assert [item["Key"] for item in listed] == ["batch/in/sales/notes.txt"]
    assert sfn.calls == []


def test_an_s3_input_in_the_bucket_is_scored_where_it_is(
    clients: AwsClients, sfn: StepFunctionsStandIn, job: FakeJob, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("batch/in/q1/a.csv", "batch/in/q1/b.csv.gz", "batch/in/q1.csv"):
        clients.s3.put_object(Bucket=BUCKET, Key=key, Body=b"1\n")
    code, out, err = run(capsys, "--input", f"s3://{BUCKET}/batch/in/q1")  # no slash: a prefix
    assert (code, err) == (0, ""), err
    name = job_id_in(out.splitlines()[0])
    assert out.splitlines()[0] == f"started job {name}: 2 objects (4 B) with model {MODEL_VERSION}"
    assert sfn.execution(name).input == json.dumps({"input": "batch/in/q1"})
    assert job.attempts == [["batch/in/q1/a.csv", "batch/in/q1/b.csv.gz"]]

    code, out, _ = run(capsys, "--input", f"s3://{BUCKET}/batch/in/q1/a.csv")
    assert code == 0
    other = job_id_in(out.splitlines()[0])
    assert other.startswith("q1-a-csv-") and other != name
    assert job.attempts[-1] == ["batch/in/q1/a.csv"]


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://{BUCKET}/data/train.csv",
        f"s3://{BUCKET}/batch/out/x/predictions/a.csv",
        f"s3://{BUCKET}/batch/in/",
        "s3://someone-elses-bucket/batch/in/a.csv",
        f"s3://{BUCKET}-other/batch/in/a.csv",
    ],
)
def test_an_s3_input_elsewhere_is_refused(
    uri: str, sfn: StepFunctionsStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, err = run(capsys, "--input", uri)
    assert (code, out) == (1, "")
    assert err == (
        f"error: INPUT={uri}: an S3 input must be below s3://{BUCKET}/batch/in/ (the "
        "environment's artifacts bucket, where batch jobs read)\n"
    )
    assert sfn.calls == []


def test_an_s3_input_must_exist_and_hold_only_batch_inputs(
    clients: AwsClients, sfn: StepFunctionsStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("batch/in/notes/README.md", "batch/in/notes/a.csv", "batch/in/notes/b.txt"):
        clients.s3.put_object(Bucket=BUCKET, Key=key, Body=b"1")
    for where in ("batch/in/nothing.csv", "batch/in/nothing/"):
        code, _, err = run(capsys, "--input", f"s3://{BUCKET}/{where}")
        assert (code, err) == (1,
            f"error: INPUT=s3://{BUCKET}/{where}: no such object, and no objects below it; "
            "nothing to score\n")  # fmt: skip
    # The job's validation would refuse the job: refused before it starts.
    code, _, err = run(capsys, "--input", f"s3://{BUCKET}/batch/in/notes/")
    assert (code, err) == (1,
        f"error: INPUT: s3://{BUCKET}/batch/in/notes/README.md (and 1 other) is not a batch "
        "input; name it *.csv, *.csv.gz, *.jsonl, *.jsonl.gz\n")  # fmt: skip
    assert sfn.calls == []


def test_an_unsupported_file_is_refused_before_any_aws_call(
    aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # would be a network error
    notes = write(tmp_path / "notes.txt", "1")
    folder = tmp_path / "mixed"
    write(folder / "a.csv", "1")
    write(folder / "sub" / "b.parquet", "1")
    cases = {
        str(notes): f"error: INPUT: {notes} is not a batch input; name it *.csv, *.csv.gz, "
        "*.jsonl, *.jsonl.gz\n",
        str(folder): f"error: INPUT: {folder / 'sub' / 'b.parquet'} is not a batch input; name it "
        "*.csv, *.csv.gz, *.jsonl, *.jsonl.gz\n",
        str(tmp_path / "missing.csv"): f"error: INPUT={tmp_path / 'missing.csv'}: no such file or "
        "directory\n",
    }
    (tmp_path / "empty").mkdir()
    cases[str(tmp_path / "empty")] = (
        f"error: INPUT={tmp_path / 'empty'}: the directory holds no files to score (*.csv, "
        "*.csv.gz, *.jsonl, *.jsonl.gz)\n"
    )
    for given, expected in cases.items():
        assert run(capsys, "--input", given) == (1, "", expected)


def test_an_empty_input_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(batch("--input", " "))  # `make batch ENV=dev` without INPUT
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "error: INPUT is empty: give a local .csv or .jsonl file (or a directory of them), or an "
        "s3:// URI below the artifacts bucket's batch/in/\n"
    )


def test_progress_shows_items_and_rows(
    clients: AwsClients,
    stepped: StepFunctionsStandIn,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    stepped.runner = FakeJob(clients.s3, BUCKET, stepped=True)
    folder = tmp_path / "week"
    write(folder / "mon.csv", "1", "2", "bad")
    write(folder / "tue.csv", "3", "4", "5", "6")
    code, out, err = run(capsys, "--input", str(folder))
    assert (code, err) == (0, ""), err
    statuses = [re.sub(ELAPSED, "T", line) for line in out.splitlines()
                if line.startswith(("RUNNING", "SUCCEEDED"))]  # fmt: skip
    assert statuses == [
        "RUNNING T, items not listed yet, rows 0 predicted (0 rejected)",
        "RUNNING T, items 1/2 done (0 failed), rows 2 predicted (1 rejected)",
        "RUNNING T, items 2/2 done (0 failed), rows 6 predicted (1 rejected)",
        "SUCCEEDED T, items 2/2 done (0 failed), rows 6 predicted (1 rejected)",
    ]
    # Each prediction object was read (HEAD) once, however many polls saw it.
    assert stepped.operations("DescribeExecution") >= 5


def test_each_report_is_read_once(
    clients: AwsClients, sfn: StepFunctionsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    def put_report(index: int, read: int, predicted: int, rejected: int) -> None:
        key = f"batch/in/{index}.csv"
        report = {"key": key, "output_key": batch_output_key("j", key), "errors_key": None,
                  "rows_read": read, "rows_predicted": predicted, "rows_rejected": rejected,
                  "model_version": MODEL_VERSION, "seconds": 0.1}  # fmt: skip
        clients.s3.put_object(
            Bucket=BUCKET, Key=batch_report_key("j", key), Body=json.dumps(report).encode()
        )

    for index in range(3):
        put_report(index, 2, 1, 1)
    clients.s3.put_object(Bucket=BUCKET, Key="batch/out/j/reports/x.json", Body=b"not json")
    reads: list[str] = []
    original = clients.s3.get_object

    def counted(**request: Any) -> Any:
        reads.append(request["Key"])
        return original(**request)

    monkeypatch.setattr(clients.s3, "get_object", counted)
    counter = RowCounter(clients.s3, BUCKET, "j")
    assert counter.update() == Rows(6, 3, 3) and len(reads) == 4
    assert counter.update() == Rows(6, 3, 3) and len(reads) == 4
    put_report(0, 2, 2, 0)  # written again, as a redriven item's report is: read again
    assert counter.update() == Rows(6, 4, 2) and len(reads) == 5


def test_output_downloads_the_predictions_errors_and_summary(
    job: FakeJob,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    write(folder / "a.csv", "1", "bad")
    write(folder / "deep" / "b.jsonl", "2")
    output = tmp_path / "results"
    code, out, err = run(capsys, "--input", str(folder), "--output", str(output))
    assert (code, err) == (0, ""), err
    name = job_id_in(out)
    assert out.splitlines()[-1] == f"downloaded 4 files (1.0 KB) to {output}" or re.fullmatch(
        rf"downloaded 4 files \([0-9.]+ (B|KB)\) to {re.escape(str(output))}", out.splitlines()[-1]
    )
    files = sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file())
    assert files == [
        "errors/in/a.csv.errors.jsonl",
        "predictions/in/a.csv",
        "predictions/in/deep/b.jsonl",
        "summary.json",
    ]
    assert (output / "predictions/in/a.csv").read_text() == "1,0.5\n"
    assert json.loads((output / "summary.json").read_text())["job_id"] == name
    assert not list(output.rglob(".*"))  # no temporary file left behind


def test_a_failed_job_fails_with_its_cause_and_a_rerun_redrives_it(
    clients: AwsClients,
    sfn: StepFunctionsStandIn,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "flaky"
    for day in ("a", "b", "c"):
        write(folder / f"{day}.csv", "1")
    job = FakeJob(clients.s3, BUCKET, failing={0: {"batch/in/flaky/b.csv"}})
    sfn.runner = job
    code, out, err = run(capsys, "--input", str(folder))
    name = job_id_in(out)
    assert code == 1
    assert err == (
        f"error: job {name} FAILED: ObjectsFailed: 1 of 3 objects failed, more than 0% tolerated\n"
    )
    assert "objects: 2 succeeded, 1 failed of 3" in out.splitlines()
    assert "failed: batch/in/flaky/b.csv: Worker.Crashed: out of memory" in out.splitlines()

    code, out, err = run(capsys, "--input", str(folder))
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[1] == (
        f"job {name} ended FAILED before; redriving it: only its failed items run again"
    )
    assert "objects: 3 succeeded, 0 failed of 3" in lines
    assert job.attempts == [
        ["batch/in/flaky/a.csv", "batch/in/flaky/c.csv"],
        ["batch/in/flaky/b.csv"],
    ]
    assert sfn.operations("StartExecution") == 1 and sfn.operations("RedriveExecution") == 1
    assert sfn.execution(name).redrive_count == 1


def test_a_job_not_redrivable_says_so(
    clients: AwsClients,
    sfn: StepFunctionsStandIn,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    data = write(tmp_path / "x.csv", "bad", "bad", "1")
    sfn.runner = FakeJob(clients.s3, BUCKET)
    code, out, err = run(capsys, "--input", str(data))
    name = job_id_in(out)
    assert code == 1
    assert err == (
        f"error: job {name} FAILED: RowsRejected: 2 of 3 rows rejected (66.6667%), more than "
        "50% tolerated\n"
    )
    sfn.execution(name).redrivable = False
    code, out, err = run(capsys, "--input", str(data))
    assert code == 1
    assert out.splitlines()[1] == (
        f"job {name} ended FAILED and cannot be redriven (Execution is FAILED and cannot be "
        "redriven); a changed input or a new model makes a new job"
    )
    assert err.startswith(f"error: job {name} FAILED: RowsRejected: ")


def test_a_job_that_failed_before_its_summary_gives_the_executions_cause(
    clients: AwsClients,
    sfn: StepFunctionsStandIn,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    sfn.runner = FakeJob(
        clients.s3, BUCKET, validate_error=("EventError", "request.input must be a str\nat line 1")
    )
    code, out, err = run(capsys, "--input", str(write(tmp_path / "x.csv", "1")))
    name = job_id_in(out)
    assert code == 1
    assert err == f"error: job {name} FAILED: EventError: request.input must be a str at line 1\n"
    assert (
        f"no summary at s3://{BUCKET}/{batch_job_prefix(name)}summary.json: the job ended before "
        "its summarize step"
    ) in out.splitlines()


def test_ctrl_c_leaves_the_job_running_and_the_same_command_follows_it_again(
    clients: AwsClients,
    stepped: StepFunctionsStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    job = FakeJob(clients.s3, BUCKET, stepped=True)
    stepped.runner = job
    data = write(tmp_path / "big.csv", "1", "2")
    stepping = ops.batch.follow.pause

    def ctrl_c(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ops.batch.follow, "pause", ctrl_c)
    code, out, err = run(capsys, "--input", str(data), "--output", str(tmp_path / "out"))
    name = job_id_in(out)
    assert code == 130
    assert err == (
        f"error: stopped following job {name}; it goes on running in dev. Follow it again with "
        f"the same command: make batch ENV=dev INPUT={data} OUTPUT={tmp_path / 'out'}\n"
    )
    assert out.splitlines()[-1].startswith("RUNNING ")
    assert stepped.execution(name).status == "RUNNING"  # nothing stopped it
    assert not (tmp_path / "out").exists()

    monkeypatch.setattr(ops.batch.follow, "pause", stepping)
    code, out, err = run(capsys, "--input", str(data))
    assert (code, err) == (0, ""), err
    assert out.splitlines()[1] == f"job {name} is already RUNNING; following it"
    assert out.splitlines()[-5] == f"job {name}: SUCCEEDED in 42.1 s, model {MODEL_VERSION}"
    assert stepped.operations("StartExecution") == 1 and job.attempts == [["batch/in/big.csv"]]


def test_a_missing_batch_stack_says_what_to_deploy(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "--input", str(write(tmp_path / "a.csv", "1")))
    assert (code, out) == (1, "")
    assert err == (
        "error: stack TorchLambda-Batch-dev is not deployed in us-west-2; deploy it with "
        "`make deploy ENV=dev`\n"
    )


@pytest.mark.parametrize(
    ("make_arguments", "command"),
    [
        (["batch", "ENV=dev", "INPUT=my data/"], "-m ops batch --env 'dev' --input 'my data/'"),
        (["batch", "ENV=prod", "INPUT=s3://b/batch/in/x.csv", "OUTPUT=out dir"],
         "-m ops batch --env 'prod' --input 's3://b/batch/in/x.csv' --output 'out dir'"),
    ],
)  # fmt: skip
def test_make_batch_passes_its_variables_through(make_arguments: list[str], command: str) -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", *make_arguments],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    last = dry_run.stdout.strip().splitlines()[-1]
    assert " ".join(last.split()).endswith(command)
