"""Reading feedback lines: only feedback is kept, unreadable feedback is counted, and the pair the
report compares is the newest that had a challenger, the others listed as skipped."""

from __future__ import annotations

import json

import numpy as np

from ops.experiment.feedback_log import FeedbackLog, VersionPair
from tests.ops.experiment.log_lines import (
    CHALLENGER_VERSION,
    CHAMPION_VERSION,
    feedback_lines,
    labelled,
    powertools_line,
)
from torchlambda.experiment.feedback import FEEDBACK_MESSAGE

CURRENT = VersionPair(CHAMPION_VERSION, CHALLENGER_VERSION)
EARLIER = VersionPair("aaaaaaaaaaaa", "bbbbbbbbbbbb")
UNCHALLENGED = VersionPair(CHAMPION_VERSION, None)
EARLIER_VERSIONS = {"champion_version": "aaaaaaaaaaaa", "challenger_version": "bbbbbbbbbbbb"}


def read(lines: list[str], log: FeedbackLog | None = None) -> FeedbackLog:
    log = log or FeedbackLog()
    for when, line in enumerate(lines):
        log.add_line(line, when)
    return log


def test_other_lines_are_skipped_and_bad_feedback_is_counted() -> None:
    data = labelled(1, 250)
    unreadable = json.loads(feedback_lines(labelled(2, 3))[0])
    unreadable["y"] = unreadable["y"][:-1]  # fewer labels than x
    log = read(
        [
            "START RequestId: 1 Version: $LATEST",
            "not json {",
            "[1, 2, 3]",
            powertools_line("request served", {"route": "/predict"}),
            powertools_line(FEEDBACK_MESSAGE, {"experiment": "shadow"}),  # no fields at all
            json.dumps(unreadable),
            *feedback_lines(data),
        ]
    )
    selection = log.select()
    assert selection is not None
    assert (selection.pair, selection.experiment, selection.events) == (CURRENT, "shadow", 3)
    assert (selection.unreadable, selection.skipped, selection.read_limit) == (2, (), None)
    assert selection.challenger_y is not None
    np.testing.assert_array_equal(selection.y, data.y)
    np.testing.assert_array_equal(selection.champion_y, data.champion_y)
    np.testing.assert_array_equal(selection.challenger_y, data.challenger_y)


def test_the_newest_pair_with_a_challenger_is_compared() -> None:
    current = labelled(1, 150)
    earlier = feedback_lines(labelled(2, 40), experiment="split", **EARLIER_VERSIONS)
    # The last lines come after the experiment ended: served by the champion alone.
    unchallenged = feedback_lines(labelled(3, 20), challenger_version=None)
    log = read([*earlier, *feedback_lines(current, per_event=50), *unchallenged])
    selection = log.select()
    assert selection is not None
    assert (selection.pair, selection.events, selection.observations) == (CURRENT, 3, 150)
    assert selection.skipped == ((UNCHALLENGED, 1, 20), (EARLIER, 1, 40))  # newest first


def test_the_pair_of_the_newest_event_wins_whatever_came_first() -> None:
    log = FeedbackLog()
    log.add_line(feedback_lines(labelled(1, 10))[0], when=5.0)
    log.add_line(feedback_lines(labelled(2, 10), **EARLIER_VERSIONS)[0], when=9.0)
    log.add_line(feedback_lines(labelled(3, 10))[0], when=7.0)  # read last, logged before
    selection = log.select()
    assert selection is not None
    assert (selection.pair, selection.skipped) == (EARLIER, ((CURRENT, 2, 20),))


def test_feedback_without_any_challenger_is_selected_without_one() -> None:
    selection = read(feedback_lines(labelled(1, 30), challenger_version=None)).select()
    assert selection is not None
    assert (selection.pair, selection.experiment, selection.challenger_y) == (
        UNCHALLENGED,
        "none",
        None,
    )
    assert selection.observations == 30


def test_no_feedback_selects_nothing() -> None:
    assert read(["plain text", powertools_line("request served", {})]).select() is None


def test_reading_stops_at_the_bound_and_says_so() -> None:
    log = read(feedback_lines(labelled(1, 500), per_event=100), FeedbackLog(max_observations=250))
    selection = log.select()
    assert selection is not None
    assert (selection.observations, selection.read_limit) == (300, 250)  # whole events only
    assert log.full
