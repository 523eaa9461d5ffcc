"""`make batch ENV=... INPUT=... [OUTPUT=...]`: score a data set with the environment's batch job.

The input is staged below batch/in/ (local files uploaded once per content), the job's id derived
from what it scores, and the job started, or, when that id already ran, reported (SUCCEEDED),
followed (RUNNING) or redriven (FAILED, TIMED_OUT, ABORTED: only its failed items run again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.config import EnvironmentConfig
from infra.outputs import ArtifactsOutput, BatchOutput
from ops.aws import AwsClients
from ops.batch.follow import TERMINAL_STATUSES, JobFollower
from ops.batch.inputs import JobInput, describe_bytes, local_files, plural, stage_local, stage_s3
from ops.batch.job_id import job_id as derive_job_id
from ops.batch.results import download_results, failure_message, read_summary, summary_lines
from ops.errors import Interrupted, OpsError
from ops.stack_outputs import stack_output
from tooling.interrupts import sigterm_as_interrupt
from torchlambda.batch import events

REDRIVABLE_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def execution_arn(state_machine_arn: str, name: str) -> str:
    """An execution's ARN: the state machine's, with `:execution:` and the name."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def describe_execution(sfn: Any, arn: str) -> dict[str, Any] | None:
    try:
        return dict(sfn.describe_execution(executionArn=arn))
    except ClientError as error:
        if error_code(error) == "ExecutionDoesNotExist":
            return None
        raise


def rerun_command(config: EnvironmentConfig, input_text: str, output: Path | None) -> str:
    where = f" OUTPUT={output}" if output is not None else ""
    return f"make batch ENV={config.name} INPUT={input_text}{where}"


def run_batch(
    clients: AwsClients,
    config: EnvironmentConfig,
    input_text: str,
    *,
    output: Path | None,
    follower_for: Callable[[Any, Any, str], JobFollower],
    say: Callable[[str], None],
) -> int:
    """Stage, start or resume, follow, report; 0 only when the job SUCCEEDED."""
    local = None if input_text.startswith("s3://") else Path(input_text)
    if local is not None:
        local_files(local)  # a missing or unsupported file fails before any AWS call
    cloudformation = clients.cloudformation
    bucket = stack_output(cloudformation, config, ArtifactsOutput.BUCKET_NAME)
    state_machine = stack_output(cloudformation, config, BatchOutput.STATE_MACHINE_ARN)
    model_version = stack_output(cloudformation, config, BatchOutput.MODEL_VERSION)
    s3, sfn = clients.s3, clients.client("stepfunctions")

    with sigterm_as_interrupt():
        staged = stage_local(s3, bucket, local, say) if local else stage_s3(s3, bucket, input_text)
        name = derive_job_id(staged.location, model_version, staged.objects)
        arn = execution_arn(state_machine, name)
        follower = follower_for(sfn, s3, bucket)
        try:
            execution = start_or_resume(
                sfn, state_machine, name, staged=staged, model_version=model_version, say=say
            )
            if execution is None or execution["status"] not in TERMINAL_STATUSES:
                redrives = int(execution.get("redriveCount", 0)) if execution else 0
                execution = follower.follow(arn, name, redrive_count=redrives)
        except KeyboardInterrupt:
            again = rerun_command(config, input_text, output)
            raise Interrupted(
                f"stopped following job {name}; it goes on running in {config.name}. "
                f"Follow it again with the same command: {again}"
            ) from None
        return report(s3, bucket, name, execution, output=output, say=say)


def start_or_resume(
    sfn: Any,
    state_machine: str,
    name: str,
    *,
    staged: JobInput,
    model_version: str,
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    """Start the job, or pick up the execution of that name: None when it was just started, its
    description when it had ended (SUCCEEDED), or is running (again, after a redrive)."""
    arn = execution_arn(state_machine, name)
    existing = describe_execution(sfn, arn)
    if existing is None:
        request = {events.INPUT: staged.location}
        try:
            sfn.start_execution(stateMachineArn=state_machine, name=name, input=json.dumps(request))
        except ClientError as error:
            if error_code(error) != "ExecutionAlreadyExists":
                raise
            existing = describe_execution(sfn, arn)  # started a moment ago by someone else
            if existing is None:
                raise
        else:
            size = describe_bytes(sum(item.size for item in staged.objects))
            say(
                f"started job {name}: {plural(len(staged.objects), 'object')} ({size}) with "
                f"model {model_version}"
            )
            return None
    status = str(existing["status"])
    if status == "SUCCEEDED":
        say(f"job {name} already ran (SUCCEEDED); not running it again")
        return existing
    if status in REDRIVABLE_STATUSES:
        return redrive(sfn, arn, name, existing, say)
    say(f"job {name} is already {status}; following it")
    return existing


def redrive(
    sfn: Any, arn: str, name: str, existing: dict[str, Any], say: Callable[[str], None]
) -> dict[str, Any]:
    status = existing["status"]
    try:
        sfn.redrive_execution(executionArn=arn)
    except ClientError as error:
        if error_code(error) != "ExecutionNotRedrivable":
            raise
        reason = existing.get("redriveStatusReason") or error.response["Error"].get("Message")
        say(
            f"job {name} ended {status} and cannot be redriven ({reason}); a changed input "
            "or a new model makes a new job"
        )
        return existing
    say(f"job {name} ended {status} before; redriving it: only its failed items run again")
    redrives = int(existing.get("redriveCount", 0)) + 1
    return {**existing, "status": "RUNNING", "redriveCount": redrives}


def report(
    s3: Any,
    bucket: str,
    name: str,
    execution: dict[str, Any],
    *,
    output: Path | None,
    say: Callable[[str], None],
) -> int:
    summary = read_summary(s3, bucket, name)
    for line in summary_lines(summary, bucket, name):
        say(line)
    if output is not None:
        download_results(s3, bucket, name, output, say)
    if execution["status"] != "SUCCEEDED":
        raise OpsError(failure_message(name, execution, summary))
    return 0
