"""Request checks for moving a volume to another backend: ``os-retype`` (a new volume type,
with ``migration_policy`` ``never`` or ``on-demand``) and ``os-migrate_volume``
(administrators, to a named backend).

A retype whose type the volume's backend still matches changes the type at once. One that
only another backend matches is refused with ``never``; with ``on-demand`` the target is
chosen with the scheduler's filters and weighers (fresh, in the volume's zone, matching the
type, with room), its size claimed there, and the volume journalled as ``migrating`` to it
(``retyping``; a migration: ``maintenance``), all in one transaction; the facade then casts
``migrate_volume`` to the target's manager (``hearth.volume.migration`` moves the data).
A volume with snapshots cannot move: its snapshots live on its backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import backends, models, snapshots, statuses, volume_types, volumes
from hearth.scheduler import filters, weighers
from hearth.service import fields
from hearth.service.volume_actions import require_admin

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Status = statuses.VolumeStatus
POLICIES = ("never", "on-demand")
MIGRATING = "migrating"


@dataclass(frozen=True)
class Move:
    """A migration begun: the volume and the backend its data goes to."""

    volume_id: str
    target: str


def retype(
    session: Session,
    context: RequestContext,
    volume_id: str,
    arguments: Mapping[str, Any],
    settings: config.SchedulerSettings,
) -> Move | None:
    """Check a retype; change the type in place (None), or begin a migration (a Move)."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    new_type = _volume_type(session, arguments.get("new_type"))
    policy = arguments.get("migration_policy", "never")
    if policy not in POLICIES:
        raise errors.InvalidInput(field="migration_policy", reason=f"must be one of {POLICIES}")
    if new_type.id == volume.volume_type_id:
        raise errors.InvalidInput(field="new_type", reason="the volume already has this type")
    _require_movable(volume, "retype")
    current = backends.find_all(session)
    here = [row for row in current if row.name == volume.host]
    request = _placement(volume, new_type, settings)
    if here and filters.has_capabilities(_state(here[0]), request):
        volumes.update(session, volume_id, volume_type_id=new_type.id)
        return None
    if policy == "never":
        raise errors.InvalidInput(
            field="migration_policy",
            reason=f"the volume's backend does not match type {new_type.name!r}; "
            "retype with 'on-demand' to move the volume to a backend that does",
        )
    _require_no_snapshots(session, volume)
    states = [_state(row) for row in current]
    for target in weighers.order(filters.select(states, request), settings.weigher):
        if backends.claim(session, target.name, volume.size):
            _journal(session, volume, Status.RETYPING, target.name, new_type.id)
            return Move(volume_id, target.name)
    raise errors.NoValidBackend(reason=f"no backend has room for {volume.size} GiB")


def migrate(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> Move:
    """Check an administrator's migration to the backend ``host`` names, claim the size
    there and begin it."""
    require_admin(context, "migrate a volume")
    volume = volumes.get_for_update(session, volume_id)
    target = backend_name(fields.text("host", arguments.get("host")))
    for name in ("force_host_copy", "lock_volume"):
        if name in arguments and not isinstance(arguments[name], bool | str):
            raise errors.InvalidInput(field=name, reason="must be a boolean")
    backends.get(session, target)  # BackendNotFound (404) for a backend never seen
    if target == volume.host:
        raise errors.InvalidInput(field="host", reason="the volume is already on that backend")
    _require_movable(volume, "migrate")
    _require_no_snapshots(session, volume)
    if not backends.claim(session, target, volume.size):
        raise errors.CapacityExceeded(backend=target, size=volume.size)
    _journal(session, volume, Status.MAINTENANCE, target, None)
    return Move(volume_id, target)


def backend_name(host: str) -> str:
    """The backend a Cinder host string names: ``host@backend#pool`` or a backend name."""
    return host.partition("#")[0].rpartition("@")[2]


def _journal(
    session: Session, volume: models.Volume, status: str, target: str, type_id: str | None
) -> None:
    volumes.set_status(
        session,
        volume.id,
        status,
        expected=[Status.AVAILABLE],
        migration_status=MIGRATING,
        migration_host=target,
        migration_type_id=type_id,
        migration_return_status=volume.status,
    )


def _require_movable(volume: models.Volume, action: str) -> None:
    if volume.status != Status.AVAILABLE or volume.host is None:
        raise errors.InvalidStatus(
            action=action, kind="volume", resource_id=volume.id, status=volume.status
        )
    if volume.migration_status == MIGRATING:
        raise errors.InvalidStatus(
            action=action, kind="volume", resource_id=volume.id, status="migrating"
        )


def _require_no_snapshots(session: Session, volume: models.Volume) -> None:
    count = snapshots.count_for_volume(session, volume.id)
    if count:
        raise errors.Conflict(
            reason=f"Cannot move volume {volume.id} to another backend: it has {count} snapshot(s)"
        )


def _volume_type(session: Session, value: Any) -> models.VolumeType:
    name = fields.text("new_type", value)
    found = volume_types.find(session, name)
    if found is None:
        raise errors.VolumeTypeNotFound(volume_type=name)
    return found


def _placement(
    volume: models.Volume, new_type: models.VolumeType, settings: config.SchedulerSettings
) -> filters.PlacementRequest:
    return filters.PlacementRequest(
        size_gb=volume.size,
        availability_zone=volume.availability_zone,
        extra_specs=new_type.extra_specs,
        volume_type=new_type.name,
        tried=frozenset({volume.host} if volume.host else ()),
        source_host=None,
        now=models.utcnow(),
        down_after=timedelta(seconds=settings.backend_down_after),
    )


def _state(row: models.Backend) -> filters.BackendState:
    return filters.BackendState(
        name=row.name,
        availability_zone=row.availability_zone,
        capabilities=row.capabilities,
        capacity_limit_gb=row.capacity_limit_gb,
        allocated_capacity_gb=row.allocated_capacity_gb,
        free_bytes=row.free_bytes,
        reported_at=row.reported_at,
    )
