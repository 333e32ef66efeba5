"""A bounded thread pool whose results come back in order, for the engine's chunk work.

The engine's main thread reads (or lists) chunks and submits the CPU work (hashing,
compressing, decompressing) and the repository I/O to a few threads; at most twice as
many tasks as threads are in flight, so memory stays at a few chunks. Each result is
handed to ``on_result`` in the submitting thread, in submission order, so the caller's
bookkeeping (records, counters, progress) needs no lock. The first failure is raised in
the submitting thread, and what was queued behind it is cancelled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, Generic, TypeVar

K = TypeVar("K")
T = TypeVar("T")
Progress = Callable[[int, int], None]
"""A progress callback: (bytes done, bytes in all), called from the submitting thread."""


class Pipeline(Generic[K, T]):
    """``with Pipeline(workers, on_result) as work: work.submit(tag, fn, *args)``."""

    def __init__(self, workers: int, on_result: Callable[[K, T], None]) -> None:
        self._limit = 2 * max(1, workers)
        self._executor = ThreadPoolExecutor(max(1, workers), thread_name_prefix="backup")
        self._pending: deque[tuple[K, Future[T]]] = deque()
        self._on_result = on_result

    def __enter__(self) -> Pipeline[K, T]:
        return self

    def submit(self, tag: K, function: Callable[..., T], *args: Any) -> None:
        """Run ``function(*args)`` on a thread; wait first while too much is in flight."""
        self._pending.append((tag, self._executor.submit(function, *args)))
        while len(self._pending) > self._limit:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        tag, future = self._pending.popleft()
        self._on_result(tag, future.result())

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                while self._pending:
                    self._finish_oldest()
        finally:
            self._executor.shutdown(wait=True, cancel_futures=True)
