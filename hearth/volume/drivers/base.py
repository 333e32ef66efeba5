"""The driver interface: what Hearth asks of one storage backend, and all it may ask.

Drivers sit at the bottom of the data path: ``CreateVolumeFromSpecTask`` and the manager
call them with plain value objects (never database rows) and persist what they return; the
composition root (``hearth.service.wiring``) is the only code that builds them, and
everything above reaches a driver through :class:`VolumeDriver` alone, never by its class
or by probing for methods. One module per backend (``file.py``, ``rbd.py``), each
importing this interface and no other driver (``.importlinter`` holds it).

Every driver obeys these rules, and the shared contract suite in ``tests/contract`` checks
them on every driver:

- A volume or snapshot becomes visible on the backend only when it is complete: a crash
  mid-create leaves nothing that ``volume_exists`` or the listings report, and what it does
  leave is removed by :meth:`VolumeDriver.remove_partial_files` at the next start.
- Create methods return a :class:`ModelUpdate` (fields to store on the row) or None.
- Delete methods accept something that is already gone (a revert may run after a partial
  create, or twice).
- Image data, and a backup's data (a create from a backup), enter a volume only through
  :meth:`VolumeDriver.copy_image_to_volume`, which keeps the first rule: the volume appears
  only once its data is completely written.
- Ids are UUIDs; a driver that builds names from them refuses anything else with
  ``InvalidInput`` rather than touch another name.
- Failures are raised as :class:`hearth.errors.BackendError` subclasses (``BackendFull``
  when out of space, ``BackendSourceMissing`` when the volume or snapshot to read is not
  there); a request the backend refuses as given is ``Invalid``. OS and subprocess errors
  never escape a driver untranslated (``errors.from_os_error``), and messages never
  include host paths.
- What a backend cannot do at all raises :class:`hearth.errors.NotSupportedByBackend`;
  optional abilities have such a default (:meth:`VolumeDriver.local_path`) or a default
  that declines (:meth:`VolumeDriver.clone_image`).
- Only the process serving a backend calls :meth:`VolumeDriver.do_setup` and the methods
  that change data during normal work. Another process (the audit, ``hearth volume path``)
  may build a driver for the same backend and, without setting it up, list it, ask for a
  local path and, once reconciled, delete orphans: those must work on a backend that
  another process set up.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth import errors
from hearth.image import convert, info

GiB = 1 << 30


@dataclass(frozen=True)
class VolumeRef:
    """The identity and size of a volume, as a driver needs them."""

    id: str
    size_gb: int
    provider_location: str | None = None

    @property
    def size_bytes(self) -> int:
        """The size in bytes."""
        return self.size_gb * GiB


@dataclass(frozen=True)
class SnapshotRef:
    """The identity of a snapshot and of the volume it was taken from."""

    id: str
    volume_id: str
    volume_size_gb: int
    provider_location: str | None = None


@dataclass(frozen=True)
class ExportRef:
    """One attachment's export of a volume to one consumer."""

    attachment_id: str
    volume: VolumeRef
    connector: Mapping[str, Any] = field(default_factory=dict)
    """The consumer's connector as os-brick builds it (``initiator``, ``host``, ``ip``...)."""
    access_mode: str = "rw"
    connection_info: Mapping[str, Any] | None = None
    """What an earlier export of this attachment returned: make the same export again
    (same target name, same credentials), e.g. after the target restarted."""


@dataclass(frozen=True)
class ModelUpdate:
    """Fields a driver asks the manager to store on the volume or snapshot row."""

    provider_location: str | None = None


@dataclass(frozen=True)
class BackendStats:
    """Capacity of a backend, in bytes, and how it copies data."""

    total_bytes: int
    free_bytes: int
    provisioned_bytes: int
    """Sum of the sizes of the volumes and snapshots it holds."""
    allocated_bytes: int
    """Bytes its storage really spends on them (thin volumes spend less than their size)."""
    clone_mode: str
    """How clones and snapshots are made: ``reflink`` (constant time) or ``copy``."""
    thin_provisioning: bool = True
    capabilities: Mapping[str, Any] = field(default_factory=dict)
    """What the driver reports of itself for volume types to match (as Cinder's drivers
    do: ``storage_protocol``, ``multiattach``...); the backend section's own win."""


@dataclass(frozen=True)
class SpaceStats:
    """Room on a backend's storage, in bytes: what a frequent capacity report needs."""

    total_bytes: int
    free_bytes: int


