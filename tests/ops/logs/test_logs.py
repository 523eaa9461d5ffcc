"""`make logs` against moto: the function's log group found from the stack, recent events, then each
new event once, until Ctrl-C; every failure one line."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.cli import main
from ops.errors import OpsError
from ops.logs import command
from ops.logs.command import follow_logs
from ops.logs.duration import describe, parse_duration
from ops.logs.group import function_log_group
from ops.logs.tail import MAX_LOOKBACK_MS, LogEvent, LogTail, short_stream
from tests.ops.aws_stand_ins import aws_error_server, deploy_stacks

FUNCTION = "torchlambda-dev"
DEFAULT_GROUP = f"/aws/lambda/{FUNCTION}"
# What the Serving stack's own log group is called once CloudFormation has named it.
STACK_GROUP = "TorchLambda-Serving-dev-InferenceLogs6E2F1C4B-AbCdEf123456"
STREAM_A = "2026/11/21/[3]0123456789abcdef0123456789abcdef"
STREAM_B = "2026/11/21/[4]fedcba9876543210fedcba9876543210"


def put(logs: Any, group: str, stream: str, *events: tuple[int, str]) -> None:
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    if stream not in {s["logStreamName"] for s in streams}:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": message} for ts, message in events],
    )


def create_function(clients: AwsClients) -> None:
    """The function in moto's Lambda, which keeps no LoggingConfig: its group is the default."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = clients.client("iam").create_role(
        RoleName="inference", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    clients.client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )


@pytest.fixture
def deployed_function(clients: AwsClients, dev: EnvironmentConfig) -> AwsClients:
    deploy_stacks(clients.cloudformation, dev, {"FunctionName": FUNCTION})
    create_function(clients)
    return clients


@pytest.fixture
def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def logged(deployed_function: AwsClients, now_ms: int) -> Any:
    """The function's default group, holding one event too old for --since 10m and two recent."""
    logs = deployed_function.logs
    logs.create_log_group(logGroupName=DEFAULT_GROUP)
    put(
        logs,
        DEFAULT_GROUP,
        STREAM_A,
        (now_ms - 20 * 60_000, "too old"),
        (now_ms - 60_000, "first"),
        (now_ms - 30_000, "second"),
    )
    return logs


def scripted_sleep(
    arrivals: list[Callable[[], None]], waits: list[float]
) -> Callable[[float], None]:
    """A sleep that records each wait and runs the next arrival; Ctrl-C once none is left."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if not arrivals:
            raise KeyboardInterrupt
        arrivals.pop(0)()

    return sleep


def messages(lines: list[str]) -> list[str]:
    return [line.split(" ", 2)[2] for line in lines]


def test_recent_events_then_each_new_one_once_until_ctrl_c(
    logged: Any, deployed_function: AwsClients, dev: EnvironmentConfig, now_ms: int
) -> None:
    printed: list[str] = []
    notes: list[str] = []
    waits: list[float] = []
    arrivals = [
        # The same instant as "second" (another environment), and a newer event.
        lambda: (
            put(logged, DEFAULT_GROUP, STREAM_B, (now_ms - 30_000, "beside second")),
            put(logged, DEFAULT_GROUP, STREAM_A, (now_ms - 1_000, "third")),
        ),
        # Delivered late: its timestamp is older than the newest event already printed.
        lambda: put(logged, DEFAULT_GROUP, STREAM_B, (now_ms - 5_000, "late")),
        lambda: None,  # nothing new: every search so far returns the old events again
    ]
    code = follow_logs(
        dev,
        600,
        None,
        printed.append,
        notes.append,
        clients=deployed_function,
        sleep=scripted_sleep(arrivals, waits),
    )
    assert code == 0
    assert messages(printed) == ["first", "second", "beside second", "third", "late"]
    assert printed[0].endswith(" [3]01234567 first")
    assert notes == [
        f"following {DEFAULT_GROUP} (function {FUNCTION}, us-west-2) from 10m ago; Ctrl-C to stop"
    ]
    assert waits == [1.0, 1.0, 1.0, 2.0]  # back off only while nothing comes


def test_the_wait_between_searches_doubles_while_idle_up_to_a_bound(
    logged: Any, deployed_function: AwsClients, dev: EnvironmentConfig, now_ms: int
) -> None:
    waits: list[float] = []
    arrivals: list[Callable[[], None]] = [lambda: None] * 6
    arrivals.insert(4, lambda: put(logged, DEFAULT_GROUP, STREAM_A, (now_ms, "wakes it up")))
    printed: list[str] = []
    code = follow_logs(
        dev,
        600,
        None,
        printed.append,
        lambda text: None,
        clients=deployed_function,
        sleep=scripted_sleep(arrivals, waits),
    )
    assert code == 0
    assert messages(printed) == ["first", "second", "wakes it up"]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0, 1.0, 2.0, 4.0]


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Searches 10 ms apart, and Ctrl-C in place of the third: for runs through the CLI."""
    monkeypatch.setattr(command, "MIN_POLL_SECONDS", 0.01)
    monkeypatch.setattr(command, "MAX_POLL_SECONDS", 0.01)
    searches: list[int] = []
    real = LogTail.new_events

    def new_events(self: LogTail) -> list[LogEvent]:
        searches.append(self.start_ms)
        if len(searches) == 3:
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(LogTail, "new_events", new_events)
    yield searches


