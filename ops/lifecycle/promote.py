"""`make promote ENV=... BUILD=<id> [FORCE=<reason>]`: make a published build the champion by
hand, through the same gate as the retrain workflow.

The build is evaluated here, against the champion, on the environment's evaluation set (the
evaluator's own code); the environment's Gate judges it; champion.json moves by the same
conditional write as the workflow's, and the promotion is announced on the default event bus as the
workflow announces it (dev's announcement starts the delivery pipeline). FORCE promotes a build the
gate refuses and records why: that is how to roll back.
"""

from __future__ import annotations

import getpass
import json
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.config import EnvironmentConfig
from infra.outputs import ArtifactsOutput
from ops.aws import AwsClients
from ops.errors import OpsError, explain_aws_error
from ops.lifecycle.report import evaluation_lines, parse_evaluation, short
from ops.stack_outputs import stack_output
from torchlambda import contract
from torchlambda.lifecycle import events
from torchlambda.lifecycle.champion import promote, read_champion
from torchlambda.lifecycle.documents import Evaluation
from torchlambda.lifecycle.errors import LifecycleError

CLI_PREFIX = "cli:"  # promoted_by of a promotion by hand; the workflow's is its execution ARN


def promoted_by() -> str:
    """`cli:<user>@<host>`: who promoted, as far as this machine can tell."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        user = "unknown"
    return f"{CLI_PREFIX}{user}@{socket.gethostname()}"


def promote_build(
    clients: AwsClients,
    config: EnvironmentConfig,
    build_id: str,
    force: str | None,
    say: Callable[[str], None],
) -> int:
    bucket = stack_output(clients.cloudformation, config, ArtifactsOutput.BUCKET_NAME)
    try:
        return _promote(clients, config, bucket, build_id=build_id, force=force, say=say)
    except LifecycleError as error:  # every one is a line that says what to do
        raise OpsError(str(error)) from None


def _promote(
    clients: AwsClients,
    config: EnvironmentConfig,
    bucket: str,
    *,
    build_id: str,
    force: str | None,
    say: Callable[[str], None],
) -> int:
    from torchlambda.lifecycle.evaluation import evaluate  # torch: only once it is needed

    s3, environment = clients.s3, config.name
    champion = read_champion(s3, bucket, environment)
    if champion is not None and champion.build_id == build_id:
        say(f"build {build_id} is already {environment}'s champion; nothing to do")
        return 0
    against = f"champion {champion.build_id}" if champion else "no champion (the first model)"
    evaluation_set = config.lifecycle.evaluation_set
    say(f"evaluating build {build_id} against {against} on {evaluation_set} ...")
    document = evaluate(
        s3,
        bucket,
        environment,
        build_id,
        evaluation_set=evaluation_set,
        work_dir=Path(tempfile.gettempdir()),
    )
    evaluation = parse_evaluation(document, "the evaluation")
    for line in evaluation_lines(evaluation):
        say("  " + line)
    verdict = config.lifecycle.gate.judge(document)
    if not verdict.promote and force is None:
        raise OpsError(
            f"{environment}'s gate refuses build {build_id}: {verdict.reason}; the champion is "
            f"unchanged (FORCE=<reason> promotes it anyway and records why)"
        )
    if verdict.promote:
        say(f"the gate passes it: {verdict.reason}")
        if force is not None:
            say("FORCE is not needed and not recorded: the gate passed the build on its own")
    else:
        say(f"the gate refuses it ({verdict.reason}); promoting anyway, recorded: {force}")
    new = promote(
        s3,
        bucket,
        environment,
        document,
        promoted_by=promoted_by(),
        forced=None if verdict.promote else force,
    )
    say(champion_moved_line(environment, evaluation))
    announce(clients.client("events"), new, evaluation.summary)
    return 0


def champion_moved_line(environment: str, evaluation: Evaluation) -> str:
    new, previous = evaluation.candidate, evaluation.champion
    was = (
        f"it replaces build {previous.build_id} (sha256 {short(previous.sha256)}, MSE "
        f"{previous.mse:.6g})"
        if previous
        else "the first champion"
    )
    return (
        f"{environment}'s champion is now build {new.build_id} (model_version "
        f"{new.model_version}, sha256 {short(new.sha256)}, MSE {new.mse:.6g}); {was}"
    )


def announce(event_bridge: Any, champion: dict[str, Any], summary: str) -> None:
    """The event the workflow's Announce state puts on the default bus, with the same detail."""
    detail = {name: champion[name] for name in events.ANNOUNCED_CHAMPION_FIELDS}
    entry = {
        "Source": contract.LIFECYCLE_EVENT_SOURCE,
        "DetailType": contract.CHAMPION_PROMOTED,
        "Detail": json.dumps({**detail, events.SUMMARY: summary}),
    }
    try:
        answer = event_bridge.put_events(Entries=[entry])
    except ClientError as error:
        problem = explain_aws_error(error)
    else:
        if not answer.get("FailedEntryCount"):
            return
        failed = answer["Entries"][0]
        problem = f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
    raise OpsError(
        f"the champion moved, but announcing it failed ({problem}), so the delivery pipeline was "
        "not told; start the pipeline by hand to ship it"
    )
