"""Cost of the file driver's clones: reflink on XFS and sparse copy on ext4, against ``cp``.

For each size (GiB), a volume full of data is cloned three ways, each ending durable (fsync
of the file and its directory):

- reflink: ``FileDriver.create_cloned_volume`` on XFS with reflink=1 (FICLONE). Without
  ``--dir-xfs`` the script, as root, makes and mounts its own XFS on a sparse loop file.
- sparse copy: ``FileDriver.create_cloned_volume`` in ``copy`` mode on ext4 (SEEK_DATA/
  SEEK_HOLE and ``copy_file_range``; a full volume is one data extent).
- baseline: ``cp --reflink=never`` of the same source on ext4, then fsync.

The source's cached pages are dropped before each copy, so copies read from disk. Prints one
table (seconds, and ratio to the baseline of the same size measured in this run) and how the
reflink time grows from the smallest size to the largest. Every file is removed at the end.

With ``--rbd`` it measures the RBD backend instead (``benchmarks/clone_rbd.py``: layered
clones against ``rbd cp``, cold creates from qcow2 against bare ``qemu-img convert`` into
RBD, cached creates against raw ones) on a single-node cluster it starts and purges.

    python benchmarks/clone.py [--sizes 1,10] [--dir-xfs PATH] [--dir-ext4 PATH] [--repeat N]
    python benchmarks/clone.py --rbd [--sizes 1,10] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth.volume.drivers import base
from hearth.volume.drivers.file import CloneMode, FileDriver

GiB = base.GiB
MiB = 1 << 20
CHUNK = 8 * MiB
REFLINK_RUNS = 5
"""A reflink is cheap: take the median of this many (or of --repeat, if more)."""


def filesystem_type(path: Path) -> str:
    command = ["stat", "--file-system", "--format=%T", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def fsync_path(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def drop_cache(path: Path) -> None:
    """Evict the file's (clean) pages, so the next copy reads it from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def fill(path: Path) -> None:
    """Write non-zero data over the whole file, one chunk at a time, then fsync."""
    chunk = os.urandom(CHUNK).replace(b"\0", b"\1")
    size = path.stat().st_size
    with path.open("r+b") as volume:
        for _ in range(0, size, CHUNK):
            volume.write(chunk)
        volume.flush()
        os.fsync(volume.fileno())


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def free_bytes(directory: Path) -> int:
    os.sync()
    fs = os.statvfs(directory)
    return fs.f_bfree * fs.f_frsize


@contextmanager
def loop_xfs(parent: Path, size: int) -> Iterator[Path]:
    """An XFS with reflink on a sparse image file under ``parent``; removed on exit."""
    image, mount_dir = parent / "xfs.img", parent / "xfs"
    mount_dir.mkdir()
    try:
        with image.open("wb") as sparse:
            sparse.truncate(size)
        subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], check=True)
        subprocess.run(["mount", "-o", "loop", str(image), str(mount_dir)], check=True)
        try:
            yield mount_dir
        finally:
            subprocess.run(["umount", str(mount_dir)], check=False)
    finally:
        image.unlink(missing_ok=True)
        if not os.path.ismount(mount_dir):
            mount_dir.rmdir()


class Bench:
    """One file driver on a directory, with a source volume full of data."""

    def __init__(self, directory: Path, clone_mode: CloneMode) -> None:
        self.driver = FileDriver(directory, clone_mode)
        self.driver.do_setup()
        if self.driver.clone_mode != clone_mode:
            sys.exit(f"{directory}: the driver runs in {self.driver.clone_mode} mode")

    def source(self, size_gb: int) -> base.VolumeRef:
        volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=size_gb)
        self.driver.create_volume(volume)
        fill(self.driver.local_path(volume))
        return volume

    def clone_seconds(self, source: base.VolumeRef) -> float:
        """Time one durable clone of ``source``, then delete the clone."""
        drop_cache(self.driver.local_path(source))
        target = base.VolumeRef(id=str(uuid.uuid4()), size_gb=source.size_gb)
        try:
            return timed(lambda: self.driver.create_cloned_volume(target, source))
        finally:
            self.driver.delete_volume(target)


def cp_seconds(source: Path) -> float:
    """Time ``cp --reflink=never`` of ``source`` beside it, made durable, then delete it."""
    target = source.with_name(f"cp-{uuid.uuid4().hex}")
    drop_cache(source)

    def copy() -> None:
        subprocess.run(["cp", "--reflink=never", str(source), str(target)], check=True)
        fsync_path(target)
        fsync_path(target.parent, os.O_RDONLY | os.O_DIRECTORY)

    try:
        return timed(copy)
    finally:
        target.unlink(missing_ok=True)