def test_ctrl_c_through_the_cli_exits_0_without_a_traceback(
    logged: Any, fast_polls: list[int], capsys: pytest.CaptureFixture[str], now_ms: int
) -> None:
    assert main(["logs", "--env", "dev"]) == 0
    captured = capsys.readouterr()
    assert messages(captured.out.splitlines()) == ["first", "second"]
    assert captured.err == (
        f"following {DEFAULT_GROUP} (function {FUNCTION}, us-west-2) from 10m ago; Ctrl-C to stop\n"
    )
    # The first search starts --since ago; the next LATE_MS before the newest event seen.
    assert abs(fast_polls[0] - (now_ms - 600_000)) < 60_000
    assert fast_polls[1] == now_ms - 30_000 - 15_000


def test_filter_and_since_reach_the_search(
    logged: Any, fast_polls: list[int], capsys: pytest.CaptureFixture[str], now_ms: int
) -> None:
    put(logged, DEFAULT_GROUP, STREAM_B, (now_ms - 2_000, "ERROR boom"), (now_ms - 1_000, "fine"))
    assert main(["logs", "--env", "dev", "--since", "1h", "--filter", "ERROR"]) == 0
    captured = capsys.readouterr()
    assert messages(captured.out.splitlines()) == ["ERROR boom"]
    assert "matching 'ERROR' from 1h ago" in captured.err
    assert abs(fast_polls[0] - (now_ms - 3_600_000)) < 60_000


def test_a_quiet_group_does_not_make_each_search_longer(logged: Any, now_ms: int) -> None:
    clock = [now_ms / 1000]
    tail = LogTail(logged, DEFAULT_GROUP, start_ms=now_ms - 600_000, now=lambda: clock[0])
    assert [e.message for e in tail.new_events()] == ["first", "second"]
    clock[0] += 3600  # an hour with nothing new
    assert tail.new_events() == []
    assert tail.start_ms == now_ms + 3_600_000 - MAX_LOOKBACK_MS
    put(logged, DEFAULT_GROUP, STREAM_B, (now_ms + 3_600_000 - 60_000, "late but in time"))
    assert [e.message for e in tail.new_events()] == ["late but in time"]


def test_pages_of_one_search_are_all_read_and_nothing_twice(logged: Any, now_ms: int) -> None:
    put(logged, DEFAULT_GROUP, STREAM_B, *((now_ms - 10_000 + i, f"event {i}") for i in range(5)))
    tail = LogTail(logged, DEFAULT_GROUP, start_ms=now_ms - 600_000, page_size=2)
    first = tail.new_events()
    assert [e.message for e in first] == ["first", "second", *(f"event {i}" for i in range(5))]
    assert tail.new_events() == []


