"""The RBD backend's half of ``benchmarks/clone.py`` (``--rbd``), on a cluster of its own.

It starts a single-node cluster with ``scripts/ceph`` (one OSD on a sparse file) in a
temporary directory, measures in one run, and purges the cluster at the end:

- clone: ``RbdDriver.create_cloned_volume`` (a layered clone: snapshot, protect, clone,
  rename) of an image holding 20% data, against ``rbd cp`` of the same image (a full
  copy), for each size; the clone's time should not grow with the size.
- cold create: ``Hearth.create_volume`` from a qcow2 image on the RBD backend (fetch,
  inspect, ``qemu-img convert`` straight into RBD, publish) against bare ``qemu-img
  convert`` of the same file into a new RBD image, as throughput of the virtual disk.
- cached create: a create from the same image once the image-volume cache holds it (a
  layered clone of the entry) against a raw create of the same size, both through Hearth.

Prints seconds (median of ``repeat`` runs, or of 5 for the quick ones) and the ratios.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hearth import config
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from hearth.volume.drivers.rbd import Cluster, RbdDriver

GiB = base.GiB
MiB = 1 << 20
CHUNK = 4 * MiB
QUICK_RUNS = 5
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ceph"
POOL, USER = "hearth", "hearth"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_of(runs: int, action: Callable[..., float], *args: Any) -> float:
    return statistics.median(action(*args) for _ in range(runs))


@contextmanager
def ceph_cluster(work: Path, block_bytes: int) -> Iterator[Path]:
    """A fresh cluster under ``work``; its ceph.conf. Purged on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEPH_")}
    env["CEPH_BLOCK_SIZE"] = str(block_bytes)
    directory = work / "ceph"
    started = time.perf_counter()
    result = subprocess.run(
        [str(SCRIPT), "start", str(directory), str(port)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    try:
        if result.returncode != 0:
            sys.exit(f"scripts/ceph start failed: {result.stderr[-2000:]}")
        print(f"cluster up in {time.perf_counter() - started:.1f} s", flush=True)
        yield Path(result.stdout.strip())
    finally:
        subprocess.run([str(SCRIPT), "purge", str(directory)], env=env, check=False)


class Pool:
    """Hearth's driver on the pool, and the tools that copy and fill its images."""

    def __init__(self, conf: Path) -> None:
        self.conf = conf
        self.keyring = conf.parent / f"client.{USER}.keyring"
        self.driver = RbdDriver(
            Cluster(pool=POOL, ceph_conf=conf, user=USER, keyring=self.keyring),
            max_clone_depth=16,
        )
        self.driver.do_setup()

    def rbd(self, *args: str) -> None:
        command = ["rbd", "--conf", str(self.conf), "--id", USER, "--keyring", str(self.keyring)]
        subprocess.run([*command, *args], check=True, capture_output=True)

    def qemu_name(self, image: str) -> str:
        return f"rbd:{POOL}/{image}:id={USER}:conf={self.conf}:keyring={self.keyring}"

    def filled_volume(self, size_gb: int, data_bytes: int) -> base.VolumeRef:
        """A volume with ``data_bytes`` of random data spread over it, written by librbd."""
        import rados
        import rbd

        volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=size_gb)
        self.driver.create_volume(volume)
        chunk = os.urandom(CHUNK)
        pieces = data_bytes // CHUNK
        stride = volume.size_bytes // pieces // CHUNK * CHUNK
        name = f"volume-{volume.id}"
        with (
            rados.Rados(conffile=str(self.conf), rados_id=USER) as client,
            client.open_ioctx(POOL) as ioctx,
            rbd.Image(ioctx, name) as image,
        ):
            for piece in range(pieces):
                image.write(chunk, piece * stride)
            image.flush()
        return volume


def measure_clones(pool: Pool, sizes: list[int], repeat: int) -> dict[int, tuple[float, float]]:
    """Per size: median seconds of a layered clone and of ``rbd cp``."""
    results = {}
    for size in sizes:
        print(f"filling a {size} GiB image with {size * 200} MiB ...", flush=True)
        source = pool.filled_volume(size, size * 200 * MiB)
        clone = median_of(max(repeat, QUICK_RUNS), clone_seconds, pool, source)
        results[size] = (clone, median_of(repeat, copy_seconds, pool, source))
        pool.driver.delete_volume(source)
    return results


def clone_seconds(pool: Pool, source: base.VolumeRef) -> float:
    target = base.VolumeRef(id=str(uuid.uuid4()), size_gb=source.size_gb)
    seconds = timed(lambda: pool.driver.create_cloned_volume(target, source))
    pool.driver.delete_volume(target)
    return seconds


def copy_seconds(pool: Pool, source: base.VolumeRef) -> float:
    names = (f"{POOL}/volume-{source.id}", f"{POOL}/cp-{uuid.uuid4().hex}")
    seconds = timed(lambda: pool.rbd("cp", "--no-progress", *names))
    pool.rbd("rm", "--no-progress", names[1])
    return seconds


def make_qcow2(work: Path) -> Path:
    """A 2 GiB qcow2 holding 512 MiB of random data in 4 MiB pieces, spread out."""
    raw, qcow2 = work / "disk.raw", work / "disk.qcow2"
    chunk = os.urandom(CHUNK)
    with raw.open("wb") as disk:
        disk.truncate(2 * GiB)
        for offset in range(0, 2 * GiB, 4 * CHUNK):
            disk.seek(offset)
            disk.write(chunk)
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)], check=True
    )
    raw.unlink()
    return qcow2


