"""Read ahead and write behind: order kept, errors re-raised, threads stopped, memory bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from torchlambda.batch.pipeline import DEPTH, WriteBehind, read_ahead


def threads_named(prefix: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


def test_read_ahead_keeps_the_order() -> None:
    assert list(read_ahead(range(100))) == list(range(100))
    assert list(read_ahead([])) == []
    assert threads_named("read-ahead") == []


def test_read_ahead_produces_in_another_thread() -> None:
    def produce() -> Iterator[str]:
        for _ in range(3):
            yield threading.current_thread().name

    assert all(name.startswith("read-ahead") for name in read_ahead(produce()))


def test_read_ahead_propagates_the_producer_error() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionResetError("the source failed")

    received: list[int] = []
    with pytest.raises(ConnectionResetError, match="the source failed"):
        for item in read_ahead(produce()):
            received.append(item)
    assert received == [1, 2]
    assert threads_named("read-ahead") == []


def test_read_ahead_stops_early_when_closed() -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for item in range(1_000_000):
            produced.append(item)
            yield item

    ahead = read_ahead(produce())
    assert next(ahead) == 0
    ahead.close()
    stopped_at = len(produced)
    assert stopped_at <= 1 + DEPTH  # the one taken and at most DEPTH ahead
    time.sleep(0.05)
    assert len(produced) == stopped_at
    assert threads_named("read-ahead") == []


class Recording:
    def __init__(self, fail_on: bytes | None = None) -> None:
        self.written: list[bytes] = []
        self.events: list[str] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def write(self, data: bytes) -> None:
        self.threads.add(threading.current_thread().name)
        if data == self.fail_on:
            raise OSError(f"cannot write {data!r}")
        self.written.append(data)

    def commit(self) -> None:
        self.events.append("commit")

    def abort(self) -> None:
        self.events.append("abort")


def test_write_behind_writes_in_order_in_one_thread() -> None:
    inner = Recording()
    behind = WriteBehind(inner)
    behind.write(b"header\n")
    for index in range(50):
        behind.submit(lambda n: b"%d\n" % n, index)
    behind.commit()
    assert inner.written == [b"header\n"] + [b"%d\n" % index for index in range(50)]
    assert inner.events == ["commit"]
    assert len(inner.threads) == 1
    assert next(iter(inner.threads)).startswith("write-behind")


def test_a_write_error_is_raised_at_the_next_write() -> None:
    inner = Recording(fail_on=b"bad")
    behind = WriteBehind(inner, depth=1)
    behind.write(b"bad")
    with pytest.raises(OSError, match="cannot write"):
        behind.write(b"next")
    behind.abort()
    assert inner.events == ["abort"]


def test_a_write_error_is_raised_at_commit_and_nothing_is_committed() -> None:
    inner = Recording(fail_on=b"bad")
    behind = WriteBehind(inner)
    behind.write(b"ok")
    behind.write(b"bad")
    with pytest.raises(OSError, match="cannot write"):
        behind.commit()
    assert inner.events == []
    behind.abort()
    assert inner.events == ["abort"]
    assert threads_named("write-behind") == []


def test_a_render_error_is_raised_too() -> None:
    def render(value: int) -> bytes:
        raise ValueError(f"cannot render {value}")

    behind = WriteBehind(Recording())
    behind.submit(render, 7)
    with pytest.raises(ValueError, match="cannot render 7"):
        behind.commit()


def test_abort_runs_the_inner_abort_and_drops_pending_writes() -> None:
    inner = Recording()
    behind = WriteBehind(inner)
    behind.write(b"a")
    behind.abort()
    assert inner.events == ["abort"]
    assert threads_named("write-behind") == []


def test_the_writer_falls_at_most_depth_behind() -> None:
    release = threading.Event()

    class Blocked(Recording):
        def write(self, data: bytes) -> None:
            release.wait(timeout=10)
            super().write(data)

    inner = Blocked()
    behind = WriteBehind(inner, depth=2)

    def writes() -> None:
        for index in range(4):
            behind.write(b"%d" % index)

    caller = threading.Thread(target=writes)
    caller.start()
    caller.join(timeout=0.3)
    assert caller.is_alive()  # the third write waits for the first
    assert len(behind.pending) <= 3
    release.set()
    caller.join(timeout=10)
    behind.commit()
    assert inner.written == [b"0", b"1", b"2", b"3"]
