"""The backend audit: what a backend holds against what the database says it holds.

``hearth backend audit [--fix]`` runs it for each backend. Findings:

- ``orphan volume`` / ``orphan snapshot``: the backend holds data no row claims (fix: delete
  the data);
- ``missing volume data`` / ``missing snapshot data``: a row says the data exists, the
  backend lacks it (fix: the row goes to ``error`` with a user message and gives up its
  claim; a row being deleted is simply deleted);
- ``unfinished``: a create, delete or extend untouched for ``stale_after`` seconds (fix:
  reconciliation, which needs the backend's manager: see ``Hearth.audit``);
- ``capacity drift``: the claims recorded for the backend differ from the sizes of its
  volume rows, or its snapshot counter from the sizes of their snapshot rows (fix:
  recount). Capacity reports read these counters, so this is their check.

Rows in ``creating`` or ``downloading`` have no data yet by design and are never
``missing``; backend data younger than its row cannot exist (data appears only when
complete, and rows are written before data). Image-volume cache entries are backend volumes
without volume rows: they belong to the cache (its own start-up recovery checks them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from hearth import errors, messages
from hearth.context import RequestContext
from hearth.db import backends, image_cache, models, snapshots, statuses, volumes
from hearth.db.session import Database
from hearth.volume.drivers import base

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

HOLDS_DATA = frozenset(
    {
        statuses.VolumeStatus.AVAILABLE,
        statuses.VolumeStatus.EXTENDING,
        statuses.VolumeStatus.ERROR_EXTENDING,
        statuses.VolumeStatus.DELETING,
        statuses.VolumeStatus.ERROR_DELETING,
        *statuses.VOLUME_ATTACH_STATES,  # reserved, attaching, in-use, detaching
    }
)
SNAPSHOT_HOLDS_DATA = frozenset(
    {
        statuses.SnapshotStatus.AVAILABLE,
        statuses.SnapshotStatus.DELETING,
        statuses.SnapshotStatus.ERROR_DELETING,
    }
)
UNFINISHED = frozenset(
    {*statuses.CREATE_IN_PROGRESS, statuses.VolumeStatus.DELETING, statuses.VolumeStatus.EXTENDING}
)


@dataclass(frozen=True)
class Finding:
    """One disagreement between a backend and the database."""

    backend: str
    kind: str
    resource_id: str | None
    detail: str
    fixed: bool = False


def audit_backend(
    db: Database,
    driver: base.VolumeDriver,
    backend: str,
    *,
    fix: bool,
    stale_after: timedelta,
) -> list[Finding]:
    """The findings for one backend, each fixed first when ``fix`` (but ``unfinished``)."""
    with db.read() as session:
        rows = {v.id: v for v in volumes.find_all(session, host=backend)}
        snaps = {s.id: s for s in snapshots.find_on_host(session, backend, statuses=_ANY_SNAP)}
        # image-volume cache entries are backend volumes without volume rows, by design
        cached = {entry.id for entry in image_cache.find_all(session, host=backend)}
    held = set(driver.list_volumes()) - cached
    held_snaps = set(driver.list_snapshots())
    found = [
        *_orphans(db, driver, backend, held - rows.keys(), held_snaps - snaps.keys(), fix),
        *_missing_volumes(db, backend, [rows[i] for i in sorted(rows.keys() - held)], fix),
        *_missing_snapshots(
            db, backend, [snaps[i] for i in sorted(snaps.keys() - held_snaps)], fix
        ),
        *_unfinished(backend, rows.values(), stale_after),
    ]
    return [*found, *_capacity(db, backend, fix)]


_ANY_SNAP = tuple(statuses.SnapshotStatus)


def _orphans(
    db: Database,
    driver: base.VolumeDriver,
    backend: str,
    volume_ids: set[str],
    snapshot_ids: set[str],
    fix: bool,
) -> list[Finding]:
    found = []
    with db.read() as session:  # a row on another backend is still an orphan here
        claimed = {i for i in volume_ids if volumes.find(session, i) is not None}
    for volume_id in sorted(volume_ids):
        if fix:
            driver.delete_volume(base.VolumeRef(volume_id, 0))
        where = "a row on another backend" if volume_id in claimed else "no row"
        found.append(Finding(backend, "orphan volume", volume_id, f"data with {where}", fix))
    for snapshot_id in sorted(snapshot_ids):
        if fix:
            driver.delete_snapshot(base.SnapshotRef(snapshot_id, "", 0))
        found.append(Finding(backend, "orphan snapshot", snapshot_id, "data with no row", fix))
    return found


def _missing_volumes(
    db: Database, backend: str, rows: list[models.Volume], fix: bool
) -> list[Finding]:
    found = []
    for volume in rows:
        if volume.status not in HOLDS_DATA:
            continue
        if fix:
            _settle_missing_volume(db, volume)
        detail = f"the row is '{volume.status}' but the backend holds no data"
        found.append(Finding(backend, "missing volume data", volume.id, detail, fix))
    return found


def _settle_missing_volume(db: Database, volume: models.Volume) -> None:
    with db.transaction() as session:
        if volume.status in (
            statuses.VolumeStatus.DELETING,
            statuses.VolumeStatus.ERROR_DELETING,
        ):
            volumes.delete(session, volume.id)  # what the delete wanted is done
        else:
            volumes.set_status(session, volume.id, statuses.VolumeStatus.ERROR, host=None)
            _tell_owner(session, volume.project_id, volume.user_id, "VOLUME", volume.id)
        if volume.host is not None:
            backends.release(session, volume.host, volume.size)


def _missing_snapshots(
    db: Database, backend: str, rows: list[models.Snapshot], fix: bool
) -> list[Finding]:
    found = []
    for snapshot in rows:
        if snapshot.status not in SNAPSHOT_HOLDS_DATA:
            continue
        if fix:
            with db.transaction() as session:
                if snapshot.status == statuses.SnapshotStatus.AVAILABLE:
                    snapshots.set_status(session, snapshot.id, statuses.SnapshotStatus.ERROR)
                    _tell_owner(
                        session, snapshot.project_id, snapshot.user_id, "SNAPSHOT", snapshot.id
                    )
                else:
                    snapshots.delete(session, snapshot.id)  # what the delete wanted is done
        detail = f"the row is '{snapshot.status}' but the backend holds no data"
        found.append(Finding(backend, "missing snapshot data", snapshot.id, detail, fix))
    return found


def _unfinished(
    backend: str, rows: Iterable[models.Volume], stale_after: timedelta
) -> list[Finding]:
    cutoff = models.utcnow() - stale_after
    return [
        Finding(backend, "unfinished", v.id, f"'{v.status}' since {v.updated_at or v.created_at}")
        for v in rows
        if v.status in UNFINISHED and (v.updated_at or v.created_at) <= cutoff
    ]


def _capacity(db: Database, backend: str, fix: bool) -> list[Finding]:
    with db.read() as session:
        try:
            row = backends.get(session, backend)
        except errors.BackendNotFound:
            return []
        recorded = (row.allocated_capacity_gb, row.snapshot_capacity_gb)
        recounted = (
            backends.recount_allocated(session, backend),
            backends.recount_snapshots(session, backend),
        )
    if recorded == recounted:
        return []
    if fix:
        with db.transaction() as session:
            backends.recount(session, backend)
    details = []
    if recorded[0] != recounted[0]:
        details.append(f"{recorded[0]} GiB claimed, its volumes hold {recounted[0]} GiB")
    if recorded[1] != recounted[1]:
        details.append(f"{recorded[1]} GiB counted for snapshots, they hold {recounted[1]} GiB")
    return [Finding(backend, "capacity drift", None, "; ".join(details), fix)]


def _tell_owner(
    session: Session, project_id: str, user_id: str, kind: str, resource_id: str
) -> None:
    messages.record_failure(
        session,
        RequestContext(user_id=user_id, project_id=project_id),
        action=messages.Action.AUDIT,
        resource_type=kind,
        resource_id=resource_id,
        error=errors.BackendSourceMissing(kind=kind.lower(), source_id=resource_id),
    )
