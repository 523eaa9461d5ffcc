"""`make retrain` against moto: S3 and CloudFormation for the stacks, and moto's Step Functions
executing the workflow's shape (workflow.py), whose waiting states the test answers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ops.cli import main
from tests.ops.lifecycle.conftest import DeployWorkflow
from tests.ops.lifecycle.workflow import fail, succeed
from torchlambda.lifecycle import events
from torchlambda.lifecycle.documents import Evaluation, ScoredModel, SetRecord
from torchlambda.lifecycle.gate import relative_improvement

CANDIDATE = ScoredModel("b-new", "a" * 64, "0123456789ab", 0.5)
CONSOLE = "https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/"
ELAPSED = r"\d+m\d\ds"


def evaluation(champion_mse: float | None, candidate_mse: float = CANDIDATE.mse) -> dict[str, Any]:
    """The evaluate function's answer for CANDIDATE at `candidate_mse` (first model: None)."""
    champion = None
    if champion_mse is not None:
        champion = ScoredModel("b-old", "b" * 64, "ba9876543210", champion_mse)
    candidate = ScoredModel(
        CANDIDATE.build_id, CANDIDATE.sha256, CANDIDATE.model_version, candidate_mse
    )
    return Evaluation(
        environment="dev",
        evaluation_set=SetRecord("models/dev/b-new/test.csv", "c" * 64, 200),
        candidate=candidate,
        champion=champion,
        champion_etag=None if champion is None else '"etag-1"',
        improvement=None
        if champion_mse is None
        else relative_improvement(champion_mse, candidate_mse),
        summary="scored",
        evaluated_at="2026-11-21T21:00:00Z",
    ).to_dict()


TRAINED = succeed("Train", {"Build": {"Id": "torchlambda-training-dev:b-new"}})
PROMOTED = succeed("Promote", {events.BUILD_ID: "b-new", events.SHA256: "a" * 64})


def retrain(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["retrain", "--env", "dev", "--poll-seconds", "0"])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def progress(lines: list[str]) -> list[str]:
    """The status lines, elapsed time dropped, before the execution had entered a state left out
    (the first poll may come before or after the first state is entered)."""
    status = re.compile(rf"([A-Z_]+ \w+) {ELAPSED}")
    shown = [match.group(1) for match in map(status.fullmatch, lines) if match]
    return [line for line in shown if line != "RUNNING starting"]