def measure_reflink(directory: Path, sizes: list[int], runs: int) -> dict[int, tuple[float, int]]:
    """Per size: the median reflink seconds, and the free space one clone used."""
    bench = Bench(directory, "reflink")
    results = {}
    for size in sizes:
        source = bench.source(size)
        try:
            before = free_bytes(directory)
            seconds = [bench.clone_seconds(source) for _ in range(runs)]
            keep = base.VolumeRef(id=str(uuid.uuid4()), size_gb=size)
            bench.driver.create_cloned_volume(keep, source)
            used = before - free_bytes(directory)
            bench.driver.delete_volume(keep)
            results[size] = (statistics.median(seconds), used)
        finally:
            bench.driver.delete_volume(source)
    return results


def measure_copies(directory: Path, sizes: list[int], runs: int) -> dict[int, tuple[float, float]]:
    """Per size: median seconds of the driver's sparse copy and of ``cp``, interleaved."""
    bench = Bench(directory, "copy")
    results = {}
    for size in sizes:
        source = bench.source(size)
        try:
            driver: list[float] = []
            plain: list[float] = []
            path = bench.driver.local_path(source)
            for run in range(runs):
                if run % 2:  # alternate which goes first: the disk's state drifts
                    plain.append(cp_seconds(path))
                    driver.append(bench.clone_seconds(source))
                else:
                    driver.append(bench.clone_seconds(source))
                    plain.append(cp_seconds(path))
            results[size] = (statistics.median(driver), statistics.median(plain))
        finally:
            bench.driver.delete_volume(source)
    return results


def report(
    sizes: list[int],
    reflinks: dict[int, tuple[float, int]] | None,
    copies: dict[int, tuple[float, float]],
) -> None:
    print(f"\n{'method':<34}{'size':>7}{'seconds':>11}{'x cp':>10}{'GB/s':>8}")
    for size in sizes:
        sparse, plain = copies[size]
        rows = [("cp --reflink=never + fsync (ext4)", plain), ("driver sparse copy (ext4)", sparse)]
        if reflinks is not None:
            rows.append(("driver reflink (XFS)", reflinks[size][0]))
        for name, seconds in rows:
            rate = "-" if "reflink (XFS)" in name else f"{size * GiB / seconds / 1e9:.2f}"
            print(f"{name:<34}{size:>4} GiB{seconds:>11.4f}{seconds / plain:>10.3g}{rate:>8}")
    if reflinks is not None:
        for size in sizes:
            print(f"reflink of {size} GiB used {reflinks[size][1] / MiB:.1f} MiB of XFS free space")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        growth = reflinks[large][0] / reflinks[small][0] if reflinks else None
        copy_growth = copies[large][0] / copies[small][0]
        print(f"\n{large} GiB / {small} GiB time ratio (sizes differ {large / small:.0f}x):")
        print(f"  sparse copy: {copy_growth:.2f}")
        if growth is not None:
            verdict = "grows with size" if growth > 2 else "does not grow with size"
            print(f"  reflink:     {growth:.2f} -> the reflink clone's time {verdict}")


def size_list(text: str) -> list[int]:
    sizes = sorted({int(size) for size in text.split(",")})
    if sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes are whole GiB, at least 1")
    return sizes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=size_list, default="1,10", help="volume sizes in GiB (default 1,10)"
    )
    parser.add_argument("--dir-xfs", type=Path, help="a directory on an XFS with reflink=1")
    parser.add_argument("--dir-ext4", type=Path, help="a directory on ext4 (default: temp)")
    parser.add_argument("--repeat", type=int, default=1, help="copies per method and size")
    parser.add_argument("--rbd", action="store_true", help="measure the RBD backend instead")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes: list[int] = args.sizes
    # SIGTERM unwinds like Ctrl-C, so the cleanup below runs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-", dir=args.dir_ext4))
    if args.rbd:
        from benchmarks import clone_rbd

        try:
            clone_rbd.run(work, sizes, max(args.repeat, 3))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        need = 2 * max(sizes) * GiB + GiB  # a source and its copy; the XFS is gone by then
        if shutil.disk_usage(work).free < need:
            sys.exit(f"not enough free space under {work.parent}")
        print(f"ext4 side: {work} ({filesystem_type(work)})")
        reflinks = None
        if args.dir_xfs is not None:
            xfs_work = Path(tempfile.mkdtemp(prefix="hearth-bench-", dir=args.dir_xfs))
            try:
                print(f"XFS side: {xfs_work} ({filesystem_type(xfs_work)})")
                reflinks = measure_reflink(xfs_work, sizes, max(args.repeat, REFLINK_RUNS))
            finally:
                shutil.rmtree(xfs_work, ignore_errors=True)
        elif os.geteuid() == 0 and shutil.which("mkfs.xfs"):
            with loop_xfs(work, max(sizes) * GiB + 2 * GiB) as mount_dir:
                print(f"XFS side: {mount_dir} (loop-mounted, made by this script)")
                reflinks = measure_reflink(mount_dir, sizes, max(args.repeat, REFLINK_RUNS))
        else:
            print("no --dir-xfs, and cannot make an XFS (needs root and mkfs.xfs): no reflink")
        copies = measure_copies(work / "ext4", sizes, args.repeat)
        report(sizes, reflinks, copies)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
