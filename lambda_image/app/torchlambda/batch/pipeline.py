"""Reading, scoring and writing overlap: the source is read ahead and the output written behind,
each in one background thread, a bounded number of chunks away.

What the threads run mostly releases the GIL (socket reads, ISA-L's inflate and deflate, S3
uploads), so on two vCPUs the scoring thread rarely waits; on one, the overlap still hides the
network. One thread each keeps the order of chunks, and the queues' depth bounds memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from torchlambda.batch.sinks import Sink

T = TypeVar("T")
DEPTH = 2  # chunks in flight each way: enough to overlap, few enough to bound memory
_END = object()


def read_ahead(items: Iterable[T], depth: int = DEPTH) -> Generator[T, None, None]:
    """`items`, produced in a background thread up to `depth` ahead; its errors re-raised here."""
    iterator = iter(items)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
    pending: deque[Future[object]] = deque()
    try:
        for _ in range(depth):
            pending.append(executor.submit(next, iterator, _END))
        while (item := pending.popleft().result()) is not _END:
            pending.append(executor.submit(next, iterator, _END))
            yield item  # type: ignore[misc]
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True)


class WriteBehind:
    """A sink whose writes run in a background thread, at most `depth` behind the caller."""

    def __init__(self, inner: Sink, depth: int = DEPTH) -> None:
        self.inner = inner
        self.depth = depth
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-behind")
        self.pending: deque[Future[None]] = deque()

    def write(self, data: bytes) -> None:
        self._queue(self.inner.write, data)

    def submit(self, render: Callable[[T], bytes], argument: T) -> None:
        """Write what `render(argument)` returns, rendering in the background too."""
        self._queue(lambda: self.inner.write(render(argument)))

    def _queue(self, work: Callable[..., None], *arguments: object) -> None:
        self.pending.append(self.executor.submit(work, *arguments))
        while len(self.pending) > self.depth:
            self.pending.popleft().result()

    def commit(self) -> None:
        try:
            while self.pending:
                self.pending.popleft().result()
            self.inner.commit()
        finally:
            self.executor.shutdown(wait=True)

    def abort(self) -> None:
        for future in self.pending:
            future.cancel()
        self.pending.clear()
        self.executor.shutdown(wait=True)
        self.inner.abort()
