"""What a Step Functions execution's history says: the state it is in, and where it failed.

GetExecutionHistory lists events oldest first: each state's `<Kind>StateEntered` (its name in
`stateEnteredEventDetails`), a task's own events (`TaskFailed`, `LambdaFunctionTimedOut`, ...,
each with an `...EventDetails` holding `error` and `cause`), and the execution's end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EXECUTION_ENDS = frozenset({"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})
# GetExecutionHistory's largest page: a retrain's whole history (a few dozen events) in one call.
PAGE_SIZE = 1000


def read_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution so far, oldest first."""
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    return [event for page in pages for event in page.get("events", [])]


def entered_state(event: dict[str, Any]) -> str | None:
    if not str(event.get("type", "")).endswith("StateEntered"):
        return None
    return str(event.get("stateEnteredEventDetails", {}).get("name", "?"))


def current_state(history: Iterable[dict[str, Any]]) -> str | None:
    """The state entered last; None before the first."""
    state = None
    for event in history:
        state = entered_state(event) or state
    return state


@dataclass(frozen=True)
class Failure:
    state: str | None  # None: it ended before entering any state
    error: str | None
    cause: str | None


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for name, value in event.items():
        if name.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _within_state(kind: str, suffix: str) -> bool:
    """A task's or a state's own event (TaskFailed, LambdaFunctionSucceeded, ...), not the
    execution's."""
    return kind.endswith(suffix) and not kind.startswith("Execution")


def failure_of(history: Iterable[dict[str, Any]]) -> Failure:
    """Where and why an execution that did not succeed failed.

    The workflow catches a task's failure and goes on to notify it before failing, so the state
    entered last is the final Fail state, never the cause. The cause is the first failure that no
    retry undid: a later failure in another state (the notification itself failing, say) is a
    consequence, while a later attempt of the same state replaces it. With no task failure
    (the execution timed out or was stopped), it is the state the execution was in when it ended.
    """
    state: str | None = None
    cause: Failure | None = None
    ended: Failure | None = None
    for event in history:
        kind = str(event.get("type", ""))
        details = _details(event)
        entered = entered_state(event)
        if entered is not None:
            state = entered
        elif _within_state(kind, "Succeeded") and cause is not None and cause.state == state:
            cause = None  # a retry succeeded
        elif _within_state(kind, "Failed") or _within_state(kind, "TimedOut"):
            if cause is None or cause.state == state:
                cause = Failure(state, details.get("error"), details.get("cause"))
        elif kind in EXECUTION_ENDS:
            ended = Failure(state, details.get("error"), details.get("cause"))
    ended = ended or Failure(state, None, None)
    if cause is None:
        return ended
    return Failure(cause.state, cause.error or ended.error, cause.cause or ended.cause)
