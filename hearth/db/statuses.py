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


class SnapshotStatus(StrEnum):
    """Where a snapshot is in its life."""

    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"


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
    }
)
SNAPSHOT_DELETABLE = frozenset(
    {SnapshotStatus.AVAILABLE, SnapshotStatus.ERROR, SnapshotStatus.ERROR_DELETING}
)
