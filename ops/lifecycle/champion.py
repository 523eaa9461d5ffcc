"""`make champion ENV=...`: which build the environment should serve and why, from champion.json,
beside the newest published build (latest.json)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from infra.config import EnvironmentConfig
from infra.outputs import ArtifactsOutput
from ops.aws import AwsClients
from ops.errors import OpsError
from ops.lifecycle.report import champion_evaluation_lines, short
from ops.model.store import ModelPointer, Pointer, find_pointer, object_body
from ops.stack_outputs import stack_output
from torchlambda.contract import evaluation_key
from torchlambda.lifecycle import events
from torchlambda.lifecycle.champion import Champion, read_champion
from torchlambda.lifecycle.documents import Evaluation
from torchlambda.lifecycle.errors import LifecycleError


def show_champion(
    clients: AwsClients, config: EnvironmentConfig, say: Callable[[str], None]
) -> int:
    bucket = stack_output(clients.cloudformation, config, ArtifactsOutput.BUCKET_NAME)
    try:
        champion = read_champion(clients.s3, bucket, config.name)
    except LifecycleError as error:
        raise OpsError(str(error)) from None
    if champion is None:
        say(Pointer.CHAMPION.missing(config.name))
        return 0
    for line in champion_lines(champion):
        say(line)
    latest = find_pointer(clients.s3, bucket, config.name, Pointer.LATEST)
    if latest is not None:
        say(latest_line(clients.s3, bucket, champion, latest, config.name))
    return 0


def latest_line(
    s3: Any, bucket: str, champion: Champion, latest: ModelPointer, environment: str
) -> str:
    """How the newest published build stands to the champion: the same, the one it replaced,
    evaluated and not promoted, or a candidate nobody has evaluated yet."""
    build = latest.build_id
    if build == champion.build_id:
        return "it is also the newest published build (latest.json)"
    named = f"build {build} (sha256 {short(latest.sha256)})"
    before = champion.document.get(events.PREVIOUS)
    if isinstance(before, dict) and before.get(events.BUILD_ID) == build:
        return f"latest.json names {named}, the champion this one replaced"
    summary = evaluation_summary(s3, bucket, environment, build)
    if summary is not None:
        return f"latest.json names {named}, evaluated and not the champion: {summary}"
    published = latest.raw.get("published_at", "?")
    return (
        f"newer candidate: {named}, published {published}, not evaluated yet; `make promote "
        f"ENV={environment} BUILD={build}` evaluates it against the champion"
    )


def evaluation_summary(s3: Any, bucket: str, environment: str, build_id: str) -> str | None:
    """The one-line summary of the build's evaluation.json; None when it has none."""
    key = evaluation_key(environment, build_id)
    body = object_body(s3, bucket, key)
    if body is None:
        return None
    try:
        return Evaluation.from_dict(json.loads(body)).summary
    except (ValueError, LifecycleError):
        return f"s3://{bucket}/{key} is unreadable"


def champion_lines(champion: Champion) -> list[str]:
    document = champion.document
    version = document.get(events.MODEL_VERSION, "?")
    lines = [
        f"champion: build {champion.build_id} (model_version {version}, sha256 "
        f"{short(champion.sha256)})",
        f"promoted {document.get(events.PROMOTED_AT, '?')} by {promoter(document)}",
    ]
    forced = document.get(events.FORCED)
    if forced:
        lines.append(f"forced past the gate: {forced}")
    lines += ["  " + line for line in champion_evaluation_lines(document)]
    lines.append(f"previous champion: {previous(document)}")
    return lines


def promoter(document: dict[str, Any]) -> str:
    """The workflow's execution (a retrain) or the person (`make promote`)."""
    by = str(document.get(events.PROMOTED_BY, "?"))
    return f"the retrain workflow ({by})" if by.startswith("arn:") else by


def previous(document: dict[str, Any]) -> str:
    before = document.get(events.PREVIOUS)
    if not isinstance(before, dict):
        return "none (the first champion)"
    return (
        f"build {before.get(events.BUILD_ID, '?')} (sha256 "
        f"{short(str(before.get(events.SHA256, '?')))}); roll back with `make promote "
        f"ENV={document.get(events.ENVIRONMENT, '<env>')} BUILD={before.get(events.BUILD_ID)} "
        "FORCE='rollback: <why>'`"
    )
