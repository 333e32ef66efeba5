"""Life-cycle statuses of volumes, snapshots and backups, as the Block Storage API names them."""

from enum import StrEnum


class VolumeStatus(StrEnum):
    """Where a volume is in its life."""

    CREATING = "creating"
    DOWNLOADING = "downloading"
    AVAILABLE = "available"
    EXTENDING = "extending"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    ERROR_EXTENDING = "error_extending"
    BACKING_UP = "backing-up"
    """A backup of it is being made (``hearth.backup_service``); back to its previous
    status after."""
    RESTORING_BACKUP = "restoring-backup"
    """A backup is being written into it."""
    ERROR_RESTORING = "error_restoring"
    """A restore into it failed: its bytes are not the backup's (Cinder's status)."""
    RESERVED = "reserved"
    ATTACHING = "attaching"
    IN_USE = "in-use"
    DETACHING = "detaching"
    AWAITING_TRANSFER = "awaiting-transfer"
    """Offered to another project (``os-volume-transfer``) until accepted or withdrawn."""
    UPLOADING = "uploading"
    """Its bytes are being copied into a new image (``os-volume_upload_image``)."""
    RETYPING = "retyping"
    """Being moved to another backend for a new volume type (``os-retype``)."""
    MAINTENANCE = "maintenance"
    """Being moved by an administrator (``os-migrate_volume``), or set so by one."""
    REVERTING = "reverting"
    """Its data is being replaced by its latest snapshot's (``revert``, 3.40)."""


class SnapshotStatus(StrEnum):
    """Where a snapshot is in its life."""

    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    RESTORING = "restoring"
    """Its volume is being reverted to it."""


class BackupStatus(StrEnum):
    """Where a backup is in its life (as Cinder names them)."""

    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    RESTORING = "restoring"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"


class AttachStatus(StrEnum):
    """Where an attachment (and a volume's ``attach_status``) is: Cinder's attach statuses."""

    RESERVED = "reserved"
    """Made without a connector (``POST /attachments``, ``os-reserve``): nothing exported."""
    ATTACHING = "attaching"
    """A connector was given: the export is being made, or made and not yet completed."""
    ATTACHED = "attached"
    DETACHING = "detaching"
    """Its export is being removed."""
    DETACHED = "detached"
    """A volume's ``attach_status`` with no attachment (attachments are deleted)."""
    ERROR_ATTACHING = "error_attaching"
    ERROR_DETACHING = "error_detaching"


class ImageStatus(StrEnum):
    """Where an image is in its life (as the Image API names them)."""

    QUEUED = "queued"
    """Recorded, no data yet."""
    SAVING = "saving"
    """Its data is being received and inspected."""
    ACTIVE = "active"
    KILLED = "killed"
    """Its upload died with the process that received it."""
    DEACTIVATED = "deactivated"
    """Kept, but not to be used (nor downloaded) until an admin or its owner reactivates it."""


class CacheEntryStatus(StrEnum):
    """Where an image-volume cache entry is in its life."""

    POPULATING = "populating"
    """Being filled; never cloned. Left by a crash, it is discarded and rebuilt."""
    READY = "ready"
    EVICTING = "evicting"
    """Its volume is being deleted."""


# A create is under way: the row may not be deleted and its manager owns it.
CREATE_IN_PROGRESS = frozenset({VolumeStatus.CREATING, VolumeStatus.DOWNLOADING})
# Statuses from which a volume may be deleted.
VOLUME_DELETABLE = frozenset(
    {
        VolumeStatus.AVAILABLE,
        VolumeStatus.ERROR,
        VolumeStatus.ERROR_DELETING,
        VolumeStatus.ERROR_EXTENDING,
        VolumeStatus.ERROR_RESTORING,
    }
)
SNAPSHOT_DELETABLE = frozenset(
    {SnapshotStatus.AVAILABLE, SnapshotStatus.ERROR, SnapshotStatus.ERROR_DELETING}
)
BACKUP_DELETABLE = frozenset({BackupStatus.AVAILABLE, BackupStatus.ERROR})
# Statuses an admin's force-delete takes a backup from (not while data moves).
BACKUP_FORCE_DELETABLE = BACKUP_DELETABLE | {BackupStatus.DELETING, BackupStatus.ERROR_DELETING}
# Statuses of a volume that a backup may be made of (in-use only with force).
VOLUME_BACKUP_SOURCE = frozenset({VolumeStatus.AVAILABLE, "in-use"})
# Statuses a volume passes through while attached; its attachments decide which
# (``service.attaching``): outside them (``error``, ``extending``) no attach begins.
VOLUME_ATTACH_STATES = frozenset(
    {
        VolumeStatus.AVAILABLE,
        VolumeStatus.RESERVED,
        VolumeStatus.ATTACHING,
        VolumeStatus.IN_USE,
        VolumeStatus.DETACHING,
    }
)

# Statuses an administrator may set with os-reset_status (Cinder's, attachments' included).
VOLUME_RESETTABLE = frozenset(
    {*(status.value for status in VolumeStatus), "in-use", "attaching", "detaching", "reserved"}
)
SNAPSHOT_RESETTABLE = frozenset(status.value for status in SnapshotStatus)
# Migration statuses os-reset_status accepts ("none" clears it).
MIGRATION_RESETTABLE = frozenset({"none", "migrating", "completing", "success", "error"})
