"""RBD driver: each volume is an RBD image in one Ceph pool, through librados and librbd.

Names in the pool are Cinder's, so an operator's ``rbd ls`` reads the same::

    volume-<id>                   a volume
    volume-<id>@snapshot-<id>     a snapshot: an RBD snapshot of its volume's image
    volume-<id>@clone-<id>        the hidden snapshot that clone <id> of the volume layers on
    volume-<id>.deleted           a deleted volume that snapshots or clones still read from
    ...@snapshot-<id>.deleted     a deleted snapshot that clones still read from
    volume-<id>.tmp-<hex>         being made: renamed to its final name only when complete

Every new image is made under a ``.tmp-`` name and renamed into place, so a crash leaves no
half-made volume under a final name, and :meth:`RbdDriver.remove_partial_files` removes
the ``.tmp-`` images (and the hidden snapshots and images nothing reads any more) at
start-up. Images from images are written by ``qemu-img`` straight into the temporary
image (``rbd:`` target; no staging file on the host).

Clones and volumes from snapshots are layered clones of a protected snapshot
(copy-on-write, constant time); a clone whose chain of parents would be longer than
``max_clone_depth`` is flattened (its data copied in), as Cinder's ``rbd_max_clone_depth``.
``flatten_volume_from_snapshot`` flattens every volume made from a snapshot, as Cinder's
``rbd_flatten_volume_from_snapshot``.

Deleting what clones depend on (the decision the contract leaves to each driver): nothing
is refused and nothing is flattened at delete time. A volume whose snapshots or clones
still read from it is renamed ``.deleted`` (it leaves every listing) and removed with its
last dependent, as Cinder's RBD driver does; a snapshot with clones is renamed
``.deleted`` likewise. A delete therefore stays constant time and never copies data.

Over 500 lines (about 680): one backend whose naming, publishing and clean-up rules are
read together; the connection, error translation and monitor parsing could move to a
``rbd_client`` module below it (listed in ``.importlinter``) if it grows further.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth import errors
from hearth.image import convert
from hearth.volume.drivers import base

LOG = logging.getLogger(__name__)
DELETED = ".deleted"
TMP = ".tmp-"
CLONE_SNAP = "clone-"
SNAPSHOT = "snapshot-"
VOLUME = "volume-"


@dataclass(frozen=True)
class Cluster:
    """How to reach the backend's pool, as its settings name it."""

    pool: str
    ceph_conf: Path
    namespace: str = ""
    user: str = "admin"
    keyring: Path | None = None
    cluster_name: str = "ceph"
    secret_uuid: str | None = None
    keyring_in_connection_info: bool = False
    connect_timeout: float = 10.0
    op_timeout: float = 30.0
    qemu_address_space_bytes: int = 2048 << 20


def _bindings() -> tuple[Any, Any]:
    """Ceph's Python bindings, imported on first use: Hearth runs without them until an
    rbd backend is configured (scripts/setup links Debian's into the venv)."""
    try:
        import rados
        import rbd
    except ImportError as exc:
        raise errors.ConfigError(
            reason="the rbd driver needs Ceph's Python bindings (Debian's python3-rados and "
            "python3-rbd; scripts/setup links them into the virtualenv)"
        ) from exc
    return rados, rbd


