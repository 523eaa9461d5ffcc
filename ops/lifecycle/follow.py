"""Follow one retrain execution on one status line: its status, the state it is in, and how long it
has run, every few seconds until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ops.batch.follow import TERMINAL_STATUSES, started_at
from ops.lifecycle.history import current_state, read_history
from ops.model.build_watch import format_elapsed
from tooling.status_line import StatusLine


def pause(seconds: float) -> None:
    """The wait between polls (a name of its own, so a test can step the execution between them)."""
    time.sleep(seconds)


class ExecutionFollower:
    """Polls DescribeExecution and GetExecutionHistory: two calls a poll (a retrain's history
    fits one page)."""

    def __init__(
        self,
        sfn: Any,
        display: StatusLine,
        *,
        poll_seconds: float = 5.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.sfn, self.display = sfn, display
        self.poll_seconds, self.now = poll_seconds, now

    def follow(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution's answer once the execution has ended. A KeyboardInterrupt ends the
        line and goes on up: the execution is not touched."""
        try:
            while True:
                execution = dict(self.sfn.describe_execution(executionArn=execution_arn))
                status = str(execution["status"])
                state = current_state(read_history(self.sfn, execution_arn)) or "starting"
                begun = started_at(execution)
                elapsed = format_elapsed(max(0.0, self.now() - begun)) if begun else "-"
                self.display.status(f"{status} {state} {elapsed}", key=f"{status} {state}")
                if status in TERMINAL_STATUSES:
                    self.display.finish()
                    return execution
                pause(self.poll_seconds)
        except KeyboardInterrupt:
            self.display.finish()
            raise
