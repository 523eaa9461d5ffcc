"""`make ab-report ENV=... [SINCE=7d] [PROMOTE=1]` and `make ab-report-local [SERVE_LOG=...]`:
champion against challenger on the labelled feedback the function logged, beside each variant's
live figures, with a verdict (docs/experiments.md).

A report exits 0 whatever its verdict; no feedback at all, or an unreadable source, is an error.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from pathlib import Path

from infra.config import EnvironmentConfig
from ops.aws import AwsClients
from ops.errors import OpsError
from ops.experiment.cloud_feedback import read_feedback
from ops.experiment.cloud_metrics import live_figures
from ops.experiment.comparison import Comparison, compare, mean_squared_error
from ops.experiment.feedback_log import FeedbackLog, Selection
from ops.experiment.local_log import read_serve_log
from ops.experiment.promotion import promote_challenger
from ops.experiment.report import (
    comparison_lines,
    no_challenger_lines,
    report_lines,
)
from ops.experiment.variants import LiveFigures, RequestTally
from ops.logs.command import missing_group
from ops.logs.duration import describe
from ops.logs.group import function_log_group
from ops.logs.tail import LogGroupNotFound


def no_feedback(source: str) -> OpsError:
    return OpsError(
        f"no feedback in {source}: send labelled observations to the API with POST /feedback "
        '(a body like {"x": 1.5, "y": 4.1}, or {"pairs": [{"x": 1.5, "y": 4.1}, ...]} for a '
        "batch), then run this again"
    )


def ab_report(
    config: EnvironmentConfig,
    since_seconds: int,
    *,
    promote: bool,
    challenger_dir: Path,
    say: Callable[[str], None],
    clients: AwsClients | None = None,
    now: Callable[[], float] = time.time,
) -> int:
    """The report from the environment's logs and metrics; with `promote`, then the promotion."""
    clients = clients or AwsClients(config)
    name, group = function_log_group(clients.cloudformation, clients.client("lambda"), config)
    end = now()
    start = end - since_seconds
    feedback = FeedbackLog()
    try:
        read_feedback(
            clients.logs,
            group,
            start_ms=int(start * 1000),
            end_ms=int(end * 1000),
            feedback=feedback,
        )
    except LogGroupNotFound:
        raise missing_group(config, name, group) from None
    window = f"the last {describe(since_seconds)}"
    selection = feedback.select()
    if selection is None:
        raise no_feedback(f"{group} over {window}")
    live = live_figures(clients.client("cloudwatch"), selection.pair, _utc(start), _utc(end))
    comparison = say_report(
        f"A/B report for {config.name} ({config.region}): feedback in {group} over {window}",
        selection,
        live,
        config,
        more_hint="a shorter SINCE reads newer ones",
        say=say,
    )
    if not promote:
        return 0
    return promote_challenger(
        clients,
        config,
        verdict=None if comparison is None else comparison.verdict,
        measured_version=selection.pair.challenger,
        challenger_dir=challenger_dir,
        say=say,
    )


def ab_report_local(log: Path, config: EnvironmentConfig, say: Callable[[str], None]) -> int:
    """The report from the local server's log; `config`'s gate sizes the smallest difference."""
    feedback, requests = FeedbackLog(), RequestTally()
    read_serve_log(log, feedback, requests)
    selection = feedback.select()
    if selection is None:
        raise no_feedback(f"{log} (the local server's log)")
    say_report(
        f"A/B report from the local server's log {log}",
        selection,
        requests.figures(selection.pair),
        config,
        more_hint=f"start a new log (move {log} away) to measure newer ones",
        say=say,
    )
    return 0


def say_report(
    heading: str,
    selection: Selection,
    live: LiveFigures,
    config: EnvironmentConfig,
    *,
    more_hint: str,
    say: Callable[[str], None],
) -> Comparison | None:
    """Print the report; the comparison, or None when no challenger was served."""
    min_relative_improvement = config.lifecycle.gate.min_relative_improvement
    comparison = None
    if selection.challenger_y is None:
        compared = no_challenger_lines(
            selection, mean_squared_error(selection.y, selection.champion_y)
        )
    else:
        comparison = compare(
            selection.y,
            selection.champion_y,
            selection.challenger_y,
            min_relative_improvement=min_relative_improvement,
        )
        compared = comparison_lines(comparison, config.name, min_relative_improvement)
    for line in report_lines(heading, selection, live, compared, more_hint):
        say(line)
    return comparison


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)
