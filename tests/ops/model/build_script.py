"""Drives a build held by the moto server through phases, as CodeBuild would, one poll at a time.

moto completes a build on its first BatchGetBuilds; the watcher's `sleep` is where this script
advances the build instead: it edits the build in moto's backend and appends its CloudWatch log
lines, while the watcher keeps talking HTTP to the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from moto.codebuild.models import CodeBuildBackend

from tests.ops.aws_stand_ins import ACCOUNT

LOG_GROUP = "/aws/codebuild/torchlambda-training-dev"


def hold_builds_still(monkeypatch: pytest.MonkeyPatch) -> None:
    """BatchGetBuilds returns builds as they are instead of completing them."""

    def batch_get_builds(backend: Any, ids: list[str]) -> list[dict[str, Any]]:
        return [
            build
            for history in backend.build_metadata_history.values()
            for build in history
            if build["id"] in ids
        ]

    monkeypatch.setattr(CodeBuildBackend, "batch_get_builds", batch_get_builds)


def moto_builds(region: str) -> list[dict[str, Any]]:
    """Every build the moto server holds in `region`, oldest first."""
    from moto.codebuild.models import codebuild_backends

    backend = codebuild_backends[ACCOUNT][region]
    return [build for history in backend.build_metadata_history.values() for build in history]


def moto_build(build_id: str, region: str) -> dict[str, Any]:
    return next(build for build in moto_builds(region) if build["id"] == build_id)


@dataclass
class Step:
    """One poll interval: the phase reached, the log lines written meanwhile, the status after."""

    phase: str
    lines: tuple[str, ...] = ()
    status: str = "IN_PROGRESS"
    failed_phase_status: str | None = None  # set on the phase when the build ends badly
    reason: str | None = None
    action: Callable[[], None] | None = None  # e.g. publish the model, press Ctrl-C


@dataclass
class BuildScript:
    logs: Any
    region: str
    steps: list[Step]  # consumed one per poll interval
    build_id: str | None = None
    seconds: float = 0.0  # the fake clock the watcher reads
    _stream: str | None = None
    _timestamp: int = 0  # CloudWatch orders events by timestamp: keep them strictly increasing

    def clock(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds
        if self.build_id is None:
            # The watcher's first poll saw the build QUEUED, without logs, as CodeBuild starts it.
            (build,) = moto_builds(self.region)
            self.provision(build["id"])
        if not self.steps:
            raise AssertionError("the watcher kept polling after the build ended")
        self.advance(self.steps.pop(0))

    def provision(self, build_id: str) -> None:
        """Give the build its log stream, as CodeBuild does once it has provisioned."""
        self.build_id = build_id
        self._stream = build_id.rsplit(":", 1)[-1]
        self.logs.create_log_group(logGroupName=LOG_GROUP)
        self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=self._stream)
        build = moto_build(build_id, self.region)
        build["logs"].update({"groupName": LOG_GROUP, "streamName": self._stream})

    def advance(self, step: Step) -> None:
        assert self.build_id is not None
        build = moto_build(self.build_id, self.region)
        if step.lines:
            events = []
            for line in step.lines:
                self._timestamp = max(self._timestamp + 1, int(time.time() * 1000))
                events.append({"timestamp": self._timestamp, "message": line})
            self.logs.put_log_events(
                logGroupName=LOG_GROUP, logStreamName=self._stream, logEvents=events
            )
        phase: dict[str, Any] = {"phaseType": step.phase}
        if step.failed_phase_status:
            phase["phaseStatus"] = step.failed_phase_status
            phase["contexts"] = [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": step.reason}]
        build["phases"].append(phase)
        build["currentPhase"] = step.phase if step.status == "IN_PROGRESS" else "COMPLETED"
        build["buildStatus"] = step.status
        if step.action:
            step.action()
