"""Tables of Hearth's database (SQLAlchemy 2 declarative models).

Everything above ``hearth.db`` reaches these rows through the repository modules
(``volumes``, ``snapshots``, ...). Sessions use ``expire_on_commit=False``, so a row read in
one transaction stays readable as a plain value after it; writes always go through a
repository call by id, never by mutating a detached row.

Every schema change here comes with an Alembic revision in ``migrations/versions``; a test
checks that the two agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new resource id (UUID4 text, as OpenStack uses)."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on every database (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use models.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with Hearth's column types."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Volume(Base):
    """A volume: its request, its placement and its life-cycle status."""

    __tablename__ = "volumes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    """Size in GiB."""
    status: Mapped[str] = mapped_column(String(32), index=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    """Name of the backend that holds (or is creating) the volume."""
    availability_zone: Mapped[str] = mapped_column(String(255))
    volume_type_id: Mapped[str | None] = mapped_column(ForeignKey("volume_types.id"))
    volume_type: Mapped[VolumeType | None] = relationship(lazy="raise")
    """Loaded only when asked for (``volumes.get(..., with_type=True)``): the create path
    never needs it and a join on every read costs."""
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    backup_id: Mapped[str | None] = mapped_column(String(36))
    provider_location: Mapped[str | None] = mapped_column(String(255))
    volume_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)
    scheduled_at: Mapped[datetime | None]
    launched_at: Mapped[datetime | None]
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    """How many times a create of this volume was sent back to the scheduler."""
    last_reschedule_cause: Mapped[str | None] = mapped_column(Text)
    backends_tried: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The backends its create failed on, written with ``reschedule_count``: a create
    placed again after its message was lost must not go back to them."""
    create_step: Mapped[str | None] = mapped_column(String(16))
    """How far the create got, written with the change it names: ``scheduled`` (host
    claimed), ``started`` (create.start queued), ``made`` (the backend holds the complete
    volume and its model update is stored). Read by reconciliation after a crash."""
    create_resumes: Mapped[int] = mapped_column(Integer, default=0)
    """How many times reconciliation resumed this create (bounded: a create that kills
    its manager must not do so forever)."""
    volume_image_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """For a volume made from an image: the image's id, name, checksum, formats, min_disk,
    min_ram and size, recorded when the create succeeded."""
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """While a create copies data: ``{"phase", "done", "total"}`` (bytes), else None."""
    attach_status: Mapped[str] = mapped_column(String(16), default="detached")
    """``detached``, ``reserved``, ``attaching``, ``attached`` or ``detaching``: what its
    attachments add up to, written with ``status`` (``service.attaching``)."""
    attachments: Mapped[list[Attachment]] = relationship(lazy="raise", viewonly=True)
    """Loaded only with the views' reads (``volumes.get(..., with_type=True)``, lists)."""
    readonly: Mapped[bool | None] = mapped_column(Boolean)
    """Set by ``os-update_readonly_flag`` (None: never set); shown as the ``readonly``
    metadata item ("True"/"False") once set, as Cinder shows its admin metadata."""
    migration_status: Mapped[str | None] = mapped_column(String(32))
    """A move to another backend (retype or migrate): ``migrating`` while the target
    copies, ``completing`` while the source's copy is removed, then ``success`` or
    ``error``; None when never moved. Read by reconciliation after a crash."""
    migration_host: Mapped[str | None] = mapped_column(String(255))
    """While migrating: the target backend (it holds a claim of the size); while
    completing: the source backend whose copy is still to remove."""
    migration_type_id: Mapped[str | None] = mapped_column(String(36))
    """While migrating for a retype: the volume type the volume gets when it is moved."""
    migration_return_status: Mapped[str | None] = mapped_column(String(32))
    """While migrating: the status the volume returns to (``available``)."""


