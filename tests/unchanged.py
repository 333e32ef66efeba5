"""Bad requests must change nothing: a snapshot of everything a request could touch, and
the ``unchanged`` fixture that checks it at the end of a test.

Used by the request-layer tests (``tests/unit/test_requests.py``, ``test_image_requests.py``):
a test calls :func:`rejects`, which marks the world, expects the error and its message; the
fixture then checks that no row, backend volume, message or notification came or went.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hearth import errors
from hearth.db import snapshots, user_messages, volumes
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver


def world(hearth: Hearth, fake_driver: FakeDriver) -> tuple[Any, ...]:
    """Everything a bad request must leave untouched."""
    with hearth.services.db.transaction() as session:
        rows = tuple((v.id, v.status, v.size) for v in volumes.find_all(session)) + tuple(
            (s.id, s.status) for s in snapshots.find_all(session)
        )
        message_count = len(user_messages.find_all(session))
    assert hearth.services.memory_notifications is not None
    return (
        rows,
        message_count,
        sorted(fake_driver.volumes),
        sorted(fake_driver.snapshots),
        len(hearth.services.memory_notifications.received()),
    )


class Unchanged:
    """Remembers the world when marked; the fixture checks it is the same at the end."""

    def __init__(self, hearth: Hearth, fake_driver: FakeDriver) -> None:
        self.hearth = hearth
        self.fake_driver = fake_driver
        self.before: tuple[Any, ...] | None = None

    def mark(self) -> None:
        self.before = world(self.hearth, self.fake_driver)


@pytest.fixture
def unchanged(hearth: Hearth, fake_driver: FakeDriver) -> Iterator[Unchanged]:
    """A guard the test marks (through :func:`rejects`); the world must match it at the end."""
    guard = Unchanged(hearth, fake_driver)
    yield guard
    assert guard.before is not None, "the test never marked the world"
    assert world(hearth, fake_driver) == guard.before


def rejects(
    unchanged: Unchanged,
    call: Callable[[], object],
    error: type[errors.HearthError],
    *fragments: str,
) -> errors.HearthError:
    """Mark the world, then expect ``call`` to raise ``error`` with every fragment in its user
    message; returns the error."""
    unchanged.mark()
    with pytest.raises(error) as caught:
        call()
    for fragment in fragments:
        assert fragment in caught.value.user_message
    return caught.value
