"""Quota usage: what each project uses, changed in the transaction that changes what it counts.

The volume and snapshot repositories call :func:`charge` when they insert a row and
:func:`refund` with what a DELETE really removed, so no path that makes or drops a row can
forget its usage (``in_use``). Growth under way (an extend) is a reservation
(:func:`reserve`), committed into ``in_use`` with the new size or released with the
failure (:func:`commit`, :func:`release`), in the transaction that records the outcome.
The limits are checked above, by ``hearth.service.quotas``, after the charge: the upsert
row-locks the project's usage (PostgreSQL; SQLite has one writer), so concurrent creates
are counted one after the other and never both fit.

:func:`recount` is the truth the counters must equal: the rows themselves. A volume counts
1 volume and its size in gigabytes, a snapshot 1 snapshot and its volume's size in
gigabytes (as Cinder), each also under ``<resource>_<type name>``; reservations count into
``reserved``. :func:`differences` compares, :func:`sync` repairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hearth.db import models

Usage = models.QuotaUsage
Reservation = models.QuotaReservation
Deltas = Mapping[str, int]


def volume_deltas(size: int, type_name: str | None) -> dict[str, int]:
    """What one volume of ``size`` GiB counts."""
    deltas = {"volumes": 1, "gigabytes": size}
    if type_name is not None:
        deltas |= {f"volumes_{type_name}": 1, f"gigabytes_{type_name}": size}
    return deltas


def snapshot_deltas(size: int, type_name: str | None) -> dict[str, int]:
    """What one snapshot of a ``size`` GiB volume counts."""
    deltas = {"snapshots": 1, "gigabytes": size}
    if type_name is not None:
        deltas |= {f"snapshots_{type_name}": 1, f"gigabytes_{type_name}": size}
    return deltas


def backup_deltas(size: int) -> dict[str, int]:
    """What one backup of a ``size`` GiB volume counts."""
    return {"backups": 1, "backup_gigabytes": size}


def growth_deltas(grow_by: int, type_name: str | None) -> dict[str, int]:
    """What growing a volume by ``grow_by`` GiB counts."""
    deltas = {"gigabytes": grow_by}
    if type_name is not None:
        deltas[f"gigabytes_{type_name}"] = grow_by
    return deltas


def type_name(session: Session, volume_type_id: str | None) -> str | None:
    """The name of a volume type, for its per-type resources (None: untyped)."""
    if volume_type_id is None:
        return None
    return session.scalar(
        sa.select(models.VolumeType.name).where(models.VolumeType.id == volume_type_id)
    )


def charge(session: Session, project_id: str, deltas: Deltas) -> None:
    """Add ``deltas`` to the project's ``in_use`` (negative deltas give back)."""
    _add(session, project_id, "in_use", deltas)


def refund(session: Session, project_id: str, deltas: Deltas) -> None:
    """Take ``deltas`` off the project's ``in_use``."""
    _add(session, project_id, "in_use", {name: -value for name, value in deltas.items()})


def reserve(session: Session, project_id: str, resource_id: str, deltas: Deltas) -> None:
    """Hold ``deltas`` in ``reserved`` for the operation on ``resource_id``."""
    for resource, delta in deltas.items():
        session.add(
            Reservation(
                project_id=project_id, resource=resource, delta=delta, resource_id=resource_id
            )
        )
    session.flush()
    _add(session, project_id, "reserved", deltas)


def commit(session: Session, resource_id: str) -> dict[str, int]:
    """Move the reservations of ``resource_id`` into ``in_use``; returns what moved."""
    return _settle(session, resource_id, into_use=True)


def release(session: Session, resource_id: str) -> dict[str, int]:
    """Give the reservations of ``resource_id`` back; returns what was released."""
    return _settle(session, resource_id, into_use=False)


def find(session: Session, project_id: str) -> dict[str, tuple[int, int]]:
    """The project's usage: resource -> (in_use, reserved)."""
    rows = session.scalars(sa.select(Usage).where(Usage.project_id == project_id)).all()
    return {row.resource: (row.in_use, row.reserved) for row in rows}


def _settle(session: Session, resource_id: str, *, into_use: bool) -> dict[str, int]:
    held = session.scalars(
        sa.delete(Reservation)
        .where(Reservation.resource_id == resource_id)
        .returning(Reservation)
        .execution_options(synchronize_session=False)
    ).all()
    by_project: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in held:
        by_project[row.project_id][row.resource] += row.delta
    for project_id, deltas in by_project.items():
        _add(session, project_id, "reserved", {name: -value for name, value in deltas.items()})
        if into_use:
            charge(session, project_id, deltas)
    return {name: value for deltas in by_project.values() for name, value in deltas.items()}