class Snapshot(Base):
    """A point-in-time copy of a volume, held on the volume's backend."""

    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    volume_size: Mapped[int] = mapped_column(Integer)
    """Size of the volume when the snapshot was taken, in GiB."""
    status: Mapped[str] = mapped_column(String(32), index=True)
    provider_location: Mapped[str | None] = mapped_column(String(255))
    snapshot_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    volume_image_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Its volume's image metadata when the snapshot was taken (None: the volume had
    none); a volume made from the snapshot records it (Cinder copies its
    ``volume_glance_metadata`` to snapshots)."""
    progress: Mapped[str | None] = mapped_column(String(255))
    """What ``os-update_snapshot_status`` last reported (e.g. ``80%``), else None."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class Backup(Base):
    """A backup of a volume: its request and status; its data is a manifest and chunks in
    the backup repository (``hearth.backup``), found by the backup's id."""

    __tablename__ = "backups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    """The backed-up volume; no foreign key: a backup outlives its volume."""
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    """The snapshot backed up instead of the volume's current data, if one was named."""
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    """The backup this incremental one builds on (None: a full backup)."""
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    """Size of the backed-up volume, in GiB: a volume restored from it holds at least that."""
    status: Mapped[str] = mapped_column(String(32), index=True)
    fail_reason: Mapped[str | None] = mapped_column(Text)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    container: Mapped[str | None] = mapped_column(String(255))
    """The repository the backup is in (the backup driver's name for it)."""
    host: Mapped[str | None] = mapped_column(String(255))
    """The backup service that made (or is making) it."""
    service: Mapped[str | None] = mapped_column(String(255))
    """The backup driver that holds its data (e.g. ``posix``)."""
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    """Chunks its manifest references."""
    data_timestamp: Mapped[datetime | None]
    """When its data was taken (the snapshot's time for a backup of a snapshot)."""
    restore_volume_id: Mapped[str | None] = mapped_column(String(36))
    """While ``restoring``: the volume being written."""
    temp_snapshot_path: Mapped[str | None] = mapped_column(String(1024))
    """While ``creating``: the temporary snapshot being read, removed at the end (and by
    recovery after a crash); while ``restoring``: the temporary file being written."""
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """While data moves: ``{"phase", "done", "total"}`` (bytes), else None."""
    backup_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)
    volume_previous_status: Mapped[str | None] = mapped_column(String(32))
    """While ``creating``: the status the volume (``backing-up`` meanwhile) returns to."""


