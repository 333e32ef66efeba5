"""The RBD backend against the session's real Ceph cluster (``tests.ceph``).

What the shared contract suite cannot see, because it is this backend's own: what the
pool holds (``rbd ls``, parents, snapshots) after deletes with dependents, the clone-depth
limit, ``flatten_volume_from_snapshot``, the start-up clean-up of what a crash leaves,
capacity from the pool's real stats, connection info from the real monitors, and, through
a whole Hearth, images converted straight into RBD and cached creates as layered clones.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth import config
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from hearth.volume.drivers.rbd import RbdDriver
from tests import images as test_images
from tests.ceph import CephCluster, ceph_cluster, rbd_namespace
from tests.conftest import make_settings, open_hearth
from tests.images import GiB, MiB, qemu_img_calls
from tests.waiting import wait_until

__all__ = ["ceph_cluster", "qemu_img_calls", "rbd_namespace"]  # fixtures, imported for pytest

pytestmark = pytest.mark.ceph


@pytest.fixture
def driver(ceph_cluster: CephCluster, rbd_namespace: str) -> Iterator[RbdDriver]:
    made = RbdDriver(ceph_cluster.driver_cluster(rbd_namespace), max_clone_depth=2)
    made.do_setup()
    yield made
    made.close()


class Pool:
    """What ``rbd`` would show of the test's namespace, read with the admin's key."""

    def __init__(self, cluster: CephCluster, namespace: str) -> None:
        import rbd

        self.rbd = rbd
        self.cluster, self.namespace = cluster, namespace
        self.ioctx = cluster.ioctx(namespace)

    def images(self) -> list[str]:
        return self.cluster.images(self.namespace)

    def parent(self, image: str) -> tuple[str, str] | None:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            try:
                spec = opened.get_parent_image_spec()
            except self.rbd.ImageNotFound:
                return None
            return spec["image_name"], spec["snap_name"]

    def snapshots(self, image: str) -> list[str]:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return sorted(s["name"] for s in opened.list_snaps())

    def write(self, image: str, offset: int, data: bytes) -> None:
        with self.rbd.Image(self.ioctx, image) as opened:
            opened.write(data, offset)
            opened.flush()

    def read(self, image: str, offset: int, length: int) -> bytes:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return bytes(opened.read(offset, length))


@pytest.fixture
def pool(ceph_cluster: CephCluster, rbd_namespace: str) -> Iterator[Pool]:
    made = Pool(ceph_cluster, rbd_namespace)
    yield made
    made.ioctx.close()


def new_volume(driver: RbdDriver, size_gb: int = 1) -> base.VolumeRef:
    volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=size_gb)
    driver.create_volume(volume)
    return volume


def name(volume: base.VolumeRef) -> str:
    return f"volume-{volume.id}"


def test_a_volume_deleted_under_its_clone_is_hidden_and_goes_with_the_clone(
    driver: RbdDriver, pool: Pool
) -> None:
    source = new_volume(driver)
    pool.write(name(source), 0, b"source")
    clone = base.VolumeRef(id=str(uuid.uuid4()), size_gb=1)
    driver.create_cloned_volume(clone, source)

    driver.delete_volume(source)

    assert pool.images() == sorted([name(clone), f"{name(source)}.deleted"])
    assert driver.list_volumes() == [clone.id]
    assert pool.parent(name(clone)) == (f"{name(source)}.deleted", f"clone-{clone.id}")
    assert pool.read(name(clone), 0, 6) == b"source"
    driver.delete_volume(clone)
    assert pool.images() == []


def test_a_snapshot_deleted_under_its_clone_is_hidden_and_goes_with_the_clone(
    driver: RbdDriver, pool: Pool
) -> None:
    volume = new_volume(driver)
    snapshot = base.SnapshotRef(id=str(uuid.uuid4()), volume_id=volume.id, volume_size_gb=1)
    driver.create_snapshot(snapshot)
    from_snapshot = base.VolumeRef(id=str(uuid.uuid4()), size_gb=1)
    driver.create_volume_from_snapshot(from_snapshot, snapshot)

    driver.delete_snapshot(snapshot)

    assert driver.list_snapshots() == []
    assert pool.snapshots(name(volume)) == [f"snapshot-{snapshot.id}.deleted"]
    driver.delete_volume(from_snapshot)
    assert pool.snapshots(name(volume)) == []
    driver.delete_volume(volume)
    assert pool.images() == []


def test_a_clone_beyond_the_depth_limit_is_flattened(driver: RbdDriver, pool: Pool) -> None:
    chain = [new_volume(driver)]
    pool.write(name(chain[0]), 0, b"bottom")
    for _ in range(3):  # depth 1, 2, then 3 > max_clone_depth=2
        chain.append(base.VolumeRef(id=str(uuid.uuid4()), size_gb=1))
        driver.create_cloned_volume(chain[-1], chain[-2])

    assert pool.parent(name(chain[1])) is not None
    assert pool.parent(name(chain[2])) is not None
    assert pool.parent(name(chain[3])) is None  # flattened: it holds its own data
    assert pool.snapshots(name(chain[2])) == []  # and its hidden snapshot went
    assert pool.read(name(chain[3]), 0, 6) == b"bottom"


def test_flatten_volume_from_snapshot_makes_it_independent_of_the_snapshot(
    ceph_cluster: CephCluster, rbd_namespace: str, pool: Pool
) -> None:
    driver = RbdDriver(ceph_cluster.driver_cluster(rbd_namespace), flatten_from_snapshot=True)
    volume = new_volume(driver)
    pool.write(name(volume), GiB - 4, b"tail")
    snapshot = base.SnapshotRef(id=str(uuid.uuid4()), volume_id=volume.id, volume_size_gb=1)
    driver.create_snapshot(snapshot)
    made = base.VolumeRef(id=str(uuid.uuid4()), size_gb=2)

    driver.create_volume_from_snapshot(made, snapshot)
    driver.delete_snapshot(snapshot)

    assert pool.parent(name(made)) is None
    assert pool.snapshots(name(volume)) == []  # removed outright: nothing reads it
    assert pool.read(name(made), GiB - 4, 4) == b"tail"
    driver.close()


def test_start_up_removes_what_a_crash_left_and_keeps_the_rest(
    driver: RbdDriver, pool: Pool
) -> None:
    import rbd

    kept = new_volume(driver)
    half_made = f"volume-{uuid.uuid4()}.tmp-0123456789ab"
    orphan = f"volume-{uuid.uuid4()}.deleted"  # a delete whose clean-up never ran
    for leftover in (half_made, orphan):
        rbd.RBD().create(pool.ioctx, leftover, MiB)

    removed = driver.remove_partial_files()

    assert sorted(removed) == sorted([half_made, orphan])
    assert pool.images() == [name(kept)]


def test_capacity_comes_from_the_pools_stats_and_the_driver_reports_cinders_capabilities(
    driver: RbdDriver, pool: Pool
) -> None:
    volume = new_volume(driver, 2)
    pool.write(name(volume), 0, test_images.pattern("stored", 8 * MiB))

    # the mgr folds the OSD's reports into pool stats every few seconds
    assert wait_until(lambda: driver.get_stats().allocated_bytes >= 8 * MiB, timeout=30)
    stats = driver.get_stats()

    assert stats.provisioned_bytes == 2 * GiB
    assert 0 < stats.free_bytes < stats.total_bytes <= 8 * GiB  # the OSD's 8 GiB file
    assert stats.clone_mode == "layered"
    assert stats.capabilities["storage_protocol"] == "ceph"
    assert stats.capabilities["multiattach"] is True
    assert stats.capabilities["location_info"].endswith(":hearth")


def test_connection_info_names_the_image_and_the_real_monitors(
    ceph_cluster: CephCluster, driver: RbdDriver
) -> None:
    volume = new_volume(driver)

    info = driver.connection_info(volume)

    port = ceph_cluster.conf.read_text().split("127.0.0.1:")[1].split("]")[0]
    assert info["driver_volume_type"] == "rbd"
    assert info["data"]["name"] == f"hearth/{driver.cluster.namespace}/{name(volume)}"
    assert (info["data"]["hosts"], info["data"]["ports"]) == (["127.0.0.1"], [port])
    assert "keyring" not in info["data"]  # OSSN-0085: only when the backend says so


# -- a whole Hearth on the RBD backend ---------------------------------------------------


def rbd_settings(tmp_path: Path, cluster: CephCluster, namespace: str, **extra: Any) -> Any:
    section = {
        "driver": "rbd",
        "pool": cluster.pool,
        "namespace": namespace,
        "ceph_conf": str(cluster.conf),
        "user": cluster.user,
        "keyring": str(cluster.keyring),
        **extra,
    }
    return make_settings(tmp_path / "data", backends={"ceph": section})


def volume_holds(pool: Pool, volume_id: str, raw: Path) -> bool:
    data = raw.read_bytes()
    image = f"volume-{volume_id}"
    return (
        pool.read(image, 0, len(data)) == data
        and pool.read(image, len(data), MiB) == bytes(MiB)
        and pool.read(image, GiB - MiB, MiB) == bytes(MiB)
    )


def test_an_image_is_converted_straight_into_rbd_without_a_staging_file(
    tmp_path: Path,
    ceph_cluster: CephCluster,
    rbd_namespace: str,
    pool: Pool,
    qemu_img_calls: test_images.QemuImgCalls,
) -> None:
    raw = test_images.known_raw(tmp_path / "disk.raw")
    qcow2 = test_images.made_as(raw, "qcow2", tmp_path / "disk.qcow2")
    settings = rbd_settings(tmp_path, ceph_cluster, rbd_namespace, image_cache={"enabled": False})
    hearth = open_hearth(settings)
    try:
        image = hearth.create_image("disk", disk_format="qcow2", file=qcow2)
        volume = hearth.create_volume(image_id=image.id)

        assert (volume.status, volume.bootable) == ("available", True)
        assert volume_holds(pool, volume.id, raw)
        [convert] = [c for c in qemu_img_calls.all() if c.startswith("convert")]
        assert f"rbd:hearth/{rbd_namespace}/volume-{volume.id}.tmp-" in convert
        assert pool.images() == [f"volume-{volume.id}"]
        big_files = [
            p for p in settings.data_dir.rglob("*") if p.is_file() and p.stat().st_size > 64 * MiB
        ]
        assert big_files == []  # only the stored image itself is on the host
    finally:
        hearth.close()


def test_a_cached_create_is_a_layered_clone_of_the_cache_entry(
    tmp_path: Path, ceph_cluster: CephCluster, rbd_namespace: str, pool: Pool
) -> None:
    raw = test_images.known_raw(tmp_path / "disk.raw")
    hearth: Hearth = open_hearth(rbd_settings(tmp_path, ceph_cluster, rbd_namespace))
    try:
        image = hearth.create_image("disk", disk_format="raw", file=raw)
        first = hearth.create_volume(image_id=image.id)
        second = hearth.create_volume(2, image_id=image.id)
        [entry] = hearth.list_image_cache()

        for volume in (first, second):
            assert hearth.get_volume(volume.id).status == "available"
            assert volume_holds(pool, volume.id, raw)
            parent = pool.parent(f"volume-{volume.id}")
            assert parent == (f"volume-{entry.id}", f"clone-{volume.id}")
        assert hearth.clear_image_cache() == 1
        assert f"volume-{entry.id}.deleted" in pool.images()  # its clones still read it
        assert volume_holds(pool, second.id, raw)
        for volume in (first, second):
            hearth.delete_volume(volume.id)
        assert wait_until(lambda: pool.images() == [], timeout=30)
    finally:
        hearth.close()


def test_settings_name_an_rbd_backend_and_refuse_unknown_keys(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, backends={"ceph": {"driver": "rbd", "pool": "volumes"}})

    section = settings.backends["ceph"]
    assert isinstance(section, config.RbdBackendSettings)
    assert (section.pool, section.max_clone_depth, section.user) == ("volumes", 5, "admin")
    with pytest.raises(Exception, match=r"backends\.ceph\.directory: unknown key"):
        make_settings(tmp_path, backends={"ceph": {"driver": "rbd", "directory": "/srv"}})


def test_every_source_type_creates_on_rbd_through_hearth_and_deletes_leave_the_pool_empty(
    tmp_path: Path, ceph_cluster: CephCluster, rbd_namespace: str, pool: Pool
) -> None:
    raw = test_images.known_raw(tmp_path / "disk.raw")
    settings = rbd_settings(tmp_path, ceph_cluster, rbd_namespace, image_cache={"enabled": False})
    hearth = open_hearth(settings)
    try:
        source = hearth.create_volume(1)
        pool.write(f"volume-{source.id}", 0, b"the source")
        snapshot = hearth.create_snapshot(source.id)
        pool.write(f"volume-{source.id}", 0, b"written after")
        from_snapshot = hearth.create_volume(2, snapshot_id=snapshot.id)
        clone = hearth.create_volume(1, source_volid=source.id)
        image = hearth.create_image("disk", disk_format="raw", file=raw)
        from_image = hearth.create_volume(1, image_id=image.id)
        extended = hearth.extend_volume(clone.id, 3)

        made = [source, from_snapshot, clone, from_image]
        assert [hearth.get_volume(v.id).status for v in made] == ["available"] * 4
        assert pool.read(f"volume-{from_snapshot.id}", 0, 10) == b"the source"
        assert pool.read(f"volume-{clone.id}", 0, 13) == b"written after"
        assert volume_holds(pool, from_image.id, raw)
        assert extended.size == 3
        assert (
            hearth.services.managers["ceph"].driver.volume_size(base.VolumeRef(clone.id, 3))
            == 3 * GiB
        )
        stored = sorted(hearth.services.managers["ceph"].driver.list_volumes())
        assert stored == sorted(v.id for v in made)  # `rbd ls` against the database

        hearth.delete_volume(from_snapshot.id)
        hearth.delete_snapshot(snapshot.id)
        for volume in (clone, source, from_image):
            hearth.delete_volume(volume.id)
        assert pool.images() == []
    finally:
        hearth.close()


def test_concurrent_creates_from_one_image_convert_once_and_all_layer_on_the_entry(
    tmp_path: Path,
    ceph_cluster: CephCluster,
    rbd_namespace: str,
    pool: Pool,
    qemu_img_calls: test_images.QemuImgCalls,
) -> None:
    raw = test_images.known_raw(tmp_path / "disk.raw")
    hearth = open_hearth(rbd_settings(tmp_path, ceph_cluster, rbd_namespace))
    try:
        image = hearth.create_image("disk", disk_format="raw", file=raw)
        made: list[Any] = []
        threads = [
            threading.Thread(target=lambda: made.append(hearth.create_volume(image_id=image.id)))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        [entry] = hearth.list_image_cache()

        assert sorted(v.status for v in made) == ["available"] * 8
        assert qemu_img_calls.count("convert") == 1
        for volume in made:
            assert pool.parent(f"volume-{volume.id}") == (
                f"volume-{entry.id}",
                f"clone-{volume.id}",
            )
            assert volume_holds(pool, volume.id, raw)
    finally:
        hearth.close()


KILLED_WRITER = """
import sys, time, uuid
from pathlib import Path
import rbd
from hearth.volume.drivers import base
from hearth.volume.drivers.rbd import Cluster, RbdDriver

