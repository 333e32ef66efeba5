"""Volume sources: reading one from the rows, and one small creator per kind of source.

``ExtractVolumeSpecTask`` turns a volume row and its source's row into a :class:`VolumeSpec`
(:func:`read_spec`); ``CreateVolumeFromSpecTask`` looks its ``type`` up in :data:`CREATORS`
and calls the creator, which asks the driver to make the volume and returns the driver's
model update.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.db import images, models, snapshots, statuses, volumes
from hearth.db.session import Database
from hearth.image import cache, info
from hearth.volume.drivers import base
from hearth.volume.flows import backup_source, image_source

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class VolumeSpec:
    """Everything needed to create one volume, whatever its source."""

    type: str
    """One of the keys of :data:`CREATORS`: raw, snap, source_vol, image or backup."""
    volume: base.VolumeRef
    volume_name: str | None
    status: str
    """The volume's status when the create started."""
    source_snapshot: base.SnapshotRef | None = None
    source_volume: base.VolumeRef | None = None
    source_volstatus: str | None = None
    """The source volume's status when the create started (restored on revert)."""
    source_bootable: bool = False
    image_id: str | None = None
    image: info.ImageInfo | None = None
    """The image as it was when the create started (for the ``image`` type)."""
    backup_id: str | None = None
    backup_size: int | None = None
    """The backup's size in GiB (its volume's), for the ``backup`` type."""
    backup_status: str | None = None
    """The backup's status when the create started (``available``, or ``restoring``
    into this volume when the create is resumed or rescheduled)."""
    source_image_metadata: Mapping[str, Any] | None = dataclasses.field(default=None, hash=False)
    """The image metadata of the snapshot or source volume (None: it has none)."""

    def image_metadata(self) -> dict[str, Any] | None:
        """The image metadata the new volume records: the image's, or its source's (a
        clone, or a volume from a snapshot, carries what its source carries)."""
        if self.image is not None:
            return self.image.volume_metadata()
        if self.source_image_metadata is not None:
            return dict(self.source_image_metadata)
        return None


def read_spec(session: Session, row: models.Volume) -> VolumeSpec:
    """The spec of a ``creating`` volume row; a source that is missing, not ``available``
    or held by another backend raises here, before anything is made."""
    spec = VolumeSpec(
        type="raw",
        volume=base.VolumeRef(row.id, row.size, row.provider_location),
        volume_name=row.name,
        status=row.status,
        image_id=row.image_id,
        backup_id=row.backup_id,
    )
    if row.snapshot_id:
        return _with_snapshot(session, spec, row)
    if row.source_volid:
        return _with_source_volume(session, spec, row)
    if row.image_id:
        return _with_image(session, spec, row.image_id)
    if row.backup_id:
        return backup_source.spec_of(session, spec, row)
    return spec


def _with_snapshot(session: Session, spec: VolumeSpec, row: models.Volume) -> VolumeSpec:
    assert row.snapshot_id is not None
    snapshot = snapshots.get(session, row.snapshot_id)
    if snapshot.status != statuses.SnapshotStatus.AVAILABLE:
        raise errors.SourceNotAvailable(
            kind="Snapshot", source_id=snapshot.id, status=snapshot.status
        )
    parent = volumes.get(session, snapshot.volume_id)
    _check_same_backend(row, parent.host, "snapshot", snapshot.id)
    return dataclasses.replace(
        spec,
        type="snap",
        source_snapshot=base.SnapshotRef(
            snapshot.id, snapshot.volume_id, snapshot.volume_size, snapshot.provider_location
        ),
        source_bootable=parent.bootable,
        source_image_metadata=snapshot.volume_image_metadata,
    )


def _with_source_volume(session: Session, spec: VolumeSpec, row: models.Volume) -> VolumeSpec:
    assert row.source_volid is not None
    source = volumes.get(session, row.source_volid)
    if source.status != statuses.VolumeStatus.AVAILABLE:
        raise errors.SourceNotAvailable(kind="Volume", source_id=source.id, status=source.status)
    _check_same_backend(row, source.host, "volume", source.id)
    return dataclasses.replace(
        spec,
        type="source_vol",
        source_volume=base.VolumeRef(source.id, source.size, source.provider_location),
        source_volstatus=source.status,
        source_bootable=source.bootable,
        source_image_metadata=source.volume_image_metadata,
    )


