"""Images for the tests, made with the real ``qemu-img``, holding known data.

``known_raw`` writes a sparse raw disk with recognizable data at its start, middle and end;
``made_as`` converts it to another format with the tool itself. The hostile set is built
here too: a qcow2 whose backing file is ``/etc/passwd``, a qcow2 with an external data file,
VMDKs whose descriptor names a flat extent, and ``HOSTILE`` pairs each hostile image with
the error that must refuse it (the inspection, store and create tests share it). Test
code calls qemu-img by its absolute path, so the ``qemu_img_calls`` recorder (a wrapper
first on PATH) sees only Hearth's calls and can prove that Hearth never ran qemu-img on a
hostile file.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hearth import errors
from hearth.db import images as db_images
from hearth.db import models
from hearth.image import fetch
from hearth.service.facade import Hearth
from tests.conftest import require

MiB = 1 << 20
GiB = 1 << 30
QEMU_IMG = shutil.which("qemu-img") or "qemu-img"
"""The real tool, resolved before any test puts its recorder first on PATH."""
VIRTUAL_SIZE = 32 * MiB
DATA_AT = (0, 11 * MiB, VIRTUAL_SIZE - 256 * 1024)
"""Where ``known_raw`` writes data (1 MiB, 1 MiB, the last 256 KiB)."""


def qemu_img(*args: str) -> None:
    """Run the real qemu-img for a test (never recorded)."""
    require(shutil.which(QEMU_IMG) is not None, "qemu-img (qemu-utils) is not installed")
    subprocess.run([QEMU_IMG, *args], check=True, capture_output=True)


def pattern(seed: str, length: int) -> bytes:
    """Data that is not zero, not compressible to nothing, and says what it is."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:length])


def known_raw(path: Path, seed: str = "image", size: int = VIRTUAL_SIZE) -> Path:
    """A sparse raw disk of ``size`` bytes with data at DATA_AT (scaled to ``size``)."""
    with path.open("wb") as disk:
        disk.truncate(size)
        for index, offset in enumerate(DATA_AT):
            at = min(offset, size - 256 * 1024)
            disk.seek(at)
            disk.write(pattern(f"{seed}-{index}", min(MiB, size - at)))
    return path


def made_as(raw: Path, fmt: str, out: Path, *options: str) -> Path:
    """``raw`` converted to ``fmt`` by qemu-img (``options`` go to ``-o``/``-c``)."""
    qemu_img("convert", "-f", "raw", "-O", fmt, *options, str(raw), str(out))
    return out