class VolumeDriver(abc.ABC):
    """One storage backend. Methods are called from several threads at once, for
    different volumes; a driver must not assume one operation at a time."""

    driver_name: str = "abstract"

    @abc.abstractmethod
    def do_setup(self) -> None:
        """Prepare the backend (directories, probes); raise BackendError if unusable, or
        ConfigError if its settings ask for what it cannot do."""

    @abc.abstractmethod
    def remove_partial_files(self) -> list[str]:
        """Remove what operations that never finished left on the backend (temporary
        files, half-written images) and return their names, for the log.

        The manager calls it once at start-up, after :meth:`do_setup`, holding the
        backend's lock and before any other operation: nothing runs on the backend
        meanwhile. It never removes a complete volume or snapshot. A backend whose
        operations leave nothing behind returns []. Abstract, not defaulted: a driver that
        forgot it would leak space after every crash and no other check would notice.
        """

    @abc.abstractmethod
    def create_volume(self, volume: VolumeRef) -> ModelUpdate | None:
        """Create an empty volume of ``volume.size_gb`` GiB that reads as zeros."""

    @abc.abstractmethod
    def create_volume_from_snapshot(
        self, volume: VolumeRef, snapshot: SnapshotRef
    ) -> ModelUpdate | None:
        """Create a volume holding the snapshot's data; ``volume.size_gb`` may be larger
        than the snapshot (the rest reads as zeros), never smaller."""

    @abc.abstractmethod
    def create_cloned_volume(self, volume: VolumeRef, src_vref: VolumeRef) -> ModelUpdate | None:
        """Create an independent copy of ``src_vref``; same size rule as from a snapshot."""

    def clone_image(self, volume: VolumeRef, image: info.ImageInfo) -> ModelUpdate | None:
        """Make the volume from the image by the backend's own means (e.g. a backend that
        stores images itself clones them in place), or return None to decline, and the
        image is fetched and converted instead. Declining is the default."""
        return None

    @abc.abstractmethod
    def copy_image_to_volume(
        self, volume: VolumeRef, write: Callable[[convert.Target], None]
    ) -> ModelUpdate | None:
        """Create the volume holding what ``write`` puts into it.

        The driver makes new, not yet visible data of exactly ``volume.size_gb`` GiB that
        reads as zeros (a temporary file, a temporary RBD image) and calls ``write`` with
        its :class:`hearth.image.convert.Target`; ``write`` fills it in place (``qemu-img
        convert -n``, straight into the backend: no staging copy) and must not grow it. A
        write into a local file may truncate it and write it afresh (a restore from a
        backup does), as long as it ends at the volume's size. When ``write`` returns, the
        driver makes the data durable and the volume visible; when ``write`` raises, its
        error propagates and nothing of the volume remains. Data grown past the volume's
        size raises Invalid.
        """

    @abc.abstractmethod
    def delete_volume(self, volume: VolumeRef) -> None:
        """Remove the volume's data. A volume that does not exist is not an error."""

    @abc.abstractmethod
    def create_snapshot(self, snapshot: SnapshotRef) -> ModelUpdate | None:
        """Capture the current data of ``snapshot.volume_id``."""

    @abc.abstractmethod
    def delete_snapshot(self, snapshot: SnapshotRef) -> None:
        """Remove the snapshot's data. A snapshot that does not exist is not an error."""

    def revert_to_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> None:
        """Make the volume hold its snapshot's data again (same size), all at once: a crash
        leaves either the old data or the snapshot's, never a mix. Optional: the default
        raises :class:`hearth.errors.NotSupportedByBackend`."""
        raise errors.NotSupportedByBackend(
            driver=self.driver_name, operation="revert a volume to a snapshot"
        )

    @abc.abstractmethod
    def extend_volume(self, volume: VolumeRef, new_size_gb: int) -> None:
        """Grow the volume to ``new_size_gb`` GiB, keeping its data."""

    @abc.abstractmethod
    def volume_size(self, volume: VolumeRef) -> int | None:
        """Bytes of the complete volume with this id the backend holds; None if none."""

    @abc.abstractmethod
    def list_volumes(self) -> list[str]:
        """Ids of the complete volumes the backend holds (for audits)."""

    @abc.abstractmethod
    def list_snapshots(self) -> list[str]:
        """Ids of the complete snapshots the backend holds (for audits)."""

    def volume_exists(self, volume: VolumeRef) -> bool:
        """Whether the backend holds a complete volume with this id."""
        return self.volume_size(volume) is not None

    @abc.abstractmethod
    def get_stats(self) -> BackendStats:
        """Current capacity and usage (it may walk every volume: the manager calls it at
        start-up and rarely after; see :meth:`get_space`)."""

    def get_space(self) -> SpaceStats:
        """Total and free bytes, in a time that does not grow with the number of volumes:
        the manager's reports after each change and its heartbeats call this. The default
        asks :meth:`get_stats`; a driver whose ``get_stats`` walks its volumes overrides it."""
        stats = self.get_stats()
        return SpaceStats(stats.total_bytes, stats.free_bytes)

    def check_health(self) -> None:
        """Check, quickly and without changing any volume, that the backend can take work
        now (the serving process's readiness check, ``/readyz``); raise BackendError saying
        what is wrong. Called only by the process serving the backend, after
        :meth:`do_setup`, from any thread. The default checks nothing: a backend without a
        cheap probe is as healthy as its capacity reports."""
        return None

    def export(self, export: ExportRef) -> dict[str, Any]:
        """Make the volume reachable by the export's consumer and return the
        ``connection_info`` it connects with (``driver_volume_type`` and ``data``, as
        os-brick reads them). Given ``export.connection_info``, make exactly that export
        again; an export that already exists is made again, not doubled. The default is
        Cinder's ``local`` type: the volume's local path (``device_path``), for a
        consumer on this host. Raises ExportFailed when the target refuses."""
        return {
            "driver_volume_type": "local",
            "data": {
                "device_path": str(self.local_path(export.volume)),
                "volume_id": export.volume.id,
                "access_mode": export.access_mode,
                "encrypted": False,
                "qos_specs": None,
                "discard": False,
            },
        }

    def unexport(self, export: ExportRef) -> None:
        """Remove the export; one already gone is not an error. Default: nothing to do."""
        return None

    def exports(self) -> list[str] | None:
        """Ids of the attachments the backend's target exports now, for reconciliation;
        None when the backend has no target of its own (the default)."""
        return None

    def stop(self) -> None:
        """Release what :meth:`do_setup` started (a supervised target daemon). Default:
        nothing."""
        return None

    def close(self) -> None:  # noqa: B027 -- most drivers hold nothing open
        """Let go of what the driver holds open (a cluster connection) when its process
        stops serving the backend; a later call reconnects. The default holds nothing."""

    def local_path(self, volume: VolumeRef) -> Path:
        """The path on this host through which the volume's bytes are read and written
        (``hearth volume path``; later, attaching a volume to a local consumer).

        Reads and writes through the path are reads and writes of the volume itself, and
        its size is the volume's. Whether the volume exists is not checked. A backend whose
        volumes are not local files or devices raises
        :class:`hearth.errors.NotSupportedByBackend`, which is the default.
        """
        raise errors.NotSupportedByBackend(
            driver=self.driver_name, operation="give a local path to a volume"
        )

    def snapshot_local_path(self, snapshot: SnapshotRef) -> Path:
        """The path on this host through which a snapshot's bytes are read (a backup of
        the snapshot reads them there; nothing writes through it). Whether it exists is
        not checked. Default: NotSupportedByBackend, as :meth:`local_path`."""
        raise errors.NotSupportedByBackend(
            driver=self.driver_name, operation="give a local path to a snapshot"
        )

    def connection_info(self, volume: VolumeRef) -> dict[str, Any]:
        """How a consumer on another host reaches the volume's data, in the shape os-brick's
        connector of its type reads: ``{"driver_volume_type": ..., "data": {...}}``. The
        default refuses (a backend whose volumes are only local files)."""
        raise errors.NotSupportedByBackend(
            driver=self.driver_name, operation="give connection info for a volume"
        )


def local_file(target: convert.Target, driver_name: str) -> Path:
    """The local file of a :meth:`VolumeDriver.copy_image_to_volume` target, for writes
    that need one (a restore from a backup, a migration's copy); a backend whose new
    volumes are not local files (RBD) refuses them with NotSupportedByBackend."""
    if target.local_path is None:
        raise errors.NotSupportedByBackend(
            driver=driver_name, operation="write a new volume through a local file"
        )
    return target.local_path
