"""`make retrain ENV=...`: start the environment's retrain workflow by hand, follow it state by
state, and end with its verdict and both models' metrics (docs/lifecycle.md).

Promoted and rejected are both answers (exit 0); a failed, timed-out or aborted execution is one
`error:` line naming the state that failed and why.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.config import EnvironmentConfig
from infra.outputs import LifecycleOutput
from ops.aws import AwsClients
from ops.errors import Interrupted, OpsError
from ops.lifecycle.follow import ExecutionFollower
from ops.lifecycle.history import failure_of, read_history
from ops.lifecycle.report import evaluation_lines, parse_evaluation
from ops.model.build_watch import format_elapsed
from ops.stack_outputs import stack_output
from tooling.interrupts import sigterm_as_interrupt
from torchlambda.lifecycle import events
from torchlambda.model_sources.errors import one_line

# What an ending without an error of its own means.
UNEXPLAINED = {
    "TIMED_OUT": "the execution ran past the workflow's timeout",
    "ABORTED": "the execution was stopped",
}


def execution_name(now: datetime | None = None) -> str:
    """`manual-<UTC time>-<6 hex>`: sorts by time in the console, unique among concurrent starts."""
    moment = now or datetime.now(UTC)
    return f"{events.MANUAL}-{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def console_url(region: str, execution_arn: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def retrain(
    clients: AwsClients,
    config: EnvironmentConfig,
    follower_for: Callable[[Any], ExecutionFollower],
    say: Callable[[str], None],
) -> int:
    state_machine = stack_output(clients.cloudformation, config, LifecycleOutput.STATE_MACHINE_ARN)
    sfn = clients.client("stepfunctions")
    with sigterm_as_interrupt():
        started = sfn.start_execution(
            stateMachineArn=state_machine,
            name=execution_name(),
            input=json.dumps({events.TRIGGER: events.MANUAL}),
        )
        arn = str(started["executionArn"])
        url = console_url(config.region, arn)
        say(f"started the retrain of {config.name}: {url}")
        try:
            execution = follower_for(sfn).follow(arn)
        except KeyboardInterrupt:
            raise Interrupted(
                f"stopped following; the retrain goes on in {config.name} (execution {arn}): "
                f"follow or stop it at {url}"
            ) from None
    if execution["status"] != "SUCCEEDED":
        raise OpsError(failure_line(sfn, execution, url))
    for line in verdict_lines(execution, config.name):
        say(line)
    return 0


def took(execution: dict[str, Any]) -> str:
    start, stop = execution.get("startDate"), execution.get("stopDate")
    if isinstance(start, datetime) and isinstance(stop, datetime):
        return f" after {format_elapsed((stop - start).total_seconds())}"
    return ""


def verdict_lines(execution: dict[str, Any], environment: str) -> list[str]:
    """The verdict, the evaluation it rests on, and what became of the champion."""
    source = f"the retrain's output ({execution['executionArn']})"
    try:
        output = json.loads(execution.get("output") or "null")
        verdict = output[events.VERDICT]
        status, reason = str(verdict[events.STATUS]), str(verdict[events.REASON])
    except (ValueError, TypeError, KeyError):
        raise OpsError(f"{source} holds no verdict; see the execution in the console") from None
    evaluation = parse_evaluation(output.get(events.EVALUATION), source)
    lines = [f"candidate {status}{took(execution)}: {reason}"]
    lines += ["  " + line for line in evaluation_lines(evaluation)]
    candidate = evaluation.candidate
    if status == events.PROMOTED:
        lines.append(
            f"{environment}'s champion is now build {candidate.build_id} (model_version "
            f"{candidate.model_version}): `make champion ENV={environment}` shows it"
        )
    else:
        lines.append(f"{environment}'s champion is unchanged")
    return lines


def failure_line(sfn: Any, execution: dict[str, Any], url: str) -> str:
    """One line: how the execution ended, in which state, and why."""
    status = str(execution["status"])
    failure = failure_of(read_history(sfn, str(execution["executionArn"])))
    state = f" in state {failure.state}" if failure.state else " before its first state"
    error = failure.error or execution.get("error") or UNEXPLAINED.get(status, "no error recorded")
    cause = readable_cause(failure.cause or execution.get("cause"))
    why = f"{error}: {cause}" if cause else error
    return f"retrain {status}{took(execution)}{state} ({why}); see {url}"


def readable_cause(cause: str | None) -> str:
    """A cause as one short line: a Lambda error's message, a failed build's phase and status,
    or the text itself, its whitespace collapsed and its length capped."""
    if not cause:
        return ""
    try:
        document = json.loads(cause)
    except ValueError:
        document = None
    if isinstance(document, dict):
        if "errorMessage" in document:  # a function's error: {"errorType", "errorMessage", ...}
            return one_line(str(document["errorMessage"]))
        build = document.get("Build")
        if isinstance(build, dict):  # a CodeBuild .sync task: the build as it ended
            return build_summary(build)
    return one_line(cause)


def build_summary(build: dict[str, Any]) -> str:
    failed = next(
        (
            phase
            for phase in build.get("Phases") or []
            if phase.get("PhaseStatus") not in (None, "SUCCEEDED")
        ),
        None,
    )
    where = f" in phase {failed.get('PhaseType')}" if failed else ""
    contexts = (failed or {}).get("Contexts") or []
    detail = "; ".join(str(context.get("Message", "")) for context in contexts if context)
    summary = f"build {build.get('Id', '?')} {build.get('BuildStatus', '?')}{where}"
    return one_line(f"{summary} ({detail})" if detail else summary)
