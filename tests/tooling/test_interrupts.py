"""SIGTERM as Ctrl-C while writing, and interrupts held back while a swap commits."""

from __future__ import annotations

import os
import signal

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


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_held_interrupts_arrive_once_the_block_is_done(signum: int) -> None:
    finished = False
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        os.kill(os.getpid(), signum)
        finished = True
    assert finished