class RbdDriver(base.VolumeDriver):
    """RBD images in one pool: thin, layered clones, snapshots as RBD snapshots."""

    driver_name = "rbd"

    def __init__(
        self, cluster: Cluster, *, max_clone_depth: int = 5, flatten_from_snapshot: bool = False
    ) -> None:
        self.cluster = cluster
        self.max_clone_depth = max_clone_depth
        self.flatten_from_snapshot = flatten_from_snapshot
        self._lock = threading.Lock()
        self._client: Any = None
        self._ioctx: Any = None

    # -- connection ------------------------------------------------------------------------

    def _connected(self) -> Any:
        """The pool's I/O context, connecting on first use (audits use a driver without
        setting it up). librados connections and contexts are thread-safe."""
        with self._lock:
            if self._ioctx is None:
                self._ioctx = self._connect()
            return self._ioctx

    def _connect(self) -> Any:
        rados, _ = _bindings()
        timeout = str(max(1, round(self.cluster.op_timeout)))  # whole seconds
        conf = {"rados_osd_op_timeout": timeout, "rados_mon_op_timeout": timeout}
        if self.cluster.keyring is not None:
            conf["keyring"] = str(self.cluster.keyring)
        with _translated("connect to the Ceph cluster"):
            client = rados.Rados(
                rados_id=self.cluster.user,
                clustername=self.cluster.cluster_name,
                conffile=str(self.cluster.ceph_conf),
                conf=conf,
            )
            client.connect(timeout=int(self.cluster.connect_timeout))
        try:
            ioctx = client.open_ioctx(self.cluster.pool)
        except rados.ObjectNotFound as exc:
            client.shutdown()
            raise errors.ConfigError(
                reason=f"Ceph pool {self.cluster.pool!r} does not exist"
            ) from exc
        except rados.Error as exc:
            client.shutdown()
            raise errors.BackendError(action="open the Ceph pool", detail=str(exc)) from exc
        if self.cluster.namespace:
            ioctx.set_namespace(self.cluster.namespace)
        self._client = client
        return ioctx

    def close(self) -> None:
        """Disconnect from the cluster (a later call connects again)."""
        with self._lock:
            if self._ioctx is not None:
                self._ioctx.close()
                self._client.shutdown()
            self._ioctx = self._client = None

    def _mon(self, command: dict[str, Any], action: str, *, parsed: bool = True) -> Any:
        """A monitor command's JSON answer (its status line when not ``parsed``)."""
        self._connected()
        with _translated(action):
            code, out, status = self._client.mon_command(json.dumps(command), b"")
        if code != 0:
            raise errors.BackendError(action=action, detail=f"{code}: {status}")
        return json.loads(out) if parsed else status

    @contextmanager
    def _image(self, name: str, *, source: tuple[str, str] | None = None) -> Iterator[Any]:
        """An open image. Missing: BackendSourceMissing when it is the ``source`` (kind,
        id) of the operation, else ``rbd.ImageNotFound`` for the caller to decide."""
        _, rbd = _bindings()
        ioctx = self._connected()
        try:
            with _translated("open an image"):
                image = rbd.Image(ioctx, name)
        except rbd.ImageNotFound as exc:
            if source is None:
                raise
            kind, source_id = source
            raise errors.BackendSourceMissing(kind=kind, source_id=source_id) from exc
        try:
            yield image
        finally:
            image.close()

    # -- the interface -----------------------------------------------------------------------

    def do_setup(self) -> None:
        self._connected()
        LOG.info("rbd backend ready on pool %s", self.cluster.pool)

    def check_health(self) -> None:
        """One read from the pool's OSDs (a missing object still answers)."""
        rados, _ = _bindings()
        ioctx = self._connected()
        try:
            ioctx.stat("rbd_directory")
        except rados.ObjectNotFound:
            return
        except rados.Error as exc:
            raise errors.BackendError(action="read from its Ceph pool", detail=str(exc)) from exc

    def remove_partial_files(self) -> list[str]:
        """Remove ``.tmp-`` images, then hidden snapshots and ``.deleted`` images that
        nothing reads any more (a crash between a delete and its clean-up). Only safe while
        nothing else runs on the pool: it cannot tell a crash's leftovers from work under way.
        """
        removed = []
        for name in self._names():
            if TMP in name:
                self._evict_watchers(name)
                self._remove_image(name)
                removed.append(name)
        for name in self._names():
            try:
                with self._image(name) as image:
                    snaps = [s["name"] for s in image.list_snaps()]
                for snap in snaps:
                    removed += self._release(name, snap)
            except _image_not_found():
                continue
            if name not in removed:
                removed += self._drop_if_unused(name)
        return removed

    def create_volume(self, volume: base.VolumeRef) -> base.ModelUpdate | None:
        _, rbd = _bindings()
        ioctx = self._connected()
        self._publish(volume, lambda tmp: rbd.RBD().create(ioctx, tmp, volume.size_bytes))
        return None

    def copy_image_to_volume(
        self, volume: base.VolumeRef, write: Callable[[convert.Target], None]
    ) -> base.ModelUpdate | None:
        _, rbd = _bindings()
        ioctx = self._connected()

        def make(tmp: str) -> None:
            rbd.RBD().create(ioctx, tmp, volume.size_bytes)
            write(self._target(tmp))
            with self._image(tmp) as image:
                if image.size() != volume.size_bytes:
                    raise errors.Invalid(reason="the image is larger than the volume")

        self._publish(volume, make)
        return None

    def create_volume_from_snapshot(
        self, volume: base.VolumeRef, snapshot: base.SnapshotRef
    ) -> base.ModelUpdate | None:
        holder, snap = self._holder_of(snapshot), _snapshot_name(snapshot.id)
        with self._image(holder) as image:
            size = _snap_size(image, snap, snapshot.id)
            if volume.size_bytes < size:
                raise errors.Invalid(reason="the new volume is smaller than its snapshot")
            _protect(image, snap)  # stays protected: unprotected only when deleted
            flatten = self.flatten_from_snapshot or self._depth(image) >= self.max_clone_depth
        self._publish(volume, self._layering(holder, snap, size, volume, flatten))
        return None

    def create_cloned_volume(
        self, volume: base.VolumeRef, src_vref: base.VolumeRef
    ) -> base.ModelUpdate | None:
        source, snap = _volume_name(src_vref.id), CLONE_SNAP + _checked_id(volume.id)
        with self._image(source, source=("volume", src_vref.id)) as image:
            size = int(image.size())
            if volume.size_bytes < size:
                raise errors.Invalid(reason="the new volume is smaller than its volume")
            with _translated("snapshot the volume to clone"):
                if not image.snap_exists(snap):  # a retry finds its own snapshot
                    image.create_snap(snap)
            _protect(image, snap)
            flatten = self._depth(image) >= self.max_clone_depth
        try:
            self._publish(volume, self._layering(source, snap, size, volume, flatten))
        except BaseException:
            self._release(source, snap)
            raise
        if flatten:
            self._release(source, snap)  # nothing layers on it any more
        return None

    def create_snapshot(self, snapshot: base.SnapshotRef) -> base.ModelUpdate | None:
        snap = _snapshot_name(snapshot.id)
        volume_name = _volume_name(snapshot.volume_id)
        source = ("volume", snapshot.volume_id)
        with self._image(volume_name, source=source) as image, _translated("snapshot it"):
            if image.snap_exists(snap):  # an earlier attempt's: not the data of now
                image.remove_snap(snap)
            image.create_snap(snap)
        return None

    def delete_volume(self, volume: base.VolumeRef) -> None:
        """Remove the image, or hide it as ``.deleted`` while snapshots or clones read
        from it."""
        _, rbd = _bindings()
        name, ioctx = _volume_name(volume.id), self._connected()
        try:
            with self._image(name) as image, _translated("delete the volume"):
                kept = []
                for snap in [s["name"] for s in image.list_snaps()]:
                    if snap.startswith(CLONE_SNAP) and not _children(image, snap):
                        _unprotect(image, snap)
                        image.remove_snap(snap)  # a clone's snapshot nothing layers on
                    else:
                        kept.append(snap)
                parent = _parent_of(image)
            with _translated("delete the volume"):
                if kept:
                    rbd.RBD().rename(ioctx, name, name + DELETED)
                    return
                rbd.RBD().remove(ioctx, name)
        except rbd.ImageNotFound:
            return  # already gone: deletes are idempotent
        if parent is not None:
            self._release(*parent)

    def delete_snapshot(self, snapshot: base.SnapshotRef) -> None:
        """Remove the RBD snapshot, or hide it as ``.deleted`` while clones read from it."""
        snap = _snapshot_name(snapshot.id)
        try:
            holder = self._holder_of(snapshot)
            with self._image(holder) as image, _translated("delete the snapshot"):
                if _children(image, snap):
                    image.rename_snap(snap, snap + DELETED)  # removed with its last clone
                    return
                if image.is_protected_snap(snap):
                    image.unprotect_snap(snap)
                image.remove_snap(snap)
            self._drop_if_unused(holder)
        except (errors.BackendSourceMissing, _image_not_found()):
            return

    def extend_volume(self, volume: base.VolumeRef, new_size_gb: int) -> None:
        with self._image(_volume_name(volume.id), source=("volume", volume.id)) as image:
            if image.size() > new_size_gb * base.GiB:
                raise errors.Invalid(reason="a volume cannot shrink")
            with _translated("extend the volume"):
                image.resize(new_size_gb * base.GiB)

    def volume_size(self, volume: base.VolumeRef) -> int | None:
        _, rbd = _bindings()
        try:
            with self._image(_volume_name(volume.id)) as image:
                return int(image.size())
        except rbd.ImageNotFound:
            return None

    def list_volumes(self) -> list[str]:
        return sorted(_id_of(name, VOLUME) for name in self._names() if _id_of(name, VOLUME))

    def list_snapshots(self) -> list[str]:
        found = []
        for _name, _size, snaps in self._inventory():
            found += [_id_of(s["name"], SNAPSHOT) for s in snaps if _id_of(s["name"], SNAPSHOT)]
        return sorted(found)

    def get_stats(self) -> base.BackendStats:
        """Capacity from the pool's real stats (``ceph df``, which needs the mgr) and its
        quota; provisioned: the sizes of every image and snapshot."""
        pools = self._mon({"prefix": "df", "format": "json"}, "report its capacity")["pools"]
        stats = next(p["stats"] for p in pools if p["name"] == self.cluster.pool)
        quota = self._mon(
            {"prefix": "osd pool get-quota", "pool": self.cluster.pool, "format": "json"},
            "report its quota",
        )
        stored, free = int(stats["stored"]), int(stats["max_avail"])
        total = stored + free
        if quota.get("quota_max_bytes"):
            total = int(quota["quota_max_bytes"])
            free = max(0, min(free, total - stored))
        provisioned = 0
        for _name, size, snaps in self._inventory():
            provisioned += size + sum(int(s["size"]) for s in snaps if _id_of(s["name"], SNAPSHOT))
        return base.BackendStats(
            total_bytes=total,
            free_bytes=free,
            provisioned_bytes=provisioned,
            allocated_bytes=stored,
            clone_mode="layered",
            capabilities=self._capabilities(),
        )

    def connection_info(self, volume: base.VolumeRef) -> dict[str, Any]:
        """What os-brick's RBD connector and libvirt's ``<source protocol="rbd">`` read
        (Cinder's RBD driver gives the same keys). ``name`` is ``pool/image`` as os-brick
        splits it (``pool/namespace/image``, libvirt's form, on a namespaced backend). The
        key itself is given (``keyring``) only when the backend says so: consumers are
        expected to hold it (OSSN-0085: Cinder stopped sending it)."""
        hosts, ports = monitor_addresses(
            self._mon({"prefix": "mon dump", "format": "json"}, "read its monitors")
        )
        data: dict[str, Any] = {
            "name": self._spec(_volume_name(volume.id)),
            "hosts": hosts,
            "ports": ports,
            "cluster_name": self.cluster.cluster_name,
            "auth_enabled": True,
            "auth_username": self.cluster.user,
            "secret_type": "ceph",
            "secret_uuid": self.cluster.secret_uuid,
            "volume_id": volume.id,
            "discard": True,
        }
        if self.cluster.keyring is not None and self.cluster.keyring_in_connection_info:
            try:
                data["keyring"] = self.cluster.keyring.read_text()
            except OSError as exc:
                raise errors.from_os_error(exc, "read its keyring") from exc
        return {"driver_volume_type": "rbd", "data": data}

    def export(self, export: base.ExportRef) -> dict[str, Any]:
        """An attachment of an RBD volume needs no target: the consumer's os-brick (or
        QEMU) talks to the cluster itself, with :meth:`connection_info` and the
        attachment's access mode."""
        info = self.connection_info(export.volume)
        info["data"] |= {"access_mode": export.access_mode, "encrypted": False, "qos_specs": None}
        return info

    # -- publishing, layering, clean-up --------------------------------------------------------

    def _publish(self, volume: base.VolumeRef, make: Callable[[str], None]) -> None:
        """Run ``make`` on a fresh temporary image name, then rename the image to the
        volume's; on any failure the temporary image goes. An image already under the
        final name is an earlier attempt's (only a ``creating`` volume is created): it is
        replaced."""
        _, rbd = _bindings()
        final = _volume_name(volume.id)
        tmp = f"{final}{TMP}{uuid.uuid4().hex[:12]}"
        ioctx = self._connected()
        try:
            make(tmp)
            with _translated("publish the volume"):
                try:
                    rbd.RBD().rename(ioctx, tmp, final)
                except rbd.ImageExists:
                    self._remove_image(final)
                    rbd.RBD().rename(ioctx, tmp, final)
        except BaseException:
            self._remove_image(tmp)
            raise

    def _layering(
        self, parent: str, snap: str, size: int, volume: base.VolumeRef, flatten: bool
    ) -> Callable[[str], None]:
        """How to make ``volume`` as a layered clone of ``parent@snap`` (``size`` bytes):
        grown to its size, flattened when ``flatten``. The clone is opened only for that."""
        _, rbd = _bindings()
        ioctx = self._connected()

        def make(tmp: str) -> None:
            with _translated("clone the image"):
                rbd.RBD().clone(ioctx, parent, snap, ioctx, tmp)
            if size == volume.size_bytes and not flatten:
                return
            with self._image(tmp) as child, _translated("shape the clone"):
                if size < volume.size_bytes:
                    child.resize(volume.size_bytes)
                if flatten:
                    child.flatten()

        return make

    def _depth(self, image: Any) -> int:
        """How many images the open image's data is layered on (a clone of it would be
        one more: beyond ``max_clone_depth`` it is flattened)."""
        depth, parent = 0, _parent_of(image)
        while parent is not None:
            depth += 1
            with self._image(parent[0]) as above, _translated("read the clone's parents"):
                parent = _parent_of(above)
        return depth

    def _evict_watchers(self, name: str) -> None:
        """Blocklist the clients other than this one that still watch image ``name``. A
        killed process's watch lasts until the OSD times it out (~30 s), and librbd waits
        for it before removing the image; at start-up nothing alive works on this
        backend's temporary images, so their watchers are dead processes."""
        _, rbd = _bindings()
        try:
            with self._image(name) as image, _translated("list the image's watchers"):
                watchers = [str(w["addr"]) for w in image.watchers_list()]
        except rbd.ImageNotFound:
            return
        own = str(self._client.get_addrs())
        for address in watchers:
            if address.rsplit("/", 1)[-1] not in own:  # the nonce names the client
                command = {"prefix": "osd blocklist", "blocklistop": "add", "addr": address}
                self._mon(command, "evict a dead client", parsed=False)
                LOG.warning("blocklisted %s, a dead client still watching %s", address, name)

    def _release(self, name: str, snap: str) -> list[str]:
        """A layer on ``name@snap`` went away: remove that snapshot if it is hidden and
        nothing else layers on it, then the image if it is hidden and keeps no snapshot.
        User snapshots stay (and stay protected: a create may be about to layer on one).
        Returns what it removed; an image or snapshot already gone is not an error."""
        if not (snap.startswith(CLONE_SNAP) or snap.endswith(DELETED)):
            return []
        try:
            with self._image(name) as image, _translated("clean up the pool"):
                if not image.snap_exists(snap) or _children(image, snap):
                    return []
                _unprotect(image, snap)
                image.remove_snap(snap)
        except _image_not_found():
            return []
        return [f"{name}@{snap}", *self._drop_if_unused(name)]

    def _drop_if_unused(self, name: str) -> list[str]:
        """Remove a ``.deleted`` image once it keeps no snapshot."""
        if not name.endswith(DELETED):
            return []
        try:
            with self._image(name) as image:
                if any(True for _ in image.list_snaps()):
                    return []
        except _image_not_found():
            return []
        self._remove_image(name)
        return [name]

    def _remove_image(self, name: str) -> None:
        """Remove an image (its snapshots first), then release the snapshot it was layered
        on. An image already gone is not an error."""
        _, rbd = _bindings()
        try:
            with self._image(name) as image, _translated("remove an image"):
                for snap in [s["name"] for s in image.list_snaps()]:
                    if image.is_protected_snap(snap):
                        image.unprotect_snap(snap)
                    image.remove_snap(snap)
                parent = _parent_of(image)
            with _translated("remove an image"):
                rbd.RBD().remove(self._connected(), name)
        except rbd.ImageNotFound:
            return
        if parent is not None:
            self._release(*parent)

    def _holder_of(self, snapshot: base.SnapshotRef) -> str:
        """The image holding the snapshot: its volume's, or that volume hidden as deleted."""
        _, rbd = _bindings()
        snap = _snapshot_name(snapshot.id)
        for name in (_volume_name(snapshot.volume_id), _volume_name(snapshot.volume_id) + DELETED):
            try:
                with self._image(name) as image:
                    if image.snap_exists(snap):
                        return name
            except rbd.ImageNotFound:
                continue
        raise errors.BackendSourceMissing(kind="snapshot", source_id=snapshot.id)

    def _names(self) -> list[str]:
        _, rbd = _bindings()
        with _translated("list its images"):
            return [str(name) for name in rbd.RBD().list(self._connected())]

    def _inventory(self) -> Iterator[tuple[str, int, list[dict[str, Any]]]]:
        """(name, size, snapshots) of each image in the pool."""
        for name in self._names():
            try:
                with self._image(name) as image, _translated("list its snapshots"):
                    yield name, int(image.size()), [dict(s) for s in image.list_snaps()]
            except _image_not_found():  # deleted since it was listed
                continue

    def _target(self, image: str) -> convert.Target:
        parts = [f"rbd:{self._spec(image)}", f"id={self.cluster.user}"]
        parts.append(f"conf={_escaped(str(self.cluster.ceph_conf))}")
        if self.cluster.keyring is not None:
            parts.append(f"keyring={_escaped(str(self.cluster.keyring))}")
        return convert.Target(
            qemu_name=":".join(parts),
            name=image,
            address_space_bytes=self.cluster.qemu_address_space_bytes,
        )

    def _spec(self, image: str) -> str:
        """``pool/image``, or ``pool/namespace/image``, as qemu and libvirt name an image."""
        return "/".join(part for part in (self.cluster.pool, self.cluster.namespace, image) if part)

    def _capabilities(self) -> dict[str, Any]:
        """What Cinder's RBD driver reports of itself."""
        fsid = self._client.get_fsid()
        return {
            "vendor_name": "Open Source",
            "storage_protocol": "ceph",
            "multiattach": True,
            "thin_provisioning_support": True,
            "online_extend_support": True,
            "QoS_support": False,
            "location_info": f"{fsid}:{self.cluster.pool}",
        }


