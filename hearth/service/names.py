"""Finding a volume, a snapshot or a backup by id or by name, as people name them in a shell.

The CLI and library callers that take "a volume" accept its id or a name that exactly one
visible volume has (the caller's project's; any project's for admins), as images already
are (``image_requests.find``) and volume types (their names are unique). The HTTP API keeps
Cinder's ids in its URLs and does not call these. A shared name is ``AmbiguousName`` listing
the ids to choose from; nothing found is the resource's NotFound, or, when the caller says
which ``field`` (a CLI option) gave the value, ``InvalidReference`` naming that field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from hearth import errors
from hearth.context import RequestContext
from hearth.db import backups, models, snapshots, volumes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Row = TypeVar("Row", models.Volume, models.Snapshot, models.Backup)
OLDEST_FIRST = [("created_at", False)]


def volume(
    session: Session, context: RequestContext, id_or_name: str, *, field: str | None = None
) -> models.Volume:
    """The volume with this id, else the one visible volume with this name."""
    scope = context.visible_project
    found = volumes.find(session, id_or_name, project_id=scope, with_type=True)
    if found is not None:
        return found
    named = volumes.find_all(session, project_id=scope, name=id_or_name, with_type=True)
    if not named:
        if field is not None:
            raise errors.InvalidReference(field=field, kind="Volume", value=id_or_name)
        raise errors.VolumeNotFound(volume_id=id_or_name)
    return _only(named, "volume", id_or_name, field)


def snapshot(
    session: Session, context: RequestContext, id_or_name: str, *, field: str | None = None
) -> models.Snapshot:
    """The snapshot with this id, else the one visible snapshot with this name."""
    scope = context.visible_project
    found = snapshots.find(session, id_or_name, project_id=scope)
    if found is not None:
        return found
    named = snapshots.find_page(
        session, OLDEST_FIRST, project_id=scope, filters={"name": id_or_name}
    )
    if not named:
        if field is not None:
            raise errors.InvalidReference(field=field, kind="Snapshot", value=id_or_name)
        raise errors.SnapshotNotFound(snapshot_id=id_or_name)
    return _only(named, "snapshot", id_or_name, field)


def backup(
    session: Session, context: RequestContext, id_or_name: str, *, field: str | None = None
) -> models.Backup:
    """The backup with this id, else the one visible backup with this name."""
    scope = context.visible_project
    found = backups.find(session, id_or_name, project_id=scope)
    if found is not None:
        return found
    named = backups.find_page(session, OLDEST_FIRST, project_id=scope, filters={"name": id_or_name})
    if not named:
        if field is not None:
            raise errors.InvalidReference(field=field, kind="Backup", value=id_or_name)
        raise errors.BackupNotFound(backup_id=id_or_name)
    return _only(named, "backup", id_or_name, field)


def _only(named: Sequence[Row], kind: str, name: str, field: str | None) -> Row:
    if len(named) > 1:
        raise errors.AmbiguousName(
            field=field or kind,
            kind=kind,
            count=len(named),
            name=name,
            ids=", ".join(row.id for row in named),
        )
    return named[0]
