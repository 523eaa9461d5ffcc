"""Reading an execution's history: the failed state and its cause, in the shapes Step Functions
records them (GetExecutionHistory's event types and `...EventDetails`), and causes made readable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.lifecycle.history import Failure, current_state, failure_of
from ops.lifecycle.retrain import readable_cause

LAMBDA_CAUSE = json.dumps(
    {"errorMessage": "candidate b-new: weights do not match\nits card", "errorType": "ModelRefused"}
)


def entered(kind: str, name: str) -> dict[str, Any]:
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}


def event(kind: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value}
    name = kind[0].lower() + kind[1:] + "EventDetails"
    return {"type": kind, name: details}


CAUGHT_AND_NOTIFIED = [
    event("ExecutionStarted"),
    entered("Task", "Train"),
    event("TaskSucceeded"),
    entered("Task", "Evaluate"),
    event("TaskFailed", "ModelRefused", LAMBDA_CAUSE),
    entered("Task", "NotifyFailure"),
    event("TaskSucceeded"),
    entered("Fail", "RetrainFailed"),
    event("ExecutionFailed", "ModelRefused", LAMBDA_CAUSE),
]


def test_a_caught_failure_is_named_not_the_fail_state() -> None:
    assert current_state(CAUGHT_AND_NOTIFIED) == "RetrainFailed"
    assert failure_of(CAUGHT_AND_NOTIFIED) == Failure("Evaluate", "ModelRefused", LAMBDA_CAUSE)


def test_a_failed_notification_does_not_hide_the_cause() -> None:
    history = [*CAUGHT_AND_NOTIFIED[:6], event("TaskFailed", "SNS.KMSAccessDenied", "no key")]
    history += [event("ExecutionFailed", "SNS.KMSAccessDenied", "no key")]
    assert failure_of(history).state == "Evaluate"


def test_a_retry_that_succeeds_is_no_failure() -> None:
    history = [
        entered("Task", "Train"),
        event("TaskFailed", "CodeBuild.AccountLimitExceededException", "too many builds"),
        event("TaskSucceeded"),
        entered("Task", "Evaluate"),
        event("LambdaFunctionTimedOut", "States.Timeout"),
        event("ExecutionFailed", "States.Timeout"),
    ]
    assert failure_of(history) == Failure("Evaluate", "States.Timeout", None)


def test_the_last_attempt_of_a_retried_state_is_its_failure() -> None:
    history = [
        entered("Task", "Train"),
        event("TaskFailed", "CodeBuild.AWSCodeBuildException", "throttled"),
        event("TaskFailed", "States.TaskFailed", '{"Build": {"BuildStatus": "FAILED"}}'),
        event("ExecutionFailed", "States.TaskFailed"),
    ]
    failure = failure_of(history)
    assert (failure.state, failure.error) == ("Train", "States.TaskFailed")


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (event("ExecutionTimedOut", "States.Timeout"), Failure("Train", "States.Timeout", None)),
        (event("ExecutionAborted", "Stopped", "by alice"), Failure("Train", "Stopped", "by alice")),
    ],
)
def test_an_execution_that_ended_without_a_task_failure(
    end: dict[str, Any], expected: Failure
) -> None:
    assert failure_of([event("ExecutionStarted"), entered("Task", "Train"), end]) == expected


def test_an_execution_that_failed_before_its_first_state() -> None:
    history = [event("ExecutionStarted"), event("ExecutionFailed", "States.Runtime", "bad input")]
    assert failure_of(history) == Failure(None, "States.Runtime", "bad input")
    assert current_state(history) is None


def test_a_lambda_cause_is_its_message_on_one_line() -> None:
    assert readable_cause(LAMBDA_CAUSE) == "candidate b-new: weights do not match its card"


def test_a_failed_build_is_its_failed_phase() -> None:
    build = {
        "Id": "torchlambda-training-dev:b-new",
        "BuildStatus": "FAILED",
        "Phases": [
            {"PhaseType": "INSTALL", "PhaseStatus": "SUCCEEDED"},
            {
                "PhaseType": "BUILD",
                "PhaseStatus": "FAILED",
                "Contexts": [{"StatusCode": "COMMAND_EXECUTION_ERROR", "Message": "exit 1"}],
            },
        ],
    }
    assert readable_cause(json.dumps({"Build": build})) == (
        "build torchlambda-training-dev:b-new FAILED in phase BUILD (exit 1)"
    )


def test_any_other_cause_is_one_short_line() -> None:
    cause = readable_cause("line one\n\tline two " + "x" * 500)
    assert cause.startswith("line one line two xxx") and cause.endswith("...")
    assert "\n" not in cause and len(cause) == 300
    assert readable_cause(None) == ""
