"""Fixtures: dev's inference function deployed on the session's moto server, with its log group to
write the function's lines into and CloudWatch metrics that know percentiles."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from tests.ops.aws_stand_ins import deploy_stacks
from tests.ops.logs.test_logs import DEFAULT_GROUP, FUNCTION, STREAM_A, create_function
from tooling.percentiles import percentile

PutLines = Callable[[Sequence[str], int], None]
# moto answers one FilterLogEvents call with at most this many events: more take another page.
MOTO_PAGE_EVENTS = 10_000


@pytest.fixture
def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def function_logs(clients: AwsClients, dev: EnvironmentConfig) -> PutLines:
    """dev's Serving stack and function (moto's Lambda keeps no LoggingConfig: its lines go to the
    default group); returns a way to log lines in that group at a time."""
    deploy_stacks(clients.cloudformation, dev, {"FunctionName": FUNCTION})
    create_function(clients)
    logs = clients.logs
    logs.create_log_group(logGroupName=DEFAULT_GROUP)
    logs.create_log_stream(logGroupName=DEFAULT_GROUP, logStreamName=STREAM_A)

    def put(lines: Sequence[str], timestamp_ms: int) -> None:
        for first in range(0, len(lines), MOTO_PAGE_EVENTS):
            logs.put_log_events(
                logGroupName=DEFAULT_GROUP,
                logStreamName=STREAM_A,
                logEvents=[
                    {"timestamp": timestamp_ms, "message": line}
                    for line in lines[first : first + MOTO_PAGE_EVENTS]
                ],
            )

    return put


@pytest.fixture
def moto_percentiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's CloudWatch (in this process, on its own thread) computes Sum and the other plain
    statistics but no percentile: teach it pNN, nearest rank over the values put."""
    from moto.cloudwatch.models import Statistics

    plain = Statistics.get_statistics_for_type

    def with_percentiles(self: Any, stat: str) -> Any:
        match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
        if match is None:
            return plain(self, stat)
        return percentile(self.metric_single_values_list, float(match[1]) / 100)

    monkeypatch.setattr(Statistics, "get_statistics_for_type", with_percentiles)
