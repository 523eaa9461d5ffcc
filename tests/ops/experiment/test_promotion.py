"""`make ab-report ... PROMOTE=1` against moto: the report first, then the challenger promoted
through dev's gate only when the verdict is "challenger better" and the image's challenger is the
build the feedback measured; every refusal one line and a non-zero exit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.config import EnvironmentConfig
from infra.outputs import ArtifactsOutput
from ops.aws import AwsClients
from ops.cli import main
from tests.ops.aws_stand_ins import deploy_stacks
from tests.ops.conftest import BUCKET
from tests.ops.experiment.conftest import PutLines
from tests.ops.experiment.log_lines import CHALLENGER_VERSION, feedback_lines, labelled
from tests.ops.lifecycle.conftest import FIRST, SECOND, split_fitting
from tests.ops.model_files import sha256_of, version_of
from torchlambda.contract import CHALLENGER_BUILD_FILE, champion_key
from torchlambda.lifecycle import events
from training.publish import publish

HOUR_MS = 3_600_000
BETTER = labelled(1, 400, champion_bias=0.3)  # the challenger clearly better
UNDECIDED = labelled(2, 100)  # the same model twice: no verdict


def promote(capsys: pytest.CaptureFixture[str], challenger_dir: Path) -> tuple[int, list[str], str]:
    code = main(["ab-report", "--env", "dev", "--promote", "--challenger-dir", str(challenger_dir)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def challenger_dir(tmp_path: Path, **record: str | None) -> Path:
    """An installed challenger's directory holding its build record."""
    directory = tmp_path / "challenger"
    directory.mkdir()
    fields = {
        "environment": "dev",
        "build_id": "better",
        "sha256": "0" * 64,
        "model_version": CHALLENGER_VERSION,
    }
    (directory / CHALLENGER_BUILD_FILE).write_text(json.dumps(fields | record))
    return directory


Logged = Callable[[list[str]], None]


@pytest.fixture
def logged(function_logs: PutLines, now_ms: int) -> Logged:
    """Log the function's lines an hour ago."""

    def put(lines: list[str]) -> None:
        function_logs(lines, now_ms - HOUR_MS)

    return put


