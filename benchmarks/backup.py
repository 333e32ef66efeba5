"""Cost of backups into a directory repository, each figure against a baseline of this run.

A volume holds ``--size-gib`` GiB (default 2) of data, half random and half compressible
(16-letter text, ~2:1 under zstd), in 64 MiB runs separated by 32 MiB holes (so the
volume is 1.5 times its data). It lives on an XFS with reflink: without ``--dir`` the
script, as root, makes and mounts its own on a sparse file through a direct-I/O loop
device. Prints:

1. full backup (``engine.back_up``: reflinked snapshot, 4 MiB chunks, zstd level 3, three
   worker threads, every object fsynced) against ``tar --sparse -c | zstd -T0`` (zstd's
   default level 3) into a file, fsynced. Target: <= 1.3x.
2. incremental backups after 1% of the data changed: in 1 MiB writes, with the parent's
   kept snapshot (FIEMAP shows which extents are still shared; target: reads <= 10% of the
   allocated bytes); the same change without the parent snapshot (every data window read
   and hashed); 1% changed in 64 KiB writes scattered over the volume (what a 4 MiB chunk
   costs for small writes).
3. restore (``restore.restore``: chunks verified, zero blocks left as holes, fsynced)
   against ``cp --sparse=always --reflink=never`` of the volume, fsynced. Target: <= 1.3x.
4. the repository's size against the tar.zst file's (the data's compressed size).

The files read are evicted from the page cache before each timed run (POSIX_FADV_DONTNEED),
so every run reads from disk. Seconds are min/median/max over ``--repeat`` runs; ratios
compare medians. Every file is removed at the end.

    python benchmarks/backup.py [--size-gib 2] [--dir PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth.backup import engine, restore
from hearth.backup.drivers.posix import PosixRepository

MiB = 1 << 20
GiB = 1 << 30
RUN, GAP = 64 * MiB, 32 * MiB
TEXT = bytes(b"etaoinshrdlucmfw"[byte % 16] for byte in range(256))


def write_volume(path: Path, data_bytes: int, seed: int = 1) -> int:
    """Write the volume (see the module's docstring); returns its size."""
    rng = random.Random(seed)
    runs = data_bytes // RUN
    size = runs * (RUN + GAP)
    with path.open("wb") as volume:
        volume.truncate(size)
        for run in range(runs):
            volume.seek(run * (RUN + GAP))
            for piece in range(RUN // MiB):
                data = rng.randbytes(MiB)
                volume.write(data if piece % 2 else data.translate(TEXT))
        volume.flush()
        os.fsync(volume.fileno())
    return size


def change(path: Path, fraction: float, piece: int, seed: int) -> int:
    """Overwrite ``fraction`` of the data in ``piece``-sized writes at random data offsets
    (aligned to ``piece``); returns the bytes written."""
    rng = random.Random(seed)
    runs = path.stat().st_size // (RUN + GAP)
    count = max(1, round(runs * RUN * fraction / piece))
    with path.open("r+b") as volume:
        for _ in range(count):
            volume.seek(rng.randrange(runs) * (RUN + GAP) + rng.randrange(RUN // piece) * piece)
            volume.write(rng.randbytes(piece))
        volume.flush()
        os.fsync(volume.fileno())
    return count * piece


def evict(*paths: Path) -> None:
    """Drop the files' clean pages (and every file's under a directory), after writing
    back every dirty page, so no earlier step's writeback runs into the timed one."""
    os.sync()
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for each in files:
            fd = os.open(each, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def tree_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def spread(seconds: list[float]) -> str:
    return f"{min(seconds):7.2f} {statistics.median(seconds):7.2f} {max(seconds):7.2f}"


@contextmanager
def loop_xfs(parent: Path, size: int) -> Iterator[Path]:
    """An XFS with reflink on a sparse image file under ``parent``, on a loop device in
    direct-I/O mode (so an fsync reaches the disk and evicted pages are read from it, not
    from the image file's page cache); removed on exit."""
    image, mount_dir = parent / "xfs.img", parent / "xfs"
    mount_dir.mkdir()
    try:
        with image.open("wb") as sparse:
            sparse.truncate(size)
        command = ["losetup", "--direct-io=on", "--find", "--show", str(image)]
        device = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        try:
            subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", device.strip()], check=True)
            subprocess.run(["mount", device.strip(), str(mount_dir)], check=True)
            try:
                yield mount_dir
            finally:
                subprocess.run(["umount", str(mount_dir)], check=False)
        finally:
            subprocess.run(["losetup", "--detach", device.strip()], check=False)
    finally:
        image.unlink(missing_ok=True)
        if not os.path.ismount(mount_dir):
            mount_dir.rmdir()


class Bench:
    """The volume, the repository and the baselines' files, in one directory."""

    def __init__(self, work: Path, data_bytes: int) -> None:
        self.work = work
        self.volume = work / "volume"
        self.data_bytes = data_bytes
        self.size = write_volume(self.volume, data_bytes)
        self.repository_dir = work / "repository"
        self.kept = work / "kept-snapshot"
        self.archive = work / "volume.tar.zst"

    def full_backup(self, keep: bool) -> float:
        shutil.rmtree(self.repository_dir, ignore_errors=True)
        self.kept.unlink(missing_ok=True)
        evict(self.volume)
        repository = PosixRepository(self.repository_dir)
        keep_at = self.kept if keep else None
        return timed(
            lambda: engine.back_up(
                self.volume, repository, "full", snapshot_dir=self.work, keep_snapshot=keep_at
            )
        )

    def tar_zstd(self) -> float:
        self.archive.unlink(missing_ok=True)
        evict(self.volume)
        command = (
            f"tar --sparse -cf - -C {self.work} {self.volume.name}"
            f" | zstd -T0 -3 -q -o {self.archive}"
        )

        def run() -> None:
            subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)
            fsync_file(self.archive)

        return timed(run)

    def restore(self) -> float:
        target = self.work / "restored"
        target.unlink(missing_ok=True)
        evict(self.repository_dir)
        repository = PosixRepository(self.repository_dir)
        try:
            return timed(lambda: restore.restore(repository, "full", target))
        finally:
            target.unlink(missing_ok=True)

    def sparse_copy(self) -> float:
        target = self.work / "copied"
        target.unlink(missing_ok=True)
        evict(self.volume)

        def copy() -> None:
            command = ["cp", "--sparse=always", "--reflink=never", str(self.volume), str(target)]
            subprocess.run(command, check=True)
            fsync_file(target)

        try:
            return timed(copy)
        finally:
            target.unlink(missing_ok=True)

    def incremental(self, backup_id: str, parent_snapshot: Path | None) -> engine.BackupResult:
        evict(self.volume)
        repository = PosixRepository(self.repository_dir)
        keep_at = self.work / f"kept-{backup_id}"
        return engine.back_up(
            self.volume, repository, backup_id, "full", snapshot_dir=self.work,
            parent_snapshot=parent_snapshot, keep_snapshot=keep_at,
        )  # fmt: skip


def interleaved(
    first: Callable[[], float], second: Callable[[], float], runs: int
) -> tuple[list[float], list[float]]:
    """Run both ``runs`` times, alternating which goes first (the disk's state drifts)."""
    a: list[float] = []
    b: list[float] = []
    for run in range(runs):
        if run % 2:
            b.append(second())
            a.append(first())
        else:
            a.append(first())
            b.append(second())
    return a, b


def measure(bench: Bench, runs: int) -> None:
    gib = bench.data_bytes / GiB
    print(f"volume: {bench.size / GiB:.1f} GiB holding {gib:.1f} GiB of data; {runs} run(s)")
    print(f"\n{'':44}{'min':>7} {'median':>7} {'max':>7} {'x base':>7}")

    ours, base = interleaved(lambda: bench.full_backup(keep=False), bench.tar_zstd, runs)
    ours.append(bench.full_backup(keep=True))  # the one the incrementals build on
    ratio = statistics.median(ours) / statistics.median(base)
    print(f"{'tar --sparse | zstd -T0, fsync':44}{spread(base)}")
    print(f"{'full backup (hearth)':44}{spread(ours)} {ratio:7.2f}   target <= 1.3")

    ours, base = interleaved(bench.restore, bench.sparse_copy, runs)
    ratio = statistics.median(ours) / statistics.median(base)
    print(f"{'cp --sparse=always, fsync':44}{spread(base)}")
    print(f"{'restore (hearth)':44}{spread(ours)} {ratio:7.2f}   target <= 1.3")

    stored, archive = tree_bytes(bench.repository_dir), bench.archive.stat().st_size
    print(f"\nrepository {stored / MiB:.0f} MiB; tar.zst {archive / MiB:.0f} MiB; ", end="")
    print(f"ratio {stored / archive:.3f}; data {bench.data_bytes / MiB:.0f} MiB")

    print(f"\n{'incremental after 1% changed':34}{'seconds':>8}{'read MiB':>10}"
          f"{'% of data':>10}{'stored MiB':>11}")  # fmt: skip
    written = change(bench.volume, 0.01, MiB, seed=2)
    rows = [
        ("1 MiB writes, FIEMAP on snapshots", "clustered", bench.kept),
        ("1 MiB writes, no parent snapshot", "hashed", None),
    ]
    results = []
    for name, backup_id, parent_snapshot in rows:
        start = time.perf_counter()
        result = bench.incremental(backup_id, parent_snapshot)
        results.append((name, time.perf_counter() - start, result))
    change(bench.volume, 0.01, 64 * 1024, seed=3)
    start = time.perf_counter()
    result = bench.incremental("scattered", bench.work / "kept-clustered")
    results.append(("64 KiB writes, FIEMAP on snapshots", time.perf_counter() - start, result))
    for name, seconds, result in results:
        share = 100 * result.bytes_read / bench.data_bytes
        print(f"{name:34}{seconds:8.2f}{result.bytes_read / MiB:10.0f}{share:10.1f}"
              f"{result.bytes_stored / MiB:11.1f}  ({result.change_detection})")  # fmt: skip
    print(f"(each change wrote {written / MiB:.0f} MiB; target: <= 10% read with FIEMAP)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gib", type=int, default=2, help="data in the volume (GiB)")
    parser.add_argument("--dir", type=Path, help="a directory on an XFS with reflink=1")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    data_bytes = args.size_gib * GiB
    if args.dir is not None:
        work = Path(tempfile.mkdtemp(prefix="hearth-bench-", dir=args.dir))
        try:
            measure(Bench(work, data_bytes), args.repeat)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    if os.geteuid() != 0 or not shutil.which("mkfs.xfs"):
        sys.exit("give --dir on an XFS with reflink=1 (making one needs root and mkfs.xfs)")
    parent = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    try:
        need = 6 * data_bytes + 2 * GiB  # volume, repository, archive, restore, copies
        if shutil.disk_usage(parent).free < need:
            sys.exit(f"not enough free space under {parent.parent}")
        with loop_xfs(parent, need) as mount_dir:
            print(f"XFS: {mount_dir} (loop-mounted, made by this script)")
            measure(Bench(mount_dir, data_bytes), args.repeat)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
