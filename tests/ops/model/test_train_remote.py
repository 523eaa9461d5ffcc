"""train-remote against moto over HTTP: progress, streamed logs, failures, Ctrl-C, the fetch."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from moto.codebuild.models import CodeBuildBackend

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.cli import main
from ops.errors import Interrupted, OpsError
from ops.model.build_watch import BuildWatcher, format_elapsed
from ops.model.remote_training import train_remote
from tests.ops.conftest import BUCKET
from tests.ops.model.build_script import BuildScript, Step, hold_builds_still, moto_builds
from tests.ops.model.publishing import publish
from tests.ops.model_files import model_files
from tooling.status_line import StatusLine

NEW = model_files(seed=5, validation_mse=0.1)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch, deployed: dict[str, Any]) -> None:
    hold_builds_still(monkeypatch)


class Run:
    """One train_remote call with a scripted build; what it printed is kept for the assertions."""

    def __init__(self, clients: AwsClients, config: EnvironmentConfig, steps: list[Step]) -> None:
        self.clients, self.config = clients, config
        self.script = BuildScript(clients.logs, config.region, steps)
        self.output = io.StringIO()
        self.questions: list[str] = []
        self.answers: list[bool] = []

    def ask(self, question: str) -> bool:
        self.questions.append(question)
        return self.answers.pop(0)

    def __call__(self, model_dir: Path, data: Path | None = None) -> Any:
        watcher = BuildWatcher(
            self.clients.codebuild,
            self.clients.logs,
            StatusLine(self.output, interactive=False),
            poll_seconds=5,
            sleep=self.script.sleep,
            clock=self.script.clock,
            ask=self.ask,
        )
        say = lambda line: self.output.write(line + "\n")  # noqa: E731 - a one-line sink
        return train_remote(self.clients, self.config, watcher, say, data=data, model_dir=model_dir)

    def publish_model(self) -> None:
        assert self.script.build_id is not None
        publish(self.clients.s3, BUCKET, self.config.name, self.script.build_id, NEW)

    @property
    def text(self) -> str:
        return self.output.getvalue()


def test_format_elapsed() -> None:
    assert [format_elapsed(s) for s in (0, 65.9, 3725)] == ["0m00s", "1m05s", "1h02m05s"]


def test_success_streams_logs_and_fetches_the_model(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    run = Run(clients, dev, [])
    run.script.steps.extend(
        [
            Step("PROVISIONING"),
            Step("INSTALL", ("pip install -r requirements.txt",)),
            Step("BUILD", ("epoch 1 loss 0.9", "epoch 2 loss 0.4")),
            Step("BUILD", ("validation mse 0.1",), action=run.publish_model),
            Step("COMPLETED", ("published",), status="SUCCEEDED"),
        ]
    )
    fetched = run(tmp_path / "model")

    assert run.script.build_id is not None
    assert fetched.build_id == run.script.build_id.rsplit(":", 1)[-1]  # the uuid it published under
    assert (tmp_path / "model" / "model.pth").read_bytes() == NEW["model.pth"]
    lines = run.text.splitlines()
    assert lines[0].startswith("started build torchlambda-training-dev:")
    # The status line without a terminal: once per phase, with the elapsed time of the fake clock.
    statuses = [line.removeprefix("phase ") for line in lines if line.startswith("phase ")]
    assert statuses == ["QUEUED 0m00s", "PROVISIONING 0m05s", "INSTALL 0m10s", "BUILD 0m15s",
                        "COMPLETED 0m25s"]  # fmt: skip
    logs = [line for line in lines if not line.startswith(("phase ", "started "))]
    assert logs == [
        "pip install -r requirements.txt",
        "epoch 1 loss 0.9",
        "epoch 2 loss 0.4",
        "validation mse 0.1",
        "published",
    ]


def test_installs_this_builds_model_when_another_published_after_it(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    later = model_files(seed=6, validation_mse=0.2)
    run = Run(clients, dev, [])

    def this_build_then_another_publish() -> None:
        run.publish_model()
        publish(clients.s3, BUCKET, dev.name, "torchlambda-training-dev:later-build", later)

    run.script.steps.extend(
        [
            Step("BUILD", action=this_build_then_another_publish),
            Step("COMPLETED", status="SUCCEEDED"),
        ]
    )
    run(tmp_path / "model")
    assert "note: latest.json now points at build later-build; fetching " in run.text
    assert (tmp_path / "model" / "model.pth").read_bytes() == NEW["model.pth"]


def test_failure_names_the_phase_and_the_last_log_lines(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    run = Run(
        clients,
        dev,
        [
            Step("BUILD", tuple(f"epoch {i}" for i in range(30))),
            Step(
                "BUILD",
                ("ValueError: validation mse 3.2 above max_validation_mse 1.0",),
                status="FAILED",
                failed_phase_status="FAILED",
                reason="Error while executing command: make train. Reason: exit status 2",
            ),
        ],
    )
    with pytest.raises(OpsError) as raised:
        run(model_dir)
    message = str(raised.value).splitlines()
    assert message[0] == (
        f"build {run.script.build_id} FAILED in phase BUILD (COMMAND_EXECUTION_ERROR: Error while "
        "executing command: make train. Reason: exit status 2)"
    )
    assert message[1] == "last log lines:"
    assert message[-1] == "  ValueError: validation mse 3.2 above max_validation_mse 1.0"
    assert message[2] == "  epoch 11" and len(message) == 2 + 20  # the last 20 lines
    assert not model_dir.exists()


def test_timeout_is_reported_as_such(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    run = Run(
        clients,
        dev,
        [
            Step(
                "BUILD",
                ("epoch 1",),
                status="TIMED_OUT",
                failed_phase_status="TIMED_OUT",
                reason="Build has timed out.",
            )
        ],
    )
    with pytest.raises(
        OpsError, match=r"TIMED_OUT in phase BUILD \(COMMAND_EXECUTION_ERROR: Build"
    ):
        run(tmp_path / "model")


def interrupt() -> None:
    raise KeyboardInterrupt


def test_ctrl_c_asks_and_stops_the_build(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    run = Run(clients, dev, [Step("BUILD", ("epoch 1",), action=interrupt)])
    run.answers = [True]
    with pytest.raises(Interrupted, match="stopped at your request; the model is unchanged"):
        run(tmp_path / "model")
    assert run.questions == [f"Stop build {run.script.build_id}? [y/N] "]
    assert [b["buildStatus"] for b in moto_builds(dev.region)] == ["STOPPED"]  # via StopBuild


def test_ctrl_c_without_an_answer_leaves_the_build_running(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    run = Run(clients, dev, [Step("BUILD", ("epoch 1",), action=interrupt)])
    run.answers = []  # input() at end of file: nobody to answer

    def no_answer(question: str) -> bool:
        raise EOFError

    run.ask = no_answer  # type: ignore[method-assign]
    with pytest.raises(Interrupted, match=r"left build .* running; stop it with `aws codebuild"):
        run(tmp_path / "model")
    assert [b["buildStatus"] for b in moto_builds(dev.region)] == ["IN_PROGRESS"]


def test_ctrl_c_answered_no_keeps_watching(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    run = Run(clients, dev, [])
    run.script.steps.extend(
        [
            Step("BUILD", ("epoch 1",), action=interrupt),
            Step("BUILD", action=run.publish_model),
            Step("COMPLETED", status="SUCCEEDED"),
        ]
    )
    run.answers = [False]
    run(tmp_path / "model")
    assert "still watching" in run.text
    assert (tmp_path / "model" / "model.json").read_bytes() == NEW["model.json"]


def test_uploads_the_data_to_the_configured_key(
    held: None, clients: AwsClients, dev: EnvironmentConfig, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("y,x\n1,2\n")
    run = Run(clients, dev, [Step("BUILD", status="FAILED", failed_phase_status="FAILED")])
    with pytest.raises(OpsError):
        run(tmp_path / "model", data=data)
    stored = clients.s3.get_object(Bucket=BUCKET, Key=dev.training.data_key)["Body"].read()
    assert stored == b"y,x\n1,2\n"
    assert f"uploaded {data} to s3://{BUCKET}/data/train.csv" in run.text


def test_missing_data_file_fails_before_any_aws_call(
    aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # would be a network error
    code = main(["train-remote", "--env", "dev", "--data", str(tmp_path / "nope.csv")])
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: DATA={tmp_path / 'nope.csv'}: no such file; give the path of a training CSV\n"
    )


def test_cli_end_to_end_with_moto_completing_the_build(
    clients: AwsClients,
    deployed: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Unscripted: moto's build publishes (as the buildspec would) and ends on the first poll."""

    original = CodeBuildBackend.start_build

    def start_build_that_publishes(backend: Any, *args: Any, **kwargs: Any) -> Any:
        build = original(backend, *args, **kwargs)
        publish(clients.s3, BUCKET, "dev", build["id"], NEW)
        return build

    monkeypatch.setattr(CodeBuildBackend, "start_build", start_build_that_publishes)
    model_dir = tmp_path / "model"
    code = main(
        ["train-remote", "--env", "dev", "--poll-seconds", "0", "--model-dir", str(model_dir)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[1] == "phase COMPLETED 0m00s"
    assert re.search(
        r"^installed dev build [0-9a-f-]{36} \(model_version [0-9a-f]{12}\) in ", out, re.M
    )
    assert (model_dir / "model.pth").read_bytes() == NEW["model.pth"]


def test_cli_build_that_published_nothing(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    code = main(
        ["train-remote", "--env", "dev", "--poll-seconds", "0", "--model-dir", str(model_dir)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: no model published for dev yet")
    assert not model_dir.exists()