pool, namespace, conf, user, keyring = sys.argv[1:6]
driver = RbdDriver(Cluster(pool=pool, namespace=namespace, ceph_conf=Path(conf), user=user,
                           keyring=Path(keyring)))

def write(target):
    image = rbd.Image(driver._connected(), target.name)  # held open, as qemu-img's
    image.write(b"half an image", 0)
    print(target.name, flush=True)
    time.sleep(600)

driver.copy_image_to_volume(base.VolumeRef(str(uuid.uuid4()), 1), write)
"""


def test_a_create_killed_mid_write_leaves_only_a_temporary_image_which_start_up_removes(
    ceph_cluster: CephCluster, rbd_namespace: str, driver: RbdDriver, pool: Pool
) -> None:
    args = [ceph_cluster.pool, rbd_namespace, str(ceph_cluster.conf), ceph_cluster.user]
    command = [sys.executable, "-c", KILLED_WRITER, *args, str(ceph_cluster.keyring)]
    repository = Path(__file__).resolve().parents[2]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=repository) as writer:
        assert writer.stdout is not None
        try:
            temporary = writer.stdout.readline().strip()
        finally:
            writer.kill()

    assert pool.images() == [temporary] and ".tmp-" in temporary
    assert driver.list_volumes() == []
    started = time.monotonic()
    assert driver.remove_partial_files() == [temporary]
    # the dead writer's watch would hold the removal ~30 s; its client is blocklisted
    assert time.monotonic() - started < 15
    assert pool.images() == []
