"""Waiting in tests for something another thread or process brings about."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], bool], timeout: float | None = None) -> bool:
    """Poll ``predicate`` (2 ms, growing to 100 ms) until true; False on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.002
    while not predicate():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
    return True
