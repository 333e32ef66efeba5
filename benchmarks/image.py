"""Creates from a 2 GiB qcow2 image (~30% data): cold, warm, and 20 at once.

Everything runs through the library facade (``Hearth``) on one data directory on XFS with
reflink (as root, the script makes and mounts its own on a sparse loop file; or give
``--dir``), with baselines measured in the same run on the same file system:

- cold: a create that misses the image-volume cache (fetch with hash verification,
  inspection, ``qemu-img info``, ``qemu-img convert`` into the cache entry, fsync, reflink
  clone), against a bare ``qemu-img convert -f qcow2 -O raw`` of the same stored file
  (target: at least 80% of its throughput). The bare convert leaves its output in the page
  cache; the same convert followed by an fsync is shown too. A create with the cache off
  (straight into the volume) is shown as well.
- warm: a create that hits the cache (a reflink clone of the entry), against a create of an
  empty raw volume of the same size (target: at most 1.5x its time).
- 20 concurrent creates from the image with an empty cache: total time, fetches and
  conversions counted (target: 1 and 1).

Medians of ``--repeat`` runs (cold: interleaved and rotated, after one discarded warm-up
round) and of 20 runs (warm and raw, alternated); each run starts after an ``os.sync()``,
so none pays for an earlier run's writeback. Prints the samples, then one table of seconds,
throughput and ratios. Every file is removed at the end.

    python benchmarks/image.py [--dir PATH] [--repeat N] [--data-percent 30]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config
from hearth.image import fetch, qemu
from hearth.service.facade import Hearth

GiB = 1 << 30
MiB = 1 << 20
IMAGE_SIZE = 2 * GiB
WARM_RUNS = 20
CONCURRENT = 20


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` takes, started with no dirty data left by earlier runs."""
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextmanager
def loop_xfs(parent: Path, size: int = 12 * GiB) -> Iterator[Path]:
    """A fresh XFS (reflink=1) on a sparse file under ``parent``, mounted; removed after."""
    image, mount_dir = parent / "xfs.img", parent / "xfs"
    mount_dir.mkdir()
    with image.open("wb") as sparse:
        sparse.truncate(size)
    subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount_dir)], check=True)
    try:
        yield mount_dir
    finally:
        subprocess.run(["umount", str(mount_dir)], check=False)
        image.unlink(missing_ok=True)


def make_qcow2(work: Path, data_percent: int) -> Path:
    """A 2 GiB qcow2 whose data (random, so incompressible) covers ``data_percent``% of the
    disk, spread in 1 MiB runs."""
    raw, qcow2 = work / "source.raw", work / "source.qcow2"
    with raw.open("wb") as disk:
        disk.truncate(IMAGE_SIZE)
        for index in range(IMAGE_SIZE // MiB):
            if index % 100 < data_percent:
                disk.seek(index * MiB)
                disk.write(os.urandom(MiB))
    command = ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)]
    subprocess.run(command, check=True)
    raw.unlink()
    return qcow2


class Counters:
    """Counts fetches and qemu-img conversions by wrapping the functions that do them."""

    def __init__(self) -> None:
        self.fetches = 0
        self.conversions = 0
        self._lock = threading.Lock()
        real_fetch, real_run = fetch.LocalFetcher.fetch, qemu.run

        def counted_fetch(fetcher: fetch.LocalFetcher, *args: Any) -> Any:
            with self._lock:
                self.fetches += 1
            return real_fetch(fetcher, *args)

        def counted_run(args: Any, **kwargs: Any) -> str:
            if args[0] == "convert":
                with self._lock:
                    self.conversions += 1
            return real_run(args, **kwargs)

        fetch.LocalFetcher.fetch = counted_fetch  # type: ignore[method-assign]
        qemu.run = counted_run

    def reset(self) -> None:
        self.fetches = self.conversions = 0


def sha256_of(path: Path) -> str:
    """What verifying the stored file costs by itself (the create hashes it in a thread)."""
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def bare_convert(source: Path, target: Path, *, durable: bool) -> float:
    def convert() -> None:
        command = ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(source), str(target)]
        subprocess.run(command, check=True)
        if durable:
            fd = os.open(target, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)

    seconds = timed(convert)
    target.unlink()
    return seconds


def cold_create(hearth: Hearth, image_id: str) -> float:
    hearth.clear_image_cache()
    seconds = timed(lambda: check(hearth.create_volume(image_id=image_id)))
    drop_volumes(hearth)
    return seconds


def check(volume: Any) -> None:
    if volume.status != "available":
        raise SystemExit(f"create failed: {volume.status}")


def drop_volumes(hearth: Hearth) -> None:
    for volume in hearth.list_volumes():
        hearth.delete_volume(volume.id)


def concurrent_creates(hearth: Hearth, image_id: str, counters: Counters) -> float:
    hearth.clear_image_cache()
    counters.reset()
    barrier = threading.Barrier(CONCURRENT + 1)
    failures: list[str] = []

    def create() -> None:
        barrier.wait()
        volume = hearth.create_volume(image_id=image_id)
        if volume.status != "available":
            failures.append(volume.status)

    threads = [threading.Thread(target=create) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} concurrent creates failed")
    drop_volumes(hearth)
    return seconds