def hearth_on(work: Path, conf: Path, name: str, cache: bool) -> Hearth:
    section: dict[str, Any] = {
        "driver": "rbd",
        "pool": POOL,
        "namespace": "",
        "ceph_conf": str(conf),
        "user": USER,
        "keyring": str(conf.parent / f"client.{USER}.keyring"),
        "image_cache": {"enabled": cache},
    }
    overrides = {"notifications": {"drivers": []}, "backends": {"ceph": section}}
    settings = config.load(data_dir=work / name, overrides=overrides, environ={})
    return Hearth.open(settings=settings)


def checked(volume: Any) -> Any:
    if volume.status != "available":
        sys.exit(f"create failed: {volume.status}")
    return volume


def measure_creates(work: Path, pool: Pool, repeat: int) -> dict[str, float]:
    """Cold creates from a qcow2 against bare qemu-img; cached creates against raw ones."""
    qcow2 = make_qcow2(work)
    results: dict[str, float] = {}

    def bare() -> float:
        image = f"bare-{uuid.uuid4().hex}"
        command = [
            "qemu-img",
            "convert",
            "-f",
            "qcow2",
            "-O",
            "raw",
            str(qcow2),
            pool.qemu_name(image),
        ]
        seconds = timed(lambda: subprocess.run(command, check=True))
        pool.rbd("rm", "--no-progress", f"{POOL}/{image}")
        return seconds

    with hearth_on(work, pool.conf, "direct", cache=False) as hearth:
        image = hearth.create_image("bench", disk_format="qcow2", file=qcow2)
        bare_runs, cold_runs = [], []
        for run in range(repeat):  # interleaved, the first alternating: the load drifts
            if run % 2:
                bare_runs.append(bare())
                cold_runs.append(create(hearth, image_id=image.id))
            else:
                cold_runs.append(create(hearth, image_id=image.id))
                bare_runs.append(bare())
        results["bare"], results["cold"] = (
            statistics.median(bare_runs),
            statistics.median(cold_runs),
        )

    with hearth_on(work, pool.conf, "cached", cache=True) as hearth:
        image = hearth.create_image("bench", disk_format="qcow2", file=qcow2)
        create(hearth, image_id=image.id)  # the miss that fills the cache
        runs = max(repeat, QUICK_RUNS)
        results["cached"] = median_of(runs, lambda: create(hearth, image_id=image.id))
        results["raw"] = median_of(runs, lambda: create(hearth))
        hearth.clear_image_cache()
    return results


def create(hearth: Hearth, **source: Any) -> float:
    """Seconds of one waited create of 2 GiB through Hearth; the volume is deleted after."""
    volume: list[Any] = []
    seconds = timed(lambda: volume.append(checked(hearth.create_volume(2, **source))))
    hearth.delete_volume(volume[0].id)
    return seconds


def row(name: str, seconds: float, ratio: float, extra: str = "") -> None:
    print(f"{name:<48}{seconds:>10.4f}{ratio:>9.3g}{extra}")


def report(clones: dict[int, tuple[float, float]], creates: dict[str, float]) -> None:
    print(f"\n{'RBD clone (median seconds)':<48}{'seconds':>10}{'x rbd cp':>9}")
    for size, (clone, copy) in clones.items():
        row(f"rbd cp (full copy), {size} GiB, {size * 200} MiB data", copy, 1)
        row(f"driver layered clone, {size} GiB", clone, clone / copy)
    sizes = sorted(clones)
    if len(sizes) > 1:
        growth = clones[sizes[-1]][0] / clones[sizes[0]][0]
        print(f"layered clone time, {sizes[-1]} GiB / {sizes[0]} GiB: {growth:.2f}")
    bare, cold = creates["bare"], creates["cold"]
    print(f"\n{'cold create, 2 GiB qcow2 holding 512 MiB':<48}{'seconds':>10}{'GiB/s':>9}")
    print(f"{'bare qemu-img convert into rbd:':<48}{bare:>10.4f}{2 / bare:>9.2f}")
    print(f"{'Hearth create from the image':<48}{cold:>10.4f}{2 / cold:>9.2f}")
    print(f"throughput of Hearth's create / bare convert: {bare / cold:.2f}")
    print(f"\n{'create of 2 GiB through Hearth (waited)':<48}{'seconds':>10}{'x raw':>9}")
    row("raw create", creates["raw"], 1)
    row(
        "cached create from the image (layered clone)",
        creates["cached"],
        creates["cached"] / creates["raw"],
    )


def run(work: Path, sizes: list[int], repeat: int) -> None:
    block = max(32 * GiB, 3 * max(sizes) * GiB)
    with ceph_cluster(work, block) as conf:
        pool = Pool(conf)
        try:
            clones = measure_clones(pool, sizes, repeat)
            creates = measure_creates(work, pool, repeat)
        finally:
            pool.driver.close()
        report(clones, creates)
