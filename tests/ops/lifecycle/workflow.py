"""The retrain workflow's shape on moto's Step Functions, executed by moto's own interpreter.

moto runs a state machine's definition when its `execute_state_machine` setting is on, but it
cannot run CodeBuild's `.sync` integration, nor a Lambda function without Docker. So the three
states that call them here (Train, Evaluate, Promote) are SQS `.waitForTaskToken` tasks of the
same names, result paths and catches: the test answers each, through SendTaskSuccess with the
document the real task answers or SendTaskFailure with an error. Everything else is the shape of
infra/constructs/retrain_workflow.py: the Gate's Choice on the same fields, the Pass states that
record the verdict, the notifications (Pass here), the Succeed and Fail ends. Descriptions and
histories are moto's.

What moto does differently from Step Functions, and the tests allow for: SendTaskFailure drops the
cause; an execution past TimeoutSeconds ends TIMED_OUT without an ExecutionTimedOut event; the
interpreter refuses a Fail state whose error starts with `States.` (the real service's
`States.TaskFailed`), so the tests fail tasks with the errors the functions raise; its intrinsic
functions cannot escape a quote, so the verdicts' reasons here have no apostrophe.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from torchlambda.lifecycle import events
from torchlambda.lifecycle.gate import Gate

STEP_TIMEOUT_S = 10.0  # no test waits longer for the execution to move
ROLE_ARN = "arn:aws:iam::123456789012:role/retrain-workflow"


def path(*names: str) -> str:
    return "$." + ".".join(names)


def definition(queue_url: str, gate: Gate, timeout_seconds: int) -> dict[str, Any]:
    catch = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": path(events.ERROR), "Next": "NotifyFailure"}
    ]

    def waiting_task(result_path: str, next_state: str, **extra: Any) -> dict[str, Any]:
        message = {"token.$": "$$.Task.Token", "state.$": "$$.State.Name"}
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue_url, "MessageBody": message},
            "ResultPath": result_path,
            "Catch": catch,
            "Next": next_state,
            **extra,
        }

    def verdict(status: str, reason: str, value: str, next_state: str) -> dict[str, Any]:
        parameters = {
            events.STATUS: status,
            f"{events.REASON}.$": f"States.Format('{reason}', {value})",
        }
        return {
            "Type": "Pass",
            "Parameters": parameters,
            "ResultPath": path(events.VERDICT),
            "Next": next_state,
        }

    candidate_mse = path(events.EVALUATION, events.CANDIDATE, events.MSE)
    improvement = path(events.EVALUATION, events.IMPROVEMENT)
    return {
        "StartAt": "Train",
        "TimeoutSeconds": timeout_seconds,
        "States": {
            "Train": waiting_task(
                path(events.TRAINING),
                "Evaluate",
                ResultSelector={f"{events.BUILD_ID}.$": "$.Build.Id"},
            ),
            "Evaluate": waiting_task(path(events.EVALUATION), "Gate"),
            "Gate": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": candidate_mse,
                        "NumericGreaterThan": gate.max_mse,
                        "Next": "RejectAboveMax",
                    },
                    {
                        "Variable": path(events.EVALUATION, events.CHAMPION),
                        "IsNull": True,
                        "Next": "Promote",
                    },
                    {
                        "Variable": improvement,
                        "NumericLessThan": gate.min_relative_improvement,
                        "Next": "RejectNoImprovement",
                    },
                ],
                "Default": "Promote",
            },
            "Promote": waiting_task(path(events.CHAMPION), "Announce"),
            "Announce": {"Type": "Pass", "ResultPath": None, "Next": "RecordPromotion"},
            "RecordPromotion": verdict(
                events.PROMOTED,
                "promoted build {}",
                path(events.CHAMPION, events.BUILD_ID),
                "NotifyPromoted",
            ),
            "NotifyPromoted": {"Type": "Pass", "ResultPath": None, "Next": "Promoted"},
            "Promoted": {"Type": "Succeed"},
            "RejectAboveMax": verdict(
                events.REJECTED,
                f"candidate MSE {{}} is above the gate, {gate.max_mse:g}",
                candidate_mse,
                "NotifyRejected",
            ),
            "RejectNoImprovement": verdict(
                events.REJECTED,
                f"relative improvement {{}} is below the gate, {gate.min_relative_improvement:g}",
                improvement,
                "NotifyRejected",
            ),
            "NotifyRejected": {"Type": "Pass", "ResultPath": None, "Next": "Rejected"},
            "Rejected": {"Type": "Succeed"},
            "NotifyFailure": {"Type": "Pass", "ResultPath": None, "Next": "RetrainFailed"},
            "RetrainFailed": {
                "Type": "Fail",
                "ErrorPath": path(events.ERROR, "Error"),
                "CausePath": path(events.ERROR, "Cause"),
            },
        },
    }


@dataclass(frozen=True)
class Answer:
    """What the test answers a waiting state with: its output, or an error."""

    state: str
    output: dict[str, Any] | None = None
    error: str | None = None


def succeed(state: str, output: dict[str, Any]) -> Answer:
    return Answer(state, output=output)


def fail(state: str, error: str) -> Answer:
    return Answer(state, error=error)


class Steps:
    """Answers the execution's waiting states one at a time, in the order scripted.

    Used as the follower's pause: each pause answers the state the execution waits in, then
    waits until it waits in the next one or has ended, so every poll sees one state exactly.
    With no answer left it waits for the execution to end by itself (a timeout).
    """

    def __init__(self, sfn: Any, sqs: Any, queue_url: str, state_machine_arn: str) -> None:
        self.sfn, self.sqs, self.queue_url = sfn, sqs, queue_url
        self.state_machine_arn = state_machine_arn
        self.answers: list[Answer] = []
        self.answered: list[str] = []
        self._waiting: tuple[str, str] | None = None  # (state, task token)

    def __call__(self, seconds: float) -> None:
        if self._waiting is None:
            self._waiting = self._next_wait()
        if not self.answers:
            self._until_ended()
            return
        answer = self.answers.pop(0)
        assert self._waiting is not None, f"the execution ended before {answer.state}"
        state, token = self._waiting
        assert state == answer.state, f"the execution waits in {state}, not {answer.state}"
        if answer.error is not None:
            self.sfn.send_task_failure(taskToken=token, error=answer.error)
        else:
            self.sfn.send_task_success(taskToken=token, output=json.dumps(answer.output))
        self.answered.append(state)
        self._waiting = self._next_wait()

    def execution(self) -> dict[str, Any]:
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        assert len(listed) == 1, listed
        return dict(self.sfn.describe_execution(executionArn=listed[0]["executionArn"]))

    def release(self) -> None:
        """End an execution the test left waiting (its thread would wait for ever)."""
        if not self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]:
            return
        waiting = self._waiting or self._next_wait()
        if waiting is not None:
            self.sfn.send_task_failure(taskToken=waiting[1], error="TestEnded")

    def _next_wait(self) -> tuple[str, str] | None:
        """The next state the execution waits in, or None once it has ended."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url).get("Messages", [])
            if messages:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"]
                )
                body = json.loads(messages[0]["Body"])
                return str(body["state"]), str(body["token"])
            if self.execution()["status"] != "RUNNING":
                return None
            time.sleep(0.02)
        raise AssertionError(f"the execution neither waited nor ended in {STEP_TIMEOUT_S}s")

    def _until_ended(self) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while self.execution()["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not end"
            time.sleep(0.05)
        self._waiting = None