def _add(session: Session, project_id: str, column: str, deltas: Deltas) -> None:
    """One upsert adding ``deltas`` to ``column`` (sorted: every writer locks the
    project's rows in the same order, so two never deadlock)."""
    wanted = sorted((name, value) for name, value in deltas.items() if value)
    if not wanted:
        return
    now = models.utcnow()
    values = [
        {
            "project_id": project_id,
            "resource": name,
            "in_use": value if column == "in_use" else 0,
            "reserved": value if column == "reserved" else 0,
            "updated_at": now,
        }
        for name, value in wanted
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Usage).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["project_id", "resource"],
        set_={
            column: getattr(Usage, column) + getattr(statement.excluded, column),
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.execute(statement.execution_options(synchronize_session=False))


# the truth: recounts from the rows


@dataclass(frozen=True)
class Difference:
    """A counter that is not what the rows say."""

    project_id: str
    resource: str
    in_use: int
    reserved: int
    counted_in_use: int
    counted_reserved: int

    def __str__(self) -> str:
        return (
            f"project {self.project_id} {self.resource}: in_use {self.in_use} (rows say "
            f"{self.counted_in_use}), reserved {self.reserved} (reservations say "
            f"{self.counted_reserved})"
        )


Counts = dict[tuple[str, str], list[int]]


def recount(session: Session, project_id: str | None = None) -> Counts:
    """(project, resource) -> [in_use, reserved] as the rows and reservations say."""
    counts: Counts = defaultdict(lambda: [0, 0])
    volume, kind = models.Volume, models.VolumeType
    for project, name, size in _rows(
        session,
        sa.select(volume.project_id, kind.name, volume.size).outerjoin(
            kind, kind.id == volume.volume_type_id
        ),
        volume.project_id,
        project_id,
    ):
        for resource, delta in volume_deltas(size, name).items():
            counts[(project, resource)][0] += delta
    snapshot = models.Snapshot
    for project, name, size in _rows(
        session,
        sa.select(snapshot.project_id, kind.name, snapshot.volume_size)
        .join(volume, volume.id == snapshot.volume_id)
        .outerjoin(kind, kind.id == volume.volume_type_id),
        snapshot.project_id,
        project_id,
    ):
        for resource, delta in snapshot_deltas(size, name).items():
            counts[(project, resource)][0] += delta
    backup = models.Backup
    for project, size in _rows(
        session, sa.select(backup.project_id, backup.size), backup.project_id, project_id
    ):
        for resource, delta in backup_deltas(size).items():
            counts[(project, resource)][0] += delta
    for row in _rows(session, sa.select(Reservation), Reservation.project_id, project_id):
        reservation = row[0]
        counts[(reservation.project_id, reservation.resource)][1] += reservation.delta
    return counts


def _rows(session: Session, query: Any, column: Any, project_id: str | None) -> Sequence[Any]:
    if project_id is not None:
        query = query.where(column == project_id)
    return session.execute(query).all()


def differences(session: Session, project_id: str | None = None) -> list[Difference]:
    """Every counter that differs from the recount (empty: usage is exact)."""
    counts = recount(session, project_id)
    query = sa.select(Usage)
    if project_id is not None:
        query = query.where(Usage.project_id == project_id)
    stored = {(row.project_id, row.resource): row for row in session.scalars(query)}
    found = []
    for key in sorted(set(counts) | set(stored)):
        in_use, reserved = counts.get(key, [0, 0])
        row = stored.get(key)
        have = (row.in_use, row.reserved) if row is not None else (0, 0)
        if have != (in_use, reserved):
            found.append(Difference(key[0], key[1], have[0], have[1], in_use, reserved))
    return found


def sync(session: Session, project_id: str | None = None) -> list[Difference]:
    """Set every differing counter to the recount; returns what was corrected. The
    usage rows are locked first, so a change committed meanwhile waits for the sync."""
    query = sa.select(Usage).with_for_update()
    if project_id is not None:
        query = query.where(Usage.project_id == project_id)
    session.scalars(query).all()
    found = differences(session, project_id)
    for difference in found:
        _add(
            session,
            difference.project_id,
            "in_use",
            {difference.resource: difference.counted_in_use - difference.in_use},
        )
        _add(
            session,
            difference.project_id,
            "reserved",
            {difference.resource: difference.counted_reserved - difference.reserved},
        )
    return found
