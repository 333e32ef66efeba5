"""What a refused request must leave as it was, for the tests that send bad input to a live
API (``test_bad_input.py``, ``test_fuzz.py``): the number of rows of every table a request
writes and the files of the backends and the image store; and a live API on each database
Hearth runs on, since what a database refuses differs (PostgreSQL refuses NUL in text and
integers beyond 2**31-1 in an ``Integer`` column; SQLite stores both).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hearth.db import models, statuses
from hearth.db import session as db_session
from tests.db_backends import fresh_postgres_database
from tests.functional.api.conftest import Api, start_api
from tests.waiting import wait_until

TABLES = (
    models.Volume,
    models.Snapshot,
    models.VolumeType,
    models.Image,
    models.UserMessage,
    models.IdempotencyKey,
    models.Backup,
    models.Attachment,
)
BUSY_VOLUMES = frozenset(
    {
        statuses.VolumeStatus.CREATING,
        statuses.VolumeStatus.DOWNLOADING,
        statuses.VolumeStatus.EXTENDING,
        statuses.VolumeStatus.DELETING,
        statuses.VolumeStatus.BACKING_UP,
        statuses.VolumeStatus.RESTORING_BACKUP,
    }
)
BUSY_SNAPSHOTS = frozenset({statuses.SnapshotStatus.CREATING, statuses.SnapshotStatus.DELETING})


def world(api: Api) -> dict[str, Any]:
    """Row counts of the tables requests write, and the files requests make."""
    settings = api.hearth.services.settings
    counted: dict[str, Any] = {}
    with api.hearth.services.db.read() as session:
        for table in TABLES:
            counted[table.__tablename__] = session.scalar(
                sa.select(sa.func.count()).select_from(table)
            )
    for name in settings.backends:
        counted[f"files of {name}"] = _files(settings.backend_directory(name))
    counted["image files"] = _files(settings.image_directory)
    return counted


def settle(api: Api, timeout: float = 30) -> None:
    """Wait until the work accepted requests started has ended (no volume or snapshot in a
    busy status, no worker busy), so the world changes only by the next request."""

    def settled() -> bool:
        with api.hearth.services.db.read() as session:
            busy = session.scalar(
                sa.select(sa.func.count())
                .select_from(models.Volume)
                .where(models.Volume.status.in_(BUSY_VOLUMES))
            ) or session.scalar(
                sa.select(sa.func.count())
                .select_from(models.Snapshot)
                .where(models.Snapshot.status.in_(BUSY_SNAPSHOTS))
            )
        return not busy and api.hearth.services.bus.idle()

    assert wait_until(settled, timeout=timeout), "accepted work did not end in time"


@contextlib.contextmanager
def api_on(database: str, data_dir: Path) -> Iterator[Api]:
    """A live API on ``database`` ("sqlite" or "postgresql", a fresh database)."""
    with contextlib.ExitStack() as stack:
        overrides: dict[str, Any] = {}
        if database == "postgresql":
            url = stack.enter_context(fresh_postgres_database())
            schema = db_session.Database(url)
            schema.upgrade()
            schema.dispose()
            overrides["database"] = {"url": url}
        yield stack.enter_context(start_api(data_dir, **overrides))


def _files(directory: Path) -> frozenset[str]:
    if not directory.exists():
        return frozenset()
    return frozenset(str(path.relative_to(directory)) for path in directory.rglob("*"))