def test_the_stacks_own_log_group_comes_from_the_functions_logging_config(
    deployed_function: AwsClients, dev: EnvironmentConfig
) -> None:
    """What a deployed function reports (moto keeps no LoggingConfig, so botocore's Stubber stands
    in for Lambda, checking the request and the response against Lambda's API model)."""
    lambda_client = deployed_function.client("lambda")
    with Stubber(lambda_client) as stub:
        stub.add_response(
            "get_function_configuration",
            {
                "FunctionName": FUNCTION,
                "LoggingConfig": {"LogFormat": "JSON", "LogGroup": STACK_GROUP},
            },
            {"FunctionName": FUNCTION},
        )
        found = function_log_group(deployed_function.cloudformation, lambda_client, dev)
    assert found == (FUNCTION, STACK_GROUP)


def test_a_missing_group_of_the_stacks_says_to_redeploy(
    deployed_function: AwsClients, dev: EnvironmentConfig
) -> None:
    printed: list[str] = []
    with Stubber(deployed_function.client("lambda")) as stub:
        stub.add_response(
            "get_function_configuration",
            {"FunctionName": FUNCTION, "LoggingConfig": {"LogGroup": STACK_GROUP}},
        )
        with pytest.raises(OpsError) as raised:
            follow_logs(dev, 600, None, printed.append, printed.append, clients=deployed_function)
    assert printed == []
    assert str(raised.value) == (
        f"log group {STACK_GROUP} of function {FUNCTION} does not exist in us-west-2; "
        "redeploy with `make deploy ENV=dev`"
    )


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    return captured.err


def test_a_missing_stack_is_one_line(
    clients: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    assert one_line_error(capsys, ["logs", "--env", "dev"]) == (
        "error: stack TorchLambda-Serving-dev is not deployed in us-west-2; "
        "deploy it with `make deploy ENV=dev`\n"
    )


def test_a_missing_function_is_one_line(
    clients: AwsClients, dev: EnvironmentConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy_stacks(clients.cloudformation, dev, {"FunctionName": FUNCTION})
    assert one_line_error(capsys, ["logs", "--env", "dev"]) == (
        f"error: function {FUNCTION} (output FunctionName of stack TorchLambda-Serving-dev) does "
        "not exist in us-west-2; redeploy with `make deploy ENV=dev`\n"
    )


def test_a_group_lambda_has_not_created_yet_is_one_line(
    deployed_function: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    assert one_line_error(capsys, ["logs", "--env", "dev"]) == (
        f"error: log group {DEFAULT_GROUP} does not exist in us-west-2: function {FUNCTION} has "
        "not run yet (Lambda creates the group at its first invocation)\n"
    )


def test_access_denied_is_one_line(
    deployed_function: AwsClients, aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with aws_error_server(400, "AccessDeniedException", protocol="json") as refusing:
        aws_env.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", refusing.url)  # the rest stays on moto
        error = one_line_error(capsys, ["logs", "--env", "dev"])
    assert error == (
        "error: access denied to FilterLogEvents (AccessDeniedException: stand-in refuses); "
        "use credentials whose role allows it\n"
    )


def test_event_lines() -> None:
    event = LogEvent("1", 1_795_282_613_247, STREAM_A, '{"level":"INFO","message":"ok"}\n')
    assert event.line() == '2026-11-21T17:36:53.247Z [3]01234567 {"level":"INFO","message":"ok"}'
    assert short_stream("2026/11/21/[$LATEST]abcdef0123456789") == "[$LATEST]abcdef01"
    assert short_stream("my-stream") == "my-stream"


@pytest.mark.parametrize(
    ("text", "seconds", "described"),
    [("90s", 90, "90s"), ("10m", 600, "10m"), ("2h", 7200, "2h"), ("1d", 86_400, "1d")],
)
def test_durations(text: str, seconds: int, described: str) -> None:
    assert parse_duration(text) == seconds
    assert describe(seconds) == described


@pytest.mark.parametrize("text", ["0m", "10", "m", "1.5h", "-1m", "10 minutes", ""])
def test_durations_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 90s, 10m, 2h or 1d"):
        parse_duration(text)
