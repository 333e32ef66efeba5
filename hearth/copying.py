"""Moving volume bytes between files: reflink clones and sparse-aware copies.

A helper at the bottom of the layers, not a driver: the file driver uses it for clones and
snapshots (any driver that holds volumes as local files may), and a backup for the
temporary snapshot it reads (``hearth.backup.snapshot``). A reflink (FICLONE) shares
the source's extents and costs the same whatever the size; where the file system cannot
reflink, a sparse copy walks the source's data extents (SEEK_DATA/SEEK_HOLE) and copies only
those with ``copy_file_range``, so holes stay holes. Both raise OSError; the caller
translates it (``errors.from_os_error``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import uuid
from pathlib import Path

FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
CHUNK = 64 << 20
# errno values meaning "this file system (or pair of files) cannot reflink"
NO_REFLINK = frozenset(
    {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}
)


def reflink(src_fd: int, dst_fd: int) -> None:
    """Make ``dst_fd`` share all of ``src_fd``'s data (same size). Raises OSError."""
    fcntl.ioctl(dst_fd, FICLONE, src_fd)


def sparse_copy(src_fd: int, dst_fd: int) -> int:
    """Copy the data extents of ``src_fd`` into ``dst_fd`` at the same offsets, and give
    ``dst_fd`` the source's size. Holes are skipped. Returns the bytes copied."""
    size = os.fstat(src_fd).st_size
    os.ftruncate(dst_fd, size)
    copied = 0
    offset = 0
    while offset < size:
        try:
            start = os.lseek(src_fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after offset: the rest is a hole
                break
            raise
        end = os.lseek(src_fd, start, os.SEEK_HOLE)
        copied += _copy_range(src_fd, dst_fd, start, end)
        offset = end
    return copied


def _copy_range(src_fd: int, dst_fd: int, start: int, end: int) -> int:
    position = start
    while position < end:
        count = min(CHUNK, end - position)
        try:
            done = os.copy_file_range(src_fd, dst_fd, count, position, position)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            done = _read_write(src_fd, dst_fd, position, count)
        if done == 0:  # the source shrank under us
            raise OSError(errno.EIO, "source ended early during copy")
        position += done
    return end - start


def _read_write(src_fd: int, dst_fd: int, position: int, count: int) -> int:
    data = os.pread(src_fd, count, position)
    os.pwrite(dst_fd, data, position)
    return len(data)


def supports_reflink(directory: Path) -> bool:
    """Whether files in ``directory`` can be reflinked (probed with two small files)."""
    token = uuid.uuid4().hex
    source, target = directory / f".probe-{token}-a", directory / f".probe-{token}-b"
    try:
        source.write_bytes(b"hearth reflink probe")
        src_fd = os.open(source, os.O_RDONLY)
        dst_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            reflink(src_fd, dst_fd)
            return True
        except OSError as exc:
            if exc.errno in NO_REFLINK:
                return False
            raise
        finally:
            os.close(src_fd)
            os.close(dst_fd)
    finally:
        source.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