def _with_image(session: Session, spec: VolumeSpec, image_id: str) -> VolumeSpec:
    image = images.find(session, image_id)
    if image is None:
        raise errors.ImageNotAvailable(image_id=image_id, reason="it was deleted")
    if image.status != statuses.ImageStatus.ACTIVE:
        raise errors.ImageNotAvailable(image_id=image_id, reason=f"its status is '{image.status}'")
    return dataclasses.replace(spec, type="image", image=info.from_row(image), source_bootable=True)


def _check_same_backend(row: models.Volume, source_host: str | None, kind: str, sid: str) -> None:
    if source_host != row.host:
        raise errors.Invalid(reason=f"the {kind} {sid} is held by another backend")


@dataclass(frozen=True)
class SourceTools:
    """What a creator may use: the backend's driver and, for images, the image cache, the
    image tools and the database (for the volume's status and progress); for backups,
    the backup repository."""

    driver: base.VolumeDriver
    image_volume_cache: Any | None = None
    images: image_source.ImageTools | None = None
    db: Database | None = None
    backups: backup_source.RepositoryFactory | None = None


Creator = Callable[[SourceTools, VolumeSpec], base.ModelUpdate | None]


def create_raw(tools: SourceTools, spec: VolumeSpec) -> base.ModelUpdate | None:
    """An empty volume."""
    return tools.driver.create_volume(spec.volume)


def create_from_snapshot(tools: SourceTools, spec: VolumeSpec) -> base.ModelUpdate | None:
    """A volume holding a snapshot's data (grown to the volume's size)."""
    assert spec.source_snapshot is not None, "ExtractVolumeSpecTask fills source_snapshot"
    return tools.driver.create_volume_from_snapshot(spec.volume, spec.source_snapshot)


def create_from_source_volume(tools: SourceTools, spec: VolumeSpec) -> base.ModelUpdate | None:
    """An independent copy of another volume (grown to the volume's size)."""
    assert spec.source_volume is not None, "ExtractVolumeSpecTask fills source_volume"
    return tools.driver.create_cloned_volume(spec.volume, spec.source_volume)


def create_from_image(tools: SourceTools, spec: VolumeSpec) -> base.ModelUpdate | None:
    """A volume holding an image's disk (``image_source``: driver, cache, download)."""
    assert spec.image is not None, "ExtractVolumeSpecTask fills image"
    if tools.images is None or tools.db is None:  # a manager built without image tools
        raise errors.SourceNotSupported(source="an image on this backend")
    image_cache = tools.image_volume_cache
    return image_source.create_volume(
        image_source.Request(
            driver=tools.driver,
            tools=tools.images,
            db=tools.db,
            volume=spec.volume,
            image=spec.image,
            cache=image_cache if isinstance(image_cache, cache.ImageVolumeCache) else None,
        )
    )


def create_from_backup(tools: SourceTools, spec: VolumeSpec) -> base.ModelUpdate | None:
    """A volume holding a backup's data (``backup_source``: restored, grown to its size)."""
    assert spec.backup_id is not None, "ExtractVolumeSpecTask fills backup_id"
    if tools.backups is None or tools.db is None:  # a manager built without a repository
        raise errors.SourceNotSupported(source="a backup on this backend")
    return backup_source.create_volume(
        tools.driver, tools.db, tools.backups, spec.volume, spec.backup_id
    )


CREATORS: dict[str, Creator] = {
    "raw": create_raw,
    "snap": create_from_snapshot,
    "source_vol": create_from_source_volume,
    "image": create_from_image,
    "backup": create_from_backup,
}


def creator_for(spec: VolumeSpec) -> Creator:
    """The creator of a spec's type; an unknown type is a terminal error."""
    try:
        return CREATORS[spec.type]
    except KeyError:
        raise errors.SourceNotSupported(source=f"a source of type {spec.type!r}") from None
