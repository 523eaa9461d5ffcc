"""The status line: redrawn in place on a terminal (at most every REDRAW_SECONDS), one line per
key elsewhere, log lines above it either way."""

from __future__ import annotations

import io
import itertools

from tooling.status_line import CLEAR_LINE, REDRAW_SECONDS, StatusLine


def ticking(step: float) -> itertools.count[float]:
    return itertools.count(0.0, step)


def test_updates_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    status = StatusLine(stream, interactive=True, clock=ticking(1.0).__next__)
    status.status("BUILD 0m05s", key="BUILD")
    status.status("BUILD 0m10s", key="BUILD")
    status.line("epoch 1")
    status.finish()
    assert stream.getvalue() == (
        f"{CLEAR_LINE}BUILD 0m05s{CLEAR_LINE}BUILD 0m10s{CLEAR_LINE}epoch 1\nBUILD 0m10s\n"
    )


def test_a_terminal_is_redrawn_at_most_every_redraw_seconds_and_ends_on_the_latest() -> None:
    stream = io.StringIO()
    status = StatusLine(stream, interactive=True, clock=ticking(0.3 * REDRAW_SECONDS).__next__)
    for epoch in range(1, 9):  # drawn at 0 and 1.2 redraw periods; the last one at the end
        status.status(f"epoch {epoch}", key="training")
    status.finish()
    status.line("done")
    assert stream.getvalue() == (
        f"{CLEAR_LINE}epoch 1{CLEAR_LINE}epoch 5{CLEAR_LINE}epoch 8\ndone\n"
    )


def test_prints_only_changes_without_a_terminal() -> None:
    stream = io.StringIO()
    status = StatusLine(stream, interactive=False)
    for text, key in (
        ("QUEUED 0m00s", "QUEUED"),
        ("QUEUED 0m05s", "QUEUED"),
        ("BUILD 0m10s", "BUILD"),
    ):
        status.status(text, key=key)
    status.line("epoch 1")
    status.finish()
    assert stream.getvalue() == "QUEUED 0m00s\nBUILD 0m10s\nepoch 1\n"


def test_follows_the_stream_when_not_told() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert StatusLine(Terminal()).interactive
    assert not StatusLine(io.StringIO()).interactive