def test_not_enough_data_is_not_promoted(
    logged: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logged(feedback_lines(UNDECIDED))
    code, out, err = promote(capsys, challenger_dir(tmp_path))
    assert code == 1
    assert "verdict: not enough data: the 95% interval of the difference includes 0" in out
    assert err == (
        "error: PROMOTE=1 refused: the verdict is not enough data, not challenger better; "
        "nothing was promoted\n"
    )


def test_a_worse_challenger_is_not_promoted(
    logged: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logged(feedback_lines(labelled(3, 400, challenger_bias=0.3)))
    code, _, err = promote(capsys, challenger_dir(tmp_path))
    assert (code, err) == (
        1,
        "error: PROMOTE=1 refused: the verdict is challenger worse, not challenger better; "
        "nothing was promoted\n",
    )


def test_no_challenger_is_nothing_to_promote(
    logged: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logged(feedback_lines(BETTER, challenger_version=None))
    code, _, err = promote(capsys, challenger_dir(tmp_path))
    assert code == 1
    assert err == "error: PROMOTE=1 refused: no challenger was served; nothing to promote\n"


def test_a_challenger_without_its_build_record_is_not_promoted(
    logged: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logged(feedback_lines(BETTER))
    code, out, err = promote(capsys, tmp_path)
    assert code == 1
    assert "verdict: challenger better: the whole 95% interval of the difference is above 0" in out
    assert err == (
        f"error: PROMOTE=1 refused: {tmp_path / CHALLENGER_BUILD_FILE} is missing, so which "
        "build the challenger is is unknown; install it with `make fetch-model ENV=dev "
        "AS=challenger BUILD=<id>`, or promote a build by hand with `make promote ENV=dev "
        "BUILD=<id>`\n"
    )


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            {"model_version": "0a0a0a0a0a0a"},
            "the challenger in {dir} (build better, model_version 0a0a0a0a0a0a) is not the one "
            f"the feedback measured (model_version {CHALLENGER_VERSION}); promote the tested "
            "build by hand with `make promote ENV=dev BUILD=<its id>`",
        ),
        (
            {"environment": "staging"},
            "the challenger in {dir} is staging's build better, not one of dev's; promote it in "
            "staging, or install dev's with `make fetch-model ENV=dev AS=challenger`",
        ),
        (
            {"build_id": None},
            "{dir}/build.json must be a JSON object with the strings environment, build_id, "
            "sha256, model_version; reinstall the challenger with `make fetch-model ENV=dev "
            "AS=challenger BUILD=<id>`",
        ),
        (
            {"build_id": "../escape"},
            "{dir}/build.json: build id '../escape' does not give a safe S3 key segment",
        ),
    ],
    ids=["another model", "another environment", "no build id", "unsafe build id"],
)
def test_the_image_challenger_must_be_the_one_measured(
    logged: Logged,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record: dict[str, str | None],
    reason: str,
) -> None:
    logged(feedback_lines(BETTER))
    directory = challenger_dir(tmp_path, **record)
    code, _, err = promote(capsys, directory)
    assert (code, err) == (1, f"error: PROMOTE=1 refused: {reason.format(dir=directory)}\n")


def test_an_unreadable_build_record_is_one_line(
    logged: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logged(feedback_lines(BETTER))
    (tmp_path / CHALLENGER_BUILD_FILE).write_text("{not json")
    code, _, err = promote(capsys, tmp_path)
    assert code == 1
    assert err.startswith(f"error: PROMOTE=1 refused: {tmp_path / CHALLENGER_BUILD_FILE} is ")
    assert err.endswith(
        "; reinstall the challenger with `make fetch-model ENV=dev AS=challenger BUILD=<id>`\n"
    )
    assert err.count("\n") == 1


@pytest.fixture
def published(clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path) -> None:
    """dev's artifacts: `incumbent` (FIRST) the champion, `better` (SECOND) published after it,
    each with a test split its own network fits exactly."""
    clients.s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": dev.region}
    )
    deploy_stacks(clients.cloudformation, dev, {ArtifactsOutput.BUCKET_NAME: BUCKET})
    for build_id, files in (("incumbent", FIRST), ("better", SECOND)):
        model_dir = tmp_path / build_id / "model"
        model_dir.mkdir(parents=True)
        for name, content in files.items():
            (model_dir / name).write_bytes(content)
        split = tmp_path / build_id / "test.csv"
        split.write_bytes(split_fitting(files))
        publish(
            clients.s3,
            model_dir=model_dir,
            bucket=BUCKET,
            environment="dev",
            build_id=build_id,
            test_split=split,
        )
    assert main(["promote", "--env", "dev", "--build", "incumbent"]) == 0


def test_a_better_challenger_goes_through_the_gate(
    logged: Logged,
    published: None,
    clients: AwsClients,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    logged(
        feedback_lines(
            BETTER, champion_version=version_of(FIRST), challenger_version=version_of(SECOND)
        )
    )
    directory = challenger_dir(tmp_path, sha256=sha256_of(SECOND), model_version=version_of(SECOND))
    code, out, err = promote(capsys, directory)
    assert (code, err) == (0, "")
    start = out.index(
        f"promoting the challenger, build better (model_version {version_of(SECOND)}), through "
        "dev's gate"
    )
    assert out[start - 1].startswith("sample size: ")  # after the whole report
    assert out[start + 1] == "evaluating build better against champion incumbent on candidate ..."
    assert any(line.startswith("the gate passes it: improves on the champion by") for line in out)
    champion = json.loads(
        clients.s3.get_object(Bucket=BUCKET, Key=champion_key("dev"))["Body"].read()
    )
    assert champion[events.BUILD_ID] == "better"