def monitor_addresses(mon_dump: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The monitors' hosts and ports from ``ceph mon dump``: the legacy (v1) address of
    each where it has one, as Cinder gives consumers, else its msgr2 address."""
    hosts, ports = [], []
    for mon in mon_dump.get("mons", []):
        addrs = mon.get("public_addrs", {}).get("addrvec", [])
        chosen = next((a for a in addrs if a.get("type") == "v1"), addrs[0] if addrs else None)
        if chosen is None:
            continue
        host, _, port = chosen["addr"].rpartition(":")
        hosts.append(host.strip("[]"))
        ports.append(port)
    return hosts, ports


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Ceph's errors as Hearth's: no space is BackendFull, anything else BackendError (a
    timeout too: another backend may succeed). ``rbd.ImageNotFound`` passes through, for
    callers that decide what a missing image means."""
    rados, rbd = _bindings()
    try:
        yield
    except rbd.ImageNotFound:
        raise
    except (rbd.NoSpace, rados.NoSpace, rbd.DiskQuotaExceeded) as exc:
        raise errors.BackendFull(action=action, detail=str(exc)) from exc
    except (rbd.Error, rados.Error) as exc:
        raise errors.BackendError(action=action, detail=str(exc)) from exc


def _image_not_found() -> type[Exception]:
    _, rbd = _bindings()
    return rbd.ImageNotFound  # type: ignore[no-any-return]


def _parent_of(image: Any) -> tuple[str, str] | None:
    """(image, snapshot) the image is layered on, or None."""
    _, rbd = _bindings()
    try:
        spec = image.get_parent_image_spec()
    except rbd.ImageNotFound:
        return None
    return str(spec["image_name"]), str(spec["snap_name"])


def _unprotect(image: Any, snap: str) -> None:
    if image.is_protected_snap(snap):
        image.unprotect_snap(snap)


def _protect(image: Any, snap: str) -> None:
    with _translated("protect the snapshot"):
        if not image.is_protected_snap(snap):
            image.protect_snap(snap)


def _children(image: Any, snap: str) -> bool:
    """Whether any image layers on ``image@snap``."""
    image.set_snap(snap)
    try:
        return any(True for _ in image.list_children2())
    finally:
        image.set_snap(None)


def _snap_size(image: Any, snap: str, snapshot_id: str) -> int:
    for found in image.list_snaps():
        if found["name"] == snap:
            return int(found["size"])
    raise errors.BackendSourceMissing(kind="snapshot", source_id=snapshot_id)


def _escaped(value: str) -> str:
    """A value in a qemu ``rbd:`` name, where ``:`` separates options."""
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _volume_name(volume_id: str) -> str:
    return VOLUME + _checked_id(volume_id)


def _snapshot_name(snapshot_id: str) -> str:
    return SNAPSHOT + _checked_id(snapshot_id)


def _id_of(name: str, prefix: str) -> str:
    """The id in ``<prefix><uuid>``, or "" for any other name (hidden, temporary)."""
    rest = name.removeprefix(prefix)
    if rest == name:
        return ""
    try:
        return rest if str(uuid.UUID(rest)) == rest else ""
    except ValueError:
        return ""


def _checked_id(resource_id: str) -> str:
    """Ids become image names: refuse anything that could name another image."""
    try:
        return str(uuid.UUID(resource_id))
    except ValueError as exc:
        raise errors.InvalidInput(field="id", reason=f"{resource_id!r} is not a UUID") from exc
