"""SIGTERM as Ctrl-C while writing, and interrupts held back while a swap commits."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from tooling.interrupts import interrupts_held, sigterm_as_interrupt


def test_sigterm_raises_keyboard_interrupt_inside_and_only_inside() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_sigterm_stays_ignored() -> None:
    before = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.fixture
def interrupts_not_ignored() -> Iterator[None]:
    """Python's own handlers: a shell's background job starts with SIGINT ignored, and an
    ignored signal is (rightly) not held."""
    previous = {
        number: signal.signal(number, handler)
        for number, handler in (
            (signal.SIGINT, signal.default_int_handler),
            (signal.SIGTERM, signal.SIG_DFL),
        )
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@pytest.mark.usefixtures("interrupts_not_ignored")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_held_interrupts_arrive_once_the_block_is_done(signum: int) -> None:
    finished = False
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt(), interrupts_held():
        os.kill(os.getpid(), signum)
        finished = True
    assert finished
