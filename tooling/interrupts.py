"""Interrupts during a write: SIGTERM handled as Ctrl-C, and held back while a swap commits.

A stopped build or a killed command must clean up on the way out (so SIGTERM raises
KeyboardInterrupt like Ctrl-C), but never stop between the two renames that swap a directory in.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    # Only the main thread can set handlers, and only it receives Python's signal callbacks.
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt (every `finally` and cleanup runs).

    A SIGTERM that the process was started to ignore stays ignored.
    """
    if not _in_main_thread() or signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done; then KeyboardInterrupt is raised.

    The handlers record the signal instead of raising. (Masking the signals would not do: the
    kernel hands a process signal to any thread that does not mask it, and CPython then runs the
    handler in the main thread at once.) A signal the process ignores stays ignored.
    """
    if not _in_main_thread():
        yield
        return
    arrived: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    held = [number for number in HELD_SIGNALS if signal.getsignal(number) is not signal.SIG_IGN]
    previous = {number: signal.signal(number, hold) for number in held}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if arrived:
        raise KeyboardInterrupt