class BackupService(Base):
    """A backup service as it last reported itself (its heartbeat)."""

    __tablename__ = "backup_services"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    availability_zone: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    """The name of the repository it writes to (``[backup] driver``)."""
    reported_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VolumeType(Base):
    """A named class of volumes; its extra specs steer scheduling and drivers."""

    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class UserMessage(Base):
    """A failure explained to the user who caused it (OpenStack's "user messages")."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    request_id: Mapped[str | None] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail_code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16), default="ERROR")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


class OutboxEntry(Base):
    """A notification waiting to be delivered, written with the change it reports."""

    __tablename__ = "notification_outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    """Delivery order."""
    message_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    event_type: Mapped[str] = mapped_column(String(255))
    priority: Mapped[str] = mapped_column(String(16))
    publisher_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Backend(Base):
    """A storage backend as its manager last reported it."""

    __tablename__ = "backends"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    driver: Mapped[str] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(255))
    clone_mode: Mapped[str] = mapped_column(String(32))
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    free_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    provisioned_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    """Sum of the sizes of the volumes and snapshots the backend holds."""
    allocated_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    """Bytes really allocated on the backend's storage for them."""
    capacity_limit_gb: Mapped[int] = mapped_column(Integer, default=0)
    """The most volume GiB the scheduler may place here (over-subscription and reserve
    applied), as the manager last computed it."""
    allocated_capacity_gb: Mapped[int] = mapped_column(Integer, default=0)
    """GiB claimed by the volumes placed here: the sum of the sizes of volume rows whose
    host is this backend. Changed only by claims and releases, never by reports."""
    snapshot_capacity_gb: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """GiB of the snapshot rows of the volumes placed here (their ``volume_size``), counted
    in the transactions that insert and delete those rows; with ``allocated_capacity_gb``
    it is what a capacity report calls provisioned, without reading any other row."""
    reported_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Image(Base):
    """An image in the store: its metadata; its bytes are a file under the image directory."""

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    """The project that registered the image."""
    visibility: Mapped[str] = mapped_column(String(16))
    """private (its owner only) or public (every project)."""
    disk_format: Mapped[str] = mapped_column(String(16))
    container_format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    """Bytes of the stored file."""
    checksum: Mapped[str | None] = mapped_column(String(32))
    """MD5 of the stored file, hex (Glance's ``checksum``)."""
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    """The stored file's hash with ``os_hash_algo`` (sha256), hex; verified at the first use in
    each process and after any change to the file (``hearth.image.fetch``)."""
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    """Bytes of the disk the image describes (what a volume must hold)."""
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    """GiB a volume made from it needs at least."""
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    """MiB of memory an instance booted from it needs (recorded, not enforced here)."""
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class ImageCacheEntry(Base):
    """A converted image held on one backend as a hidden volume, cloned by creates.

    The entry's id is the id of the backend volume that holds the raw image; no volume row
    exists for it, so users never see it nor count it as theirs.
    """

    __tablename__ = "image_cache_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    host: Mapped[str] = mapped_column(String(255), index=True)
    image_id: Mapped[str] = mapped_column(String(36), index=True)
    image_checksum: Mapped[str] = mapped_column(String(128))
    """The image's hash when the entry was made: a different hash now makes it stale."""
    image_updated_at: Mapped[datetime]
    """The image's ``updated_at`` when the entry was made: a change makes it stale."""
    size: Mapped[int] = mapped_column(Integer)
    """Size of the entry's volume in GiB."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    in_use: Mapped[int] = mapped_column(Integer, default=0)
    """Creates cloning it right now: never evicted while above zero."""
    last_used: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class IdempotencyKey(Base):
    """A create remembered by the ``Idempotency-Key`` its client sent, so that a retry
    returns the resource the first request made instead of making another."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("project_id", "key", name="uq_idempotency_keys_project_key"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the request as the API received it: a retry must match it."""
    resource_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Attachment(Base):
    """A volume attached (or being attached) to one consumer: its connector, its export
    on the volume's backend and the ``connection_info`` that reaches it."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    """The volume's backend, whose manager makes and removes the export."""
    status: Mapped[str] = mapped_column(String(32), index=True)
    """``reserved``, ``attaching``, ``attached``, ``detaching``, ``error_attaching``,
    ``error_detaching`` (a detached attachment has no row)."""
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    """The consumer's host name (the connector's ``host``)."""
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_mode: Mapped[str] = mapped_column(String(8), default="rw")
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the consumer connects with (os-brick's shape); set once the export exists,
    and what the export is re-created from after a restart."""
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    """Made by the older volume actions (``os-reserve``/``os-initialize_connection``)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    """Why the last export or unexport failed (the user message's text)."""
    attached_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class VolumeTypeAccess(Base):
    """A project given access to a private volume type (``os-volume-type-access``)."""

    __tablename__ = "volume_type_projects"

    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EncryptionType(Base):
    """How the volumes of a type are to be encrypted (stored and shown, not yet applied)."""

    __tablename__ = "volume_type_encryption"

    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"), primary_key=True)
    encryption_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    provider: Mapped[str] = mapped_column(String(255))
    cipher: Mapped[str | None] = mapped_column(String(255))
    key_size: Mapped[int | None] = mapped_column(Integer)
    control_location: Mapped[str] = mapped_column(String(16), default="front-end")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


# Operator resources (quotas, services, QoS specs): migration 0011.


class QuotaLimit(Base):
    """A project's own limit of one quota resource, overriding the default class's."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource", name="uq_quotas_project"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(300))
    hard_limit: Mapped[int] = mapped_column(BigInteger)
    """-1: unlimited."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class QuotaClassLimit(Base):
    """A quota class's limit of one resource; the class ``default`` holds every project's
    defaults (over ``[quotas]`` of the settings)."""

    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource", name="uq_quota_classes_class"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    class_name: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(300))
    hard_limit: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class QuotaUsage(Base):
    """What a project uses of one resource: ``in_use`` counts its rows (changed in the
    transaction that inserts or deletes them), ``reserved`` the growth of operations under
    way (the sum of its reservations)."""

    __tablename__ = "quota_usages"
    __table_args__ = (UniqueConstraint("project_id", "resource", name="uq_quota_usages_project"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(300))
    in_use: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class QuotaReservation(Base):
    """Quota held by an operation under way (an extend's growth), committed into
    ``in_use`` or released with its outcome, in the transaction that records it."""

    __tablename__ = "quota_reservations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(300))
    delta: Mapped[int] = mapped_column(BigInteger)
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    """The volume (or snapshot, backup) whose operation holds it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceRow(Base):
    """A Hearth process role as the os-services API shows it: scheduler, one volume
    backend, backup; its heartbeat and the operator's switches."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("binary", "host", name="uq_services_binary_host"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    binary: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    """The backend's name for ``cinder-volume``; the machine's name for the others."""
    availability_zone: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    log_levels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Logger prefix -> level asked for with set-log; each process applies its own."""
    reported_at: Mapped[datetime | None]
    """The last heartbeat."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class QosSpecs(Base):
    """Named quality-of-service specs (IOPS, bytes per second) for volume types."""

    __tablename__ = "qos_specs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    consumer: Mapped[str] = mapped_column(String(16))
    """front-end (the attaching host enforces), back-end (the backend), or both."""
    specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class QosAssociation(Base):
    """A volume type's QoS specs (a type has at most one)."""

    __tablename__ = "qos_associations"

    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    qos_specs_id: Mapped[str] = mapped_column(ForeignKey("qos_specs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VolumeTransfer(Base):
    """An offer to give a volume (and its snapshots) to whichever project presents the
    transfer's id and key; only a salted hash of the key is kept."""

    __tablename__ = "volume_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    """The giving project."""
    name: Mapped[str | None] = mapped_column(String(255))
    salt: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of salt + key, hex."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Lists page through volumes in their default order (newest first) with a marker: these
# indexes give a page of ``limit`` rows without sorting all of a project's (or, for an
# admin's list of every project, all) volumes.
Index("ix_volumes_project_created", Volume.project_id, Volume.created_at, Volume.id)
Index("ix_volumes_created", Volume.created_at, Volume.id)


class DefaultVolumeType(Base):
    """A project's own default volume type (microversion 3.62)."""

    __tablename__ = "default_volume_types"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)
