"""`make logs`: the recent events of the inference function's log group, then each new one as it
arrives, until Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.errors import OpsError
from ops.logs.duration import describe
from ops.logs.group import default_log_group, function_log_group
from ops.logs.tail import LogEvent, LogGroupNotFound, LogTail

# Between searches: MIN_POLL_SECONDS after one that found events, doubling while none come, up to
# MAX_POLL_SECONDS (FilterLogEvents allows a few calls a second per account and region).
MIN_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 5.0


def follow_logs(
    config: EnvironmentConfig,
    since_seconds: int,
    filter_pattern: str | None,
    say: Callable[[str], None],
    note: Callable[[str], None],
    *,
    clients: AwsClients | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> int:
    """Print events until Ctrl-C, then return 0; `say` gets the events, `note` what is followed."""
    clients = clients or AwsClients(config)
    try:
        name, group = function_log_group(clients.cloudformation, clients.client("lambda"), config)
        start_ms = int((now() - since_seconds) * 1000)
        tail = LogTail(
            clients.logs, group, start_ms=start_ms, filter_pattern=filter_pattern, now=now
        )
        try:
            events = tail.new_events()  # a missing or unreadable group fails here, before the note
        except LogGroupNotFound:
            raise missing_group(config, name, group) from None
        matching = f" matching {filter_pattern!r}" if filter_pattern else ""
        note(
            f"following {group} (function {name}, {config.region}){matching} "
            f"from {describe(since_seconds)} ago; Ctrl-C to stop"
        )
        follow(tail, events, say, sleep)
    except KeyboardInterrupt:
        return 0  # how following ends


def missing_group(config: EnvironmentConfig, name: str, group: str) -> OpsError:
    if group == default_log_group(name):
        return OpsError(
            f"log group {group} does not exist in {config.region}: function {name} has not run "
            "yet (Lambda creates the group at its first invocation)"
        )
    return OpsError(
        f"log group {group} of function {name} does not exist in {config.region}; "
        f"redeploy with `make deploy ENV={config.name}`"
    )


def follow(
    tail: LogTail,
    events: list[LogEvent],
    say: Callable[[str], None],
    sleep: Callable[[float], None],
) -> NoReturn:
    """Print `events`, wait, search again; only Ctrl-C (KeyboardInterrupt) or an error ends it."""
    wait = MIN_POLL_SECONDS
    while True:
        for event in events:
            say(event.line())
        wait = MIN_POLL_SECONDS if events else min(wait * 2, MAX_POLL_SECONDS)
        sleep(wait)
        events = tail.new_events()
