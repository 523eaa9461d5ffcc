"""`make promote` against moto's S3 and EventBridge: builds published as training publishes them,
evaluated by the evaluator's own code, judged by dev's gate, champion.json moved conditionally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import torchlambda.lifecycle.evaluation
from ops.aws import AwsClients
from ops.cli import main
from tests.ops.aws_stand_ins import aws_error_server
from tests.ops.conftest import BUCKET
from tests.ops.lifecycle.conftest import FIRST, SECOND, Publish, split_fitting
from tests.ops.model_files import sha256_of, version_of
from torchlambda import contract
from torchlambda.contract import champion_key
from torchlambda.lifecycle import events


def promote(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, list[str], str]:
    code = main(["promote", "--env", "dev", *arguments])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def champion(clients: AwsClients) -> dict[str, Any]:
    body = clients.s3.get_object(Bucket=BUCKET, Key=champion_key("dev"))["Body"].read()
    return dict(json.loads(body))


@pytest.fixture
def builds(publish_build: Publish) -> None:
    """`incumbent`: FIRST, fitting its own split. `better`: SECOND on its own split, where FIRST
    does worse. `worse`: SECOND on a split FIRST fits exactly, where it cannot improve."""
    publish_build("incumbent", FIRST, split_fitting(FIRST))
    publish_build("better", SECOND, split_fitting(SECOND))
    publish_build("worse", SECOND, split_fitting(FIRST))


@pytest.fixture
def announcements(clients: AwsClients) -> Any:
    """A queue receiving the default bus's promotion events, as the delivery pipeline's rule
    matches them."""
    sqs, bridge = clients.client("sqs"), clients.client("events")
    queue = sqs.create_queue(QueueName="promotions")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    pattern = {
        "source": [contract.LIFECYCLE_EVENT_SOURCE],
        "detail-type": [contract.CHAMPION_PROMOTED],
    }
    bridge.put_rule(Name="promotions", EventPattern=json.dumps(pattern))
    bridge.put_targets(
        Rule="promotions", Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}]
    )

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return received


def test_the_first_champion_passes_the_absolute_gate(
    clients: AwsClients,
    builds: None,
    announcements: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = promote(capsys, "--build", "torchlambda-training-dev:incumbent")
    assert (code, err) == (0, "")
    assert out[0] == (
        "evaluating build incumbent against no champion (the first model) on candidate ..."
    )
    assert "the gate passes it: first model: within the absolute gate" in out
    assert out[-1] == (
        f"dev's champion is now build incumbent (model_version {version_of(FIRST)}, sha256 "
        f"{sha256_of(FIRST)[:12]}, MSE 0); the first champion"
    )
    document = champion(clients)
    assert document[events.BUILD_ID] == "incumbent"
    assert document[events.SHA256] == sha256_of(FIRST)
    assert document[events.PREVIOUS] is None and document[events.FORCED] is None
    assert document[events.PROMOTED_BY].startswith("cli:")
    (event,) = announcements()
    summary = event["detail"].pop(events.SUMMARY)
    assert event["detail"] == {
        events.ENVIRONMENT: "dev",
        events.BUILD_ID: "incumbent",
        events.SHA256: sha256_of(FIRST),
        events.MODEL_VERSION: version_of(FIRST),
    }
    assert summary.startswith(f"candidate incumbent ({version_of(FIRST)}) MSE 0; no champion")


def test_a_better_build_replaces_the_champion(
    clients: AwsClients, builds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert promote(capsys, "--build", "incumbent")[0] == 0
    code, out, err = promote(capsys, "--build", "better")
    assert (code, err) == (0, "")
    rows = {line.split()[0]: line.split() for line in out if line.startswith("  ")}
    assert rows["candidate"][1:4] == ["better", version_of(SECOND), sha256_of(SECOND)[:12]]
    assert rows["champion"][1:4] == ["incumbent", version_of(FIRST), sha256_of(FIRST)[:12]]
    assert float(rows["candidate"][4]) < float(rows["champion"][4])
    assert out[-1].endswith(
        f"it replaces build incumbent (sha256 {sha256_of(FIRST)[:12]}, MSE {rows['champion'][4]})"
    )
    document = champion(clients)
    assert document[events.BUILD_ID] == "better"
    assert document[events.PREVIOUS] == {
        events.BUILD_ID: "incumbent",
        events.SHA256: sha256_of(FIRST),
    }


def test_the_gate_refuses_a_worse_build(
    clients: AwsClients, builds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    promote(capsys, "--build", "incumbent")
    before = champion(clients)
    code, _, err = promote(capsys, "--build", "worse")
    assert code == 1
    assert err.startswith("error: dev's gate refuses build worse: improves on the champion by -")
    assert err.endswith(
        "the champion is unchanged (FORCE=<reason> promotes it anyway and records why)\n"
    )
    assert err.count("\n") == 1
    assert champion(clients) == before


def test_force_promotes_past_the_gate_and_records_why(
    clients: AwsClients, builds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    promote(capsys, "--build", "incumbent")
    code, out, err = promote(capsys, "--build", "worse", "--force", "rollback: drill")
    assert (code, err) == (0, "")
    assert any(
        line.startswith("the gate refuses it (improves on the champion by -")
        and line.endswith("promoting anyway, recorded: rollback: drill")
        for line in out
    )
    document = champion(clients)
    assert (document[events.BUILD_ID], document[events.FORCED]) == ("worse", "rollback: drill")


def test_force_is_not_recorded_when_the_gate_passes(
    clients: AwsClients, builds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = promote(capsys, "--build", "incumbent", "--force", "just because")
    assert code == 0
    assert "FORCE is not needed and not recorded: the gate passed the build on its own" in out
    assert champion(clients)[events.FORCED] is None


def test_a_promotion_that_lost_the_race_replaces_nothing(
    clients: AwsClients,
    builds: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    promote(capsys, "--build", "incumbent")
    evaluate = torchlambda.lifecycle.evaluation.evaluate
    moved = {**champion(clients), events.PROMOTED_BY: "cli:someone-else"}

    def evaluate_then_another_promotes(*args: Any, **kwargs: Any) -> dict[str, Any]:
        evaluation = evaluate(*args, **kwargs)
        body = json.dumps(moved).encode()
        clients.s3.put_object(Bucket=BUCKET, Key=champion_key("dev"), Body=body)
        return evaluation

    monkeypatch.setattr(
        torchlambda.lifecycle.evaluation, "evaluate", evaluate_then_another_promotes
    )
    code, _, err = promote(capsys, "--build", "better")
    assert code == 1
    assert "the champion moved since the candidate was evaluated; nothing was replaced" in err
    assert err.count("\n") == 1
    assert champion(clients) == moved


def test_the_champion_again_is_nothing_to_do(
    clients: AwsClients, builds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    promote(capsys, "--build", "incumbent")
    before = champion(clients)
    code, out, _ = promote(capsys, "--build", "incumbent")
    assert (code, out) == (0, ["build incumbent is already dev's champion; nothing to do"])
    assert champion(clients) == before


def test_an_unpublished_build_is_one_line(
    clients: AwsClients, builds: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = promote(capsys, "--build", "never-built")
    assert code == 1
    assert err.startswith("error: ") and "never-built" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--build", ""], "error: BUILD is empty: give the id of a published build to promote"),
        (["--build", "a/b"], "error: BUILD='a/b' is not a build id"),
        (["--build", "x", "--force", " "], "error: FORCE is empty: give the reason"),
        ([], "error: the following arguments are required: --build"),
    ],
)
def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["promote", "--env", "dev", *arguments])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_fetch_model_installs_the_promoted_champion(
    builds: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    promote(capsys, "--build", "incumbent")
    assert promote(capsys, "--build", "better")[0] == 0  # latest.json names `worse`
    model_dir = tmp_path / "model"
    code = main(
        ["fetch-model", "--env", "dev", "--from", "champion", "--model-dir", str(model_dir)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert {path.name: path.read_bytes() for path in model_dir.iterdir()} == SECOND
    assert out.startswith(f"installed dev build better (model_version {version_of(SECOND)})")


def test_a_failed_announcement_says_the_champion_moved(
    clients: AwsClients,
    builds: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with aws_error_server(400, "AccessDeniedException", protocol="json") as refusing:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", refusing.url)
        code, _, err = promote(capsys, "--build", "incumbent")
    assert code == 1
    assert err.startswith(
        "error: the champion moved, but announcing it failed (access denied to PutEvents "
        "(AccessDeniedException: stand-in refuses)"
    )
    assert err.endswith(
        "so the delivery pipeline was not told; start the pipeline by hand to ship it\n"
    )
    assert champion(clients)[events.BUILD_ID] == "incumbent"
