"""Statement and commit counts of a block of work, from SQLAlchemy event listeners.

A benchmark helper: it listens on the engines of a ``hearth.db.session.Database`` (the
writer's and, on SQLite, the readers' pool) and counts, while a :class:`Counts` is active,
every statement sent to the database (``BEGIN`` aside), every commit, and which of those
commits wrote (a transaction that sent an INSERT, UPDATE or DELETE).

    counts = sqlcount.Counts(services.db)
    with counts.active():
        create(...)
    print(counts.per(n))
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

from hearth.db.session import Database

WRITES = ("INSERT", "UPDATE", "DELETE")


class Counts:
    """Counts statements and commits on ``db`` while :meth:`active`."""

    def __init__(self, db: Database) -> None:
        self.totals: Counter[str] = Counter()
        self.by_verb: Counter[str] = Counter()
        self._on = False
        self._lock = threading.Lock()
        self._wrote: set[int] = set()
        engines = {id(e): e for e in (db.engine, getattr(db, "_reader", db.engine))}
        for engine in engines.values():
            event.listen(engine, "before_cursor_execute", self._statement)
            event.listen(engine, "commit", self._commit)

    @contextlib.contextmanager
    def active(self) -> Iterator[Counts]:
        """Count inside the block only."""
        self._on = True
        try:
            yield self
        finally:
            self._on = False

    def per(self, n: int) -> str:
        """The counts divided by ``n`` creates, one line."""
        t = self.totals
        verbs = ", ".join(f"{v} {c / n:.1f}" for v, c in sorted(self.by_verb.items()))
        return (
            f"{t['statements'] / n:.1f} statements ({verbs}), "
            f"{t['commits'] / n:.1f} commits of which {t['write_commits'] / n:.1f} wrote"
        )

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self._on:
            return
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb == "BEGIN":
            return
        with self._lock:
            self.totals["statements"] += 1
            self.by_verb[verb] += 1
            if verb in WRITES:
                self._wrote.add(id(conn))

    def _commit(self, conn: Any) -> None:
        if not self._on:
            return
        with self._lock:
            self.totals["commits"] += 1
            if id(conn) in self._wrote:
                self._wrote.discard(id(conn))
                self.totals["write_commits"] += 1
