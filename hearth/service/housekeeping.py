"""Housekeeping: the periodic purge that keeps Hearth's tables from growing forever.

It sits beside the data path, not in it: the heartbeat thread of every process that runs
the periodic tasks (a scheduler or volume role, ``wiring.Services._tick``) calls
:meth:`Housekeeper.purge_if_due` on each beat, and a purge runs every
``[housekeeping] interval_seconds``, the first on the first beat. It removes

- idempotency keys past their expiry (``[api] idempotency_ttl`` after their create:
  ``hearth.db.idempotency_keys``; the API writes them, any process may purge them);
- user messages past their ``guaranteed_until`` (``expires_at``, ``hearth.messages.
  MESSAGE_TTL`` after they were written: ``hearth.db.user_messages``).

Delivered notifications are the third table that would grow: the notification relay of
every process purges them on the same interval (``[notifications] sent_retention_seconds``,
``hearth.notifications.relay``), since it already runs a thread of its own.

Each purge is one ``DELETE ... WHERE`` expired, in its own transaction, so several processes
purging at once are safe: a row is deleted once, whoever comes first, and a row not yet
expired is never touched. A failed purge is logged and tried again on the next interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from hearth import config, messages
from hearth.db import idempotency_keys, models, user_messages
from hearth.db.session import Database

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    """How many rows one purge removed, per table."""

    idempotency_keys: int
    user_messages: int


class Housekeeper:
    """Purges expired rows every ``settings.interval_seconds`` when asked on each beat."""

    def __init__(
        self,
        db: Database,
        settings: config.HousekeepingSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._interval = settings.interval_seconds
        self._clock = clock
        self._next_purge = clock()

    def purge(self) -> Purged:
        """Remove what has expired now, each table in its own transaction."""
        now = models.utcnow()
        with self._db.transaction() as session:
            keys = idempotency_keys.purge_expired(session, now)
        with self._db.transaction() as session:
            dropped = user_messages.purge_expired(
                session, now, undated_before=now - messages.MESSAGE_TTL
            )
        return Purged(idempotency_keys=keys, user_messages=dropped)

    def purge_if_due(self) -> None:
        """Purge when the interval has passed since the last one. Never raises."""
        if self._clock() < self._next_purge:
            return
        self._next_purge = self._clock() + self._interval
        try:
            purged = self.purge()
        except Exception:  # the next interval tries again
            LOG.warning("housekeeping purge failed", exc_info=True)
            return
        if purged.idempotency_keys or purged.user_messages:
            LOG.info(
                "purged %d expired idempotency keys and %d expired user messages",
                purged.idempotency_keys,
                purged.user_messages,
            )
