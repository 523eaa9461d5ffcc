"""`make ab-report` against moto: feedback read from the function's log group over SINCE, each
variant's figures from CloudWatch's metrics, and one line for each way it cannot report."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from infra.challenger import CHALLENGER_DIR
from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.cli import main
from ops.experiment.cloud_feedback import read_feedback
from ops.experiment.command import ab_report
from ops.experiment.feedback_log import FeedbackLog, Selection
from tests.ops.experiment.conftest import MOTO_PAGE_EVENTS, PutLines
from tests.ops.experiment.log_lines import (
    CHALLENGER_VERSION,
    CHAMPION_VERSION,
    feedback_lines,
    labelled,
    powertools_line,
)
from tests.ops.logs.test_logs import DEFAULT_GROUP
from torchlambda.contract import METRIC_NAMESPACE, SERVICE_NAME

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def report(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str], str]:
    code = main(["ab-report", "--env", "dev", *extra])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def put_metrics(
    cloudwatch: Any,
    metric: str,
    values: list[float],
    *,
    variant: str,
    model_version: str,
    unit: str = "Count",
    **extra_dimensions: str,
) -> None:
    """Values as the function's EMF lines put them: dimensioned by service, version, variant."""
    dimensions = {"service": SERVICE_NAME, "model_version": model_version, "variant": variant}
    dimensions |= extra_dimensions
    cloudwatch.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Values": values,
                "Unit": unit,
                "Timestamp": datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1),
            }
        ],
    )


@pytest.fixture
def metrics(clients: AwsClients, moto_percentiles: None) -> None:
    """A split experiment's metrics, an earlier challenger's beside them."""
    cloudwatch = clients.client("cloudwatch")
    champion = {"variant": "champion", "model_version": CHAMPION_VERSION}
    challenger = {"variant": "challenger", "model_version": CHALLENGER_VERSION}
    put_metrics(cloudwatch, "predictions", [1, 3, 5], **champion)
    put_metrics(cloudwatch, "predictions", [2, 2], **challenger)
    latency = {"metric": "model_latency", "unit": "Milliseconds"}
    put_metrics(cloudwatch, values=[*map(float, range(1, 101))], **latency, **champion)
    put_metrics(cloudwatch, values=[0.5, 0.7, 0.9], **latency, **challenger)
    put_metrics(cloudwatch, "errors", [1, 1], error_code="invalid_x", **champion)
    put_metrics(cloudwatch, "errors", [1], error_code="internal_error", **champion)
    put_metrics(cloudwatch, "errors", [1], error_code="invalid_x", **challenger)
    put_metrics(cloudwatch, "challenger_failures", [1, 1], **challenger)
    # An earlier challenger's figures: not part of this comparison.
    earlier = {"variant": "challenger", "model_version": "bbbbbbbbbbbb"}
    put_metrics(cloudwatch, "predictions", [100], **earlier)
    put_metrics(cloudwatch, "challenger_failures", [7], **earlier)


