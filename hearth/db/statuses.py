"""Life-cycle statuses of volumes and snapshots, as the Block Storage API names them."""

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


class ImageStatus(StrEnum):
    """Where an image is in its life (as the Image API names them)."""

    QUEUED = "queued"
    """Recorded, no data yet."""
    SAVING = "saving"
    """Its data is being received and inspected."""
    ACTIVE = "active"
    KILLED = "killed"
    """Its upload died with the process that received it."""


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
    }
)
SNAPSHOT_DELETABLE = frozenset(
    {SnapshotStatus.AVAILABLE, SnapshotStatus.ERROR, SnapshotStatus.ERROR_DELETING}
)

# Statuses an administrator may set with os-reset_status (Cinder's, attachments' included).
VOLUME_RESETTABLE = frozenset(
    {*(status.value for status in VolumeStatus), "in-use", "attaching", "detaching", "reserved"}
)
SNAPSHOT_RESETTABLE = frozenset(status.value for status in SnapshotStatus)
# Migration statuses os-reset_status accepts ("none" clears it).
MIGRATION_RESETTABLE = frozenset({"none", "migrating", "completing", "success", "error"})