def sha256_of(path: Path, length: int) -> str:
    """The sha256 of the first ``length`` bytes of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        remaining = length
        while remaining:
            chunk = source.read(min(8 * MiB, remaining))
            assert chunk, "the file is shorter than expected"
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def zeros_after(path: Path, offset: int) -> bool:
    """Whether every byte of the file from ``offset`` on reads as zero (sparse-aware)."""
    with path.open("rb") as source:
        fd, size = source.fileno(), os.fstat(source.fileno()).st_size
        position = offset
        while position < size:
            try:
                start = os.lseek(fd, position, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    return True
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            for at in range(start, end, 8 * MiB):
                if os.pread(fd, min(8 * MiB, end - at), at).count(0) != min(8 * MiB, end - at):
                    return False
            position = end
    return True


@functools.cache
def _digest_of_disk(raw: Path, mtime_ns: int) -> tuple[int, str]:
    length = raw.stat().st_size
    return length, sha256_of(raw, length)


def holds_image(volume: Path, raw: Path, volume_bytes: int) -> bool:
    """Whether the volume is ``volume_bytes`` long, starts with exactly the raw disk's bytes
    and reads as zeros after them."""
    length, digest = _digest_of_disk(raw, raw.stat().st_mtime_ns)
    return (
        volume.stat().st_size == volume_bytes
        and sha256_of(volume, length) == digest
        and zeros_after(volume, length)
    )


def empty_qcow2(out: Path, size: str) -> Path:
    """A qcow2 of virtual size ``size`` (qemu-img's units) holding no data."""
    qemu_img("create", "-f", "qcow2", str(out), size)
    return out


# the hostile set


def with_backing_file(out: Path, backing: str = "/etc/passwd") -> Path:
    """A qcow2 that reads its data from a host file."""
    qemu_img("create", "-f", "qcow2", "-b", backing, "-F", "raw", str(out), "64M")
    return out


def with_data_file(out: Path, data_file: Path) -> Path:
    """A qcow2 whose data lives in another (external) file."""
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={data_file}", str(out), "64M")
    return out


def vmdk_descriptor_with_flat_extent(out: Path, target: str = "/etc/passwd") -> Path:
    """A text VMDK descriptor whose only extent is a host file (monolithicFlat)."""
    out.write_text(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicFlat"\n\n'
        f'RW 2048 FLAT "{target}" 0\n\n'
        'ddb.virtualHWVersion = "4"\nddb.geometry.cylinders = "2"\n'
    )
    return out


def sparse_vmdk_with_flat_extent(raw: Path, out: Path, target: str = "/etc/passwd") -> Path:
    """A monolithicSparse VMDK whose embedded descriptor also lists a flat extent."""
    made_as(raw, "vmdk", out)
    data = bytearray(out.read_bytes())
    start = data.index(b"# Disk DescriptorFile")
    end = data.index(b"\0", start)
    text = data[start:end].decode()
    extra = f'RW 2048 FLAT "{target}" 0\n'
    text = text.replace("# The Disk Data Base", extra + "# The Disk Data Base", 1)
    assert len(text) <= len(data) - start, "the descriptor no longer fits"
    data[start : start + len(text)] = text.encode()
    out.write_bytes(bytes(data))
    return out


HOSTILE: dict[str, tuple[Callable[[Path], Path], str, type[errors.HearthError], str]] = {
    "qcow2 with /etc/passwd as backing file": (
        lambda d: with_backing_file(d / "backed.qcow2"),
        "qcow2",
        errors.ImageUnsafe,
        "it has a backing file",
    ),
    "qcow2 with an external data file": (
        lambda d: with_data_file(d / "external.qcow2", d / "data.raw"),
        "qcow2",
        errors.ImageUnsafe,
        "it has an external data file",
    ),
    "VMDK descriptor with a flat extent": (
        lambda d: vmdk_descriptor_with_flat_extent(d / "flat.vmdk"),
        "vmdk",
        errors.ImageUnsafe,
        "VMDK descriptor is unsupported or refers to files outside the image",
    ),
    "sparse VMDK whose descriptor adds a flat extent": (
        lambda d: sparse_vmdk_with_flat_extent(known_raw(d / "base.raw"), d / "sparse.vmdk"),
        "vmdk",
        errors.ImageUnsafe,
        "refers to files outside the image",
    ),
    "sparse VMDK whose flat extent names a file beside it": (
        lambda d: sparse_vmdk_with_flat_extent(
            known_raw(d / "base.raw"), d / "beside.vmdk", target="image-other"
        ),
        "vmdk",
        errors.ImageUnsafe,
        "its VMDK extents refer to data outside the image",
    ),
    "qcow2 declared as raw": (
        lambda d: made_as(known_raw(d / "base.raw"), "qcow2", d / "q.qcow2"),
        "raw",
        errors.ImageFormatMismatch,
        "declared as raw but its content is qcow2",
    ),
    "raw declared as qcow2": (
        lambda d: known_raw(d / "plain.raw"),
        "qcow2",
        errors.ImageFormatMismatch,
        "declared as qcow2 but its content is raw",
    ),
}
"""The hostile set, by case: how to build each image in a directory, the format it is
declared as, the error that must refuse it, and a fragment of that error's user message."""


@dataclass
class QemuImgCalls:
    """Every qemu-img run by Hearth while the recorder is installed: its arguments."""

    log: Path

    def all(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def count(self, subcommand: str) -> int:
        return sum(1 for line in self.all() if line.split(" ", 1)[0] == subcommand)


@pytest.fixture
def qemu_img_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QemuImgCalls]:
    """A ``qemu-img`` first on PATH that records its arguments and runs the real tool."""
    require(shutil.which(QEMU_IMG) is not None, "qemu-img (qemu-utils) is not installed")
    bin_dir = tmp_path / "recorder-bin"
    bin_dir.mkdir()
    log = tmp_path / "qemu-img-calls.log"
    wrapper = bin_dir / "qemu-img"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{QEMU_IMG}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield QemuImgCalls(log)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1 (a thread), and its base URL."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def plant(hearth: Hearth, source: Path, disk_format: str, virtual_size: int | None = None) -> str:
    """Put a file in the image store with an active row, skipping the upload's inspection
    (as if an older release had accepted it): the create path must inspect on its own."""
    data = source.read_bytes()
    with hearth.services.db.transaction() as session:
        row = db_images.create(
            session,
            name=source.name,
            owner="admin",
            visibility="private",
            disk_format=disk_format,
            container_format="bare",
            status="active",
            size=len(data),
            checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            os_hash_algo="sha256",
            os_hash_value=hashlib.sha256(data).hexdigest(),
            virtual_size=virtual_size or VIRTUAL_SIZE,
            updated_at=models.utcnow(),
        )
    directory = hearth.services.settings.image_directory
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, fetch.stored_file(directory, row.id))
    return row.id