def test_a_better_candidate_is_promoted(
    deploy_workflow: DeployWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = deploy_workflow()
    steps.answers = [TRAINED, succeed("Evaluate", evaluation(champion_mse=0.8)), PROMOTED]
    code, out, err = retrain(capsys)
    assert (code, err) == (0, "")
    execution = steps.execution()
    assert execution["name"].startswith("manual-")
    assert json.loads(execution["input"]) == {events.TRIGGER: events.MANUAL}
    assert out[0] == f"started the retrain of dev: {CONSOLE}details/{execution['executionArn']}"
    assert progress(out) == [
        "RUNNING Train",
        "RUNNING Evaluate",
        "RUNNING Promote",
        "SUCCEEDED Promoted",
    ]
    verdict = out.index(next(line for line in out if line.startswith("candidate promoted")))
    assert re.fullmatch(rf"candidate promoted after {ELAPSED}: promoted build b-new", out[verdict])
    table = [line.split() for line in out[verdict + 2 : verdict + 5]]
    assert table == [
        ["build", "model_version", "sha256", "MSE"],
        ["candidate", "b-new", "0123456789ab", "aaaaaaaaaaaa", "0.5"],
        ["champion", "b-old", "ba9876543210", "bbbbbbbbbbbb", "0.8"],
    ]
    assert out[verdict + 1].startswith("  scored on models/dev/b-new/test.csv: 200 rows")
    assert out[verdict + 5] == "  improvement over the champion: +37.50% (relative MSE)"
    assert out[-1].startswith("dev's champion is now build b-new (model_version 0123456789ab)")


def test_a_candidate_that_improves_too_little_is_rejected(
    deploy_workflow: DeployWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = deploy_workflow()
    steps.answers = [TRAINED, succeed("Evaluate", evaluation(champion_mse=0.502))]
    code, out, err = retrain(capsys)
    assert (code, err) == (0, "")
    assert steps.answered == ["Train", "Evaluate"]  # never promoted
    assert progress(out)[-1] == "SUCCEEDED Rejected"
    verdict = next(line for line in out if line.startswith("candidate rejected"))
    assert "relative improvement 0.00398" in verdict and "below the gate, 0.01" in verdict
    assert out[-1] == "dev's champion is unchanged"


def test_the_first_model_is_judged_on_the_absolute_gate(
    deploy_workflow: DeployWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = deploy_workflow()
    steps.answers = [TRAINED, succeed("Evaluate", evaluation(champion_mse=None)), PROMOTED]
    code, out, _ = retrain(capsys)
    assert code == 0
    assert ["champion", "none", "-", "-", "-"] in [line.split() for line in out]
    assert "  no champion before it: the first model is judged on the absolute gate alone" in out


def test_a_candidate_above_the_absolute_gate_is_rejected(
    deploy_workflow: DeployWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = deploy_workflow()
    answer = evaluation(champion_mse=None, candidate_mse=7.5)
    steps.answers = [TRAINED, succeed("Evaluate", answer)]
    code, out, _ = retrain(capsys)
    assert code == 0
    assert any(
        line.startswith("candidate rejected") and "MSE 7.5 is above the gate, 6" in line
        for line in out
    )


def test_a_failed_state_is_named_on_one_line(
    deploy_workflow: DeployWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = deploy_workflow()
    steps.answers = [TRAINED, fail("Evaluate", "ModelRefused")]
    code, out, err = retrain(capsys)
    assert code == 1
    arn = steps.execution()["executionArn"]
    # The catch goes on to NotifyFailure and RetrainFailed: the state named is the one that failed.
    assert progress(out)[-1] == "FAILED RetrainFailed"
    assert re.fullmatch(
        rf"error: retrain FAILED after {ELAPSED} in state Evaluate \(ModelRefused\); "
        rf"see {re.escape(CONSOLE)}details/{re.escape(arn)}\n",
        err,
    )


def test_a_timed_out_execution_names_the_state_it_was_in(
    deploy_workflow: DeployWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    # Long enough for Train to be answered on a loaded machine (1 s was not, once), well within
    # the STEP_TIMEOUT_S the stand-in waits for the execution to end.
    steps = deploy_workflow(timeout_seconds=4)
    steps.answers = [TRAINED]  # then Evaluate waits past the execution's timeout
    code, _, err = retrain(capsys)
    assert code == 1
    assert re.match(
        # moto records no stopDate for a timed-out execution: no duration then
        rf"error: retrain TIMED_OUT (after {ELAPSED} )?in state Evaluate \(the execution ran past "
        "the workflow's timeout\\); see https://",
        err,
    )
    assert err.count("\n") == 1


def test_ctrl_c_stops_following_not_the_execution(
    deploy_workflow: DeployWorkflow,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = deploy_workflow()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ops.lifecycle.follow.pause", interrupt)
    code, _, err = retrain(capsys)
    assert code == 130
    execution = steps.execution()
    assert execution["status"] == "RUNNING"
    arn = execution["executionArn"]
    assert err == (
        f"error: stopped following; the retrain goes on in dev (execution {arn}): follow or "
        f"stop it at {CONSOLE}details/{arn}\n"
    )


def test_without_the_lifecycle_stack(
    artifacts: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = retrain(capsys)
    assert code == 1
    assert err == (
        "error: stack TorchLambda-Lifecycle-dev is not deployed in us-west-2; deploy it with "
        "`make deploy ENV=dev`\n"
    )