def test_the_report_reads_feedback_over_since_and_each_variants_metrics(
    function_logs: PutLines, metrics: None, now_ms: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two days ago: outside SINCE=1d, though it names another pair.
    function_logs(
        feedback_lines(labelled(9, 50), champion_version="a" * 12, challenger_version="b" * 12),
        now_ms - 2 * DAY_MS,
    )
    lines = [
        "START RequestId: 0f1e Version: 7",
        powertools_line("request served", {"route": "/predict", "variant": "champion"}),
        *feedback_lines(labelled(1, 400, champion_bias=0.3), experiment="split"),
        "END RequestId: 0f1e",
    ]
    function_logs(lines, now_ms - HOUR_MS)
    code, out, err = report(capsys, "--since", "1d")
    assert (code, err) == (0, "")
    assert out[:2] == [
        f"A/B report for dev (us-west-2): feedback in {DEFAULT_GROUP} over the last 1d",
        f"experiment split: champion {CHAMPION_VERSION} and challenger {CHALLENGER_VERSION}; "
        "400 labelled observations in 4 feedback events",
    ]
    assert [line.split() for line in out[3:6]] == [
        ["variant", "model_version", "predictions", "errors", "latency", "p50", "latency", "p99"],
        ["champion", CHAMPION_VERSION, "9", "3", "50", "ms", "99", "ms"],
        ["challenger", CHALLENGER_VERSION, "4", "1", "0.7", "ms", "0.9", "ms"],
    ]
    assert out[6] == "challenger failures (the champion answered instead): 2"
    assert "verdict: challenger better: the whole 95% interval of the difference is above 0" in out


def test_variants_without_metrics_show_none(
    function_logs: PutLines, now_ms: int, capsys: pytest.CaptureFixture[str]
) -> None:
    function_logs(feedback_lines(labelled(2, 40)), now_ms - HOUR_MS)
    code, out, _ = report(capsys)
    assert code == 0
    assert [line.split()[2:] for line in out[4:6]] == [["0", "0", "-", "-"]] * 2


def test_the_search_asks_cloudwatch_for_feedback_lines_only(
    function_logs: PutLines,
    clients: AwsClients,
    dev: EnvironmentConfig,
    now_ms: int,
) -> None:
    function_logs(feedback_lines(labelled(3, 40)), now_ms - 60_000)
    searches: list[dict[str, Any]] = []
    clients.logs.meta.events.register(
        "provide-client-params.cloudwatch-logs.FilterLogEvents",
        lambda params, **_: searches.append(dict(params)),
    )
    printed: list[str] = []
    code = ab_report(
        dev,
        600,
        promote=False,
        challenger_dir=CHALLENGER_DIR,
        say=printed.append,
        clients=clients,
        now=lambda: now_ms / 1000,
    )
    assert code == 0
    assert searches == [
        {
            "logGroupName": DEFAULT_GROUP,
            "startTime": now_ms - 600_000,
            "endTime": now_ms,
            "filterPattern": '{ $.message = "feedback" }',
        }
    ]


def test_pages_are_followed_to_the_end_unless_the_log_is_full(
    function_logs: PutLines, clients: AwsClients, now_ms: int
) -> None:
    one_pair_each = feedback_lines(labelled(4, MOTO_PAGE_EVENTS + 5), per_event=1)
    function_logs(one_pair_each, now_ms - HOUR_MS)
    searches: list[str] = []
    clients.logs.meta.events.register(
        "provide-client-params.cloudwatch-logs.FilterLogEvents",
        lambda params, **_: searches.append(params.get("nextToken", "first")),
    )

    def read(feedback: FeedbackLog) -> Selection:
        read_feedback(
            clients.logs, DEFAULT_GROUP, start_ms=now_ms - DAY_MS, end_ms=now_ms, feedback=feedback
        )
        selection = feedback.select()
        assert selection is not None
        return selection

    everything = read(FeedbackLog())
    assert (everything.events, everything.read_limit) == (MOTO_PAGE_EVENTS + 5, None)
    assert len(searches) == 2
    searches.clear()
    first_page = read(FeedbackLog(max_observations=MOTO_PAGE_EVENTS))
    assert searches == ["first"]  # the second page is never asked for
    assert (first_page.observations, first_page.read_limit) == (MOTO_PAGE_EVENTS,) * 2


def test_no_feedback_in_the_window_is_an_error_that_says_how_to_send_it(
    function_logs: PutLines, now_ms: int, capsys: pytest.CaptureFixture[str]
) -> None:
    function_logs(feedback_lines(labelled(6, 40)), now_ms - 8 * DAY_MS)  # before SINCE=7d
    function_logs([powertools_line("request served", {"route": "/predict"})], now_ms - HOUR_MS)
    code, out, err = report(capsys)
    assert (code, out) == (1, [])
    assert err.startswith(
        f"error: no feedback in {DEFAULT_GROUP} over the last 7d: send labelled observations to "
        "the API with POST /feedback"
    )


def test_a_function_that_never_ran_has_no_log_group(
    function_logs: PutLines, clients: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    clients.logs.delete_log_group(logGroupName=DEFAULT_GROUP)
    code, _, err = report(capsys)
    assert code == 1
    assert err == (
        f"error: log group {DEFAULT_GROUP} does not exist in us-west-2: function torchlambda-dev "
        "has not run yet (Lambda creates the group at its first invocation)\n"
    )


def test_an_environment_not_deployed_is_one_line(
    clients: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = report(capsys)
    assert code == 1
    assert err.startswith("error: stack ") and "make deploy ENV=dev" in err
    assert err.count("\n") == 1
