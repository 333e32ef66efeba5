"""Real file systems for the file driver's tests: a loop-mounted XFS that can reflink.

``xfs_mount`` is one XFS (``mkfs.xfs -m reflink=1``) per test session, on a sparse image
file mounted with ``mount -o loop``; ``xfs_dir`` is a fresh directory on it per test, removed
afterwards. Making it needs root and ``mkfs.xfs``: without them the tests that use it skip,
and fail under ``CI=true`` (see ``tests.conftest.require``).

Test modules import the fixtures (``from tests.xfs import xfs_dir, xfs_mount``); however many
modules do, the session mounts one file system, and unmounts it and deletes its image at the
end even when tests failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require

GiB = 1 << 30
IMAGE_SIZE = 6 * GiB
"""Size of the XFS image: room for a 1 GiB volume full of data and its copies."""

_mounted: dict[str, Path] = {}
"""The session's XFS mount point, once some module's copy of ``xfs_mount`` has made it."""


def filesystem_type(path: Path) -> str:
    """The type of the file system holding ``path``, as ``stat -f`` names it (ext4 is
    ``ext2/ext3``, XFS is ``xfs``)."""
    result = subprocess.run(
        ["stat", "--file-system", "--format=%T", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _run(command: list[str]) -> str | None:
    """Run ``command``; the reason it failed, or None when it succeeded."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"{command[0]}: {exc}"
    if result.returncode != 0:
        return f"`{' '.join(command)}` failed: {result.stderr.strip() or result.returncode}"
    return None


def unmount(mount_dir: Path) -> None:
    """Unmount ``mount_dir``, retrying while it is busy, detaching lazily as a last resort."""
    for _ in range(10):
        if not os.path.ismount(mount_dir) or _run(["umount", str(mount_dir)]) is None:
            return
        time.sleep(0.5)
    _run(["umount", "--lazy", str(mount_dir)])


@contextmanager
def loop_mounted_xfs(parent: Path, size: int = IMAGE_SIZE) -> Iterator[Path]:
    """A fresh XFS with reflink on a sparse image file under ``parent``, mounted at a
    directory beside it; unmounted and deleted on exit.

    Skips (or fails under CI=true) when the machine cannot make one.
    """
    require(os.geteuid() == 0, "a loop-mounted XFS needs root")
    require(shutil.which("mkfs.xfs") is not None, "a loop-mounted XFS needs mkfs.xfs (xfsprogs)")
    image, mount_dir = parent / "xfs.img", parent / "xfs"
    mount_dir.mkdir()
    try:
        with image.open("wb") as sparse:
            sparse.truncate(size)
        problem = _run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)])
        problem = problem or _run(["mount", "-o", "loop", str(image), str(mount_dir)])
        require(problem is None, f"cannot make a loop-mounted XFS: {problem}")
        try:
            yield mount_dir
        finally:
            unmount(mount_dir)
    finally:
        image.unlink(missing_ok=True)
        if not os.path.ismount(mount_dir):
            shutil.rmtree(mount_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def xfs_mount(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The mount point of the session's XFS (reflink=1)."""
    if "xfs" in _mounted:  # another module's copy of this fixture has mounted it already
        yield _mounted["xfs"]
        return
    with loop_mounted_xfs(tmp_path_factory.mktemp("xfs")) as mount_dir:
        _mounted["xfs"] = mount_dir
        try:
            yield mount_dir
        finally:
            del _mounted["xfs"]


@pytest.fixture
def xfs_dir(xfs_mount: Path) -> Iterator[Path]:
    """An empty directory on the session's XFS, removed after the test to free its space."""
    directory = Path(tempfile.mkdtemp(dir=xfs_mount))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)
