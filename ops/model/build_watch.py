"""Follow one CodeBuild build to its end: phase and elapsed time, its CloudWatch logs, Ctrl-C."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ops.errors import Interrupted, OpsError
from tooling.status_line import StatusLine

FAILED_PHASE_STATUSES = {"FAILED", "FAULT", "TIMED_OUT", "STOPPED"}
TAIL_LINES = 20


def format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class LogFollower:
    """Reads a log stream forward from its start, returning only the events not yet seen."""

    def __init__(self, logs: Any, group: str, stream: str) -> None:
        self.logs, self.group, self.stream = logs, group, stream
        self._token: str | None = None

    def new_lines(self) -> list[str]:
        lines: list[str] = []
        while True:
            request: dict[str, Any] = {"logGroupName": self.group, "logStreamName": self.stream}
            request |= {"nextToken": self._token} if self._token else {"startFromHead": True}
            try:
                page = self.logs.get_log_events(**request)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return lines  # CodeBuild creates the stream a little after the build starts
                raise
            lines += [event["message"].rstrip("\n") for event in page.get("events", [])]
            token = page.get("nextForwardToken")
            if token is None or token == self._token:
                return lines  # the same token back means the end of the stream for now
            self._token = token


@dataclass
class BuildResult:
    build_id: str
    status: str
    failed_phase: str | None = None
    reason: str | None = None
    last_lines: list[str] = field(default_factory=list)
    stopped_on_request: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def failure_message(self) -> str:
        where = f" in phase {self.failed_phase}" if self.failed_phase else ""
        why = f" ({self.reason})" if self.reason else ""
        summary = f"build {self.build_id} {self.status}{where}{why}"
        if not self.last_lines:
            return summary + "; no log lines were received"
        return "\n".join([summary, "last log lines:", *("  " + line for line in self.last_lines)])


def ask_on_terminal(question: str) -> bool:
    answer = input(question)
    return answer.strip().lower() in ("y", "yes")


class BuildWatcher:
    def __init__(
        self,
        codebuild: Any,
        logs: Any,
        display: StatusLine,
        *,
        poll_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        ask: Callable[[str], bool] = ask_on_terminal,
    ) -> None:
        self.codebuild, self.logs, self.display = codebuild, logs, display
        self.poll_seconds, self.sleep, self.clock, self.ask = poll_seconds, sleep, clock, ask

    def watch(self, build_id: str) -> BuildResult:
        started = self.clock()
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        follower: LogFollower | None = None
        stop_requested = False
        while True:
            try:
                build = self._describe(build_id)
                follower = follower or self._follower(build)
                self._show_logs(follower, tail)
                phase = build.get("currentPhase", "UNKNOWN")
                elapsed = format_elapsed(self.clock() - started)
                self.display.status(f"phase {phase} {elapsed}", key=phase)
                if build.get("buildStatus", "IN_PROGRESS") != "IN_PROGRESS":
                    # Log delivery trails the build: read once more after it ends.
                    follower = follower or self._follower(build)
                    self._show_logs(follower, tail)
                    self.display.finish()
                    return _result(build, list(tail), stop_requested)
                self.sleep(self.poll_seconds)
            except KeyboardInterrupt:
                stop_requested = self._on_interrupt(build_id) or stop_requested

    def _describe(self, build_id: str) -> dict[str, Any]:
        builds = self.codebuild.batch_get_builds(ids=[build_id]).get("builds", [])
        if not builds:
            raise OpsError(f"CodeBuild does not know build {build_id}")
        return dict(builds[0])

    def _follower(self, build: dict[str, Any]) -> LogFollower | None:
        logs = build.get("logs", {})
        if logs.get("groupName") and logs.get("streamName"):
            return LogFollower(self.logs, logs["groupName"], logs["streamName"])
        return None

    def _show_logs(self, follower: LogFollower | None, tail: deque[str]) -> None:
        for line in follower.new_lines() if follower else []:
            tail.append(line)
            self.display.line(line)

    def _on_interrupt(self, build_id: str) -> bool:
        """Ask whether to stop the build; True once a stop was requested."""
        self.display.finish()
        leave = (
            f"left build {build_id} running; stop it with "
            f"`aws codebuild stop-build --id {build_id}`"
        )
        try:
            stop = self.ask(f"Stop build {build_id}? [y/N] ")
        except (EOFError, KeyboardInterrupt):
            raise Interrupted(leave) from None
        if stop:
            self.codebuild.stop_build(id=build_id)
            self.display.line(f"stop requested for build {build_id}; waiting for it to end")
        else:
            self.display.line("still watching (Ctrl-C again to stop the build)")
        return stop


def _result(build: dict[str, Any], last_lines: list[str], stop_requested: bool) -> BuildResult:
    failed = next(
        (p for p in build.get("phases", []) if p.get("phaseStatus") in FAILED_PHASE_STATUSES),
        None,
    )
    reason = None
    if failed:
        contexts = failed.get("contexts") or []
        reason = (
            "; ".join(
                f"{c.get('statusCode', '')}: {c.get('message', '')}".strip(": ") for c in contexts
            )
            or None
        )
    return BuildResult(
        build_id=build["id"],
        status=build["buildStatus"],
        failed_phase=failed.get("phaseType") if failed else None,
        reason=reason,
        last_lines=last_lines,
        stopped_on_request=stop_requested and build["buildStatus"] == "STOPPED",
    )