def run(work: Path, repeat: int, data_percent: int) -> None:
    settings = config.load(
        data_dir=work / "data", overrides={"notifications": {"drivers": []}}, environ={}
    )
    counters = Counters()
    print(f"making a 2 GiB qcow2 with {data_percent}% data ...", flush=True)
    source = make_qcow2(work, data_percent)
    source_mib = source.stat().st_size // MiB
    print(f"qcow2 file: {source_mib} MiB", flush=True)
    with Hearth.open(settings=settings) as hearth:
        image = hearth.create_image("bench", disk_format="qcow2", file=source)
        stored = fetch.stored_file(settings.image_directory, image.id)
        bare: list[float] = []
        durable: list[float] = []
        cold: list[float] = []
        direct: list[float] = []
        hashing = statistics.median(timed(lambda: sha256_of(stored)) for _ in range(3))
        methods: list[Callable[[], None]] = [
            lambda: bare.append(bare_convert(stored, work / "bare.raw", durable=False)),
            lambda: durable.append(bare_convert(stored, work / "bare.raw", durable=True)),
            lambda: cold.append(cold_create(hearth, image.id)),
        ]
        for turn in range(repeat + 1):  # interleaved and rotated: disk drift hits every method
            for method in methods[turn % 3 :] + methods[: turn % 3]:
                method()
            if turn == 0:  # warm-up: the page cache and the file system settle
                for samples in (bare, durable, cold):
                    samples.clear()
        check(hearth.create_volume(image_id=image.id))  # the cache holds the image now
        warm: list[float] = []
        raw: list[float] = []
        for _ in range(WARM_RUNS):  # alternated, so load on the machine hits both
            warm.append(timed(lambda: check(hearth.create_volume(image_id=image.id))))
            raw.append(timed(lambda: check(hearth.create_volume(2))))
        drop_volumes(hearth)
        together = concurrent_creates(hearth, image.id, counters)
        fetched, converted = counters.fetches, counters.conversions
    with Hearth.open(
        settings=settings.model_copy(
            update={
                "backends": {
                    name: section.model_copy(
                        update={"image_cache": config.ImageCacheSettings(enabled=False)}
                    )
                    for name, section in settings.backends.items()
                }
            }
        )
    ) as hearth:
        cold_create(hearth, image.id)  # warm-up, discarded
        for _ in range(repeat):
            direct.append(cold_create(hearth, image.id))
    print("samples (s):", [[round(x, 2) for x in s] for s in (bare, durable, cold, direct)])
    report(bare, durable, cold, direct, warm, raw, together, fetched, converted)
    print(f"\nsha256 of the stored {source_mib} MiB file alone: {hashing:.3f} s (the create "
          "verifies it in a thread while qemu-img converts)")  # fmt: skip


def report(
    bare: list[float],
    durable: list[float],
    cold: list[float],
    direct: list[float],
    warm: list[float],
    raw: list[float],
    together: float,
    fetched: int,
    converted: int,
) -> None:
    median = statistics.median
    plain, synced = median(bare), median(durable)

    def line(name: str, seconds: float) -> None:
        rate = IMAGE_SIZE / seconds / 1e9
        shares = f"{plain / seconds:>11.0%}{synced / seconds:>14.0%}"
        print(f"{name:<42}{seconds:>9.3f}{rate:>8.2f}{shares}")

    print(f"\n{'cold, 2 GiB virtual (medians)':<42}{'seconds':>9}{'GB/s':>8}{'vs bare':>11}"
          f"{'vs bare+fsync':>14}")  # fmt: skip
    line("bare qemu-img convert", plain)
    line("bare qemu-img convert + fsync", synced)
    line("create, cache miss (convert, then clone)", median(cold))
    line("create, cache off (convert into volume)", median(direct))
    for name, base in (("bare convert", plain), ("bare convert + fsync", synced)):
        share = base / median(cold)
        verdict = "met" if share >= 0.8 else "NOT met"
        print(f"cold create throughput = {share:.0%} of {name} (target >= 80%: {verdict})")
    print(f"\n{'warm, 2 GiB (medians)':<42}{'seconds':>9}")
    print(f"{'create of an empty raw volume':<42}{median(raw):>9.4f}")
    print(f"{'create, cache hit (reflink clone)':<42}{median(warm):>9.4f}")
    ratio = median(warm) / median(raw)
    print(f"warm / raw = {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"\n{CONCURRENT} concurrent creates from one uncached image: {together:.2f} s in all; "
          f"fetches {fetched}, conversions {converted} (target: 1 and 1)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="A directory on XFS with reflink to use.")
    parser.add_argument("--repeat", type=int, default=7, help="Cold runs per method [7].")
    parser.add_argument("--data-percent", type=int, default=30)
    args = parser.parse_args()
    if args.dir is not None:
        work = Path(tempfile.mkdtemp(dir=args.dir))
        try:
            run(work, args.repeat, args.data_percent)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    if os.geteuid() != 0 or shutil.which("mkfs.xfs") is None:
        raise SystemExit("give --dir on XFS with reflink, or run as root with mkfs.xfs")
    with tempfile.TemporaryDirectory() as parent, loop_xfs(Path(parent)) as mount_dir:
        run(mount_dir, args.repeat, args.data_percent)


if __name__ == "__main__":
    main()
