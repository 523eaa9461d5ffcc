"""A log group's events from a start time on, each returned once however often the group is read.

FilterLogEvents has no cursor that outlives one search (its nextToken pages through one result
set), so each poll searches again from a start time: the newest timestamp seen, less LATE_MS, since
an event can reach CloudWatch a while after its own timestamp. The ids of the events seen since
that start are kept, so an event read twice is returned once.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ops.errors import OpsError

LATE_MS = 15_000  # how late an event may arrive after its timestamp and still be shown
MAX_LOOKBACK_MS = 300_000  # how far before now any search after the first reaches back
# Lambda's stream names: <date>/[<version>]<execution environment id>.
LAMBDA_STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[(?P<version>[^\]]+)\](?P<instance>[0-9a-f]+)")


class LogGroupNotFound(OpsError):
    """The log group does not exist (or no longer)."""


@dataclass(frozen=True)
class LogEvent:
    event_id: str
    timestamp_ms: int
    stream: str
    message: str

    def line(self) -> str:
        """`<UTC time> <stream> <message>`; a Lambda stream as [version] and the first 8 hex
        digits of its execution environment, enough to tell cold starts and canaries apart."""
        moment = datetime.datetime.fromtimestamp(self.timestamp_ms / 1000, datetime.UTC)
        when = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.timestamp_ms % 1000:03d}Z"
        return f"{when} {short_stream(self.stream)} {self.message.rstrip()}"


def short_stream(name: str) -> str:
    match = LAMBDA_STREAM.fullmatch(name)
    return f"[{match['version']}]{match['instance'][:8]}" if match else name


class LogTail:
    def __init__(
        self,
        logs: Any,
        group: str,
        *,
        start_ms: int,
        filter_pattern: str | None = None,
        late_ms: int = LATE_MS,
        page_size: int | None = None,  # FilterLogEvents' own limit (10,000 events or 1 MB) if None
        now: Callable[[], float] = time.time,
    ) -> None:
        self.logs, self.group, self.filter_pattern = logs, group, filter_pattern
        self.start_ms, self.late_ms, self.page_size = start_ms, late_ms, page_size
        self.now = now
        self._seen: dict[str, int] = {}  # event id -> timestamp, for events since start_ms

    def new_events(self) -> list[LogEvent]:
        """The events not returned before, oldest first."""
        searched_ms = int(self.now() * 1000)
        request: dict[str, Any] = {"logGroupName": self.group, "startTime": self.start_ms}
        if self.filter_pattern:
            request["filterPattern"] = self.filter_pattern
        if self.page_size:
            request["limit"] = self.page_size
        events: list[LogEvent] = []
        while True:
            page = self._search(request)
            for event in page.get("events", []):
                if event["eventId"] not in self._seen:
                    self._seen[event["eventId"]] = event["timestamp"]
                    events.append(
                        LogEvent(
                            event_id=event["eventId"],
                            timestamp_ms=event["timestamp"],
                            stream=event.get("logStreamName", ""),
                            message=event.get("message", ""),
                        )
                    )
            token = page.get("nextToken")
            if not token or token == request.get("nextToken"):
                break
            request["nextToken"] = token
        self._move_start(searched_ms)
        return sorted(events, key=lambda event: event.timestamp_ms)

    def _search(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self.logs.filter_log_events(**request))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise LogGroupNotFound(f"log group {self.group} does not exist") from None
            raise

    def _move_start(self, searched_ms: int) -> None:
        """The next search starts `late_ms` before the newest event seen, and never more than
        MAX_LOOKBACK_MS before this search: a quiet group or a rarely matching filter must not
        make every search reach further back."""
        newest = max(self._seen.values(), default=self.start_ms)
        self.start_ms = max(self.start_ms, newest - self.late_ms, searched_ms - MAX_LOOKBACK_MS)
        # What starts before the next search's start cannot come back: forget it.
        self._seen = {key: ts for key, ts in self._seen.items() if ts >= self.start_ms}
