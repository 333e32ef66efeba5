"""Which parts of a volume file a backup must read.

Used by ``engine.back_up`` on the snapshot it backs up. ``data_windows`` lists the
chunk-aligned windows that hold any data (SEEK_DATA/SEEK_HOLE: holes are never read).
``shared_windows`` compares the snapshot's extent map (FIEMAP) with the parent backup's
kept snapshot: a window whose every byte maps to the same physical blocks in both files
(a reflink that neither side has rewritten since) holds what the parent backed up, so the
incremental takes the parent's record for it without reading it. Where either file's map
is unavailable or untrustworthy (delayed allocation, encoded, inline data), windows count
as changed and the engine reads and hashes them instead.
"""

from __future__ import annotations

import bisect
import errno
import fcntl
import os
import struct
from dataclasses import dataclass

FS_IOC_FIEMAP = 0xC020660B  # _IOWR('f', 11, struct fiemap) from linux/fs.h
FIEMAP_FLAG_SYNC = 0x1
_HEADER = struct.Struct("=QQIIII")  # fm_start, fm_length, fm_flags, mapped, count, reserved
_EXTENT = struct.Struct("=QQQ16xI12x")  # fe_logical, fe_physical, fe_length, fe_flags
_BATCH = 512
LAST = 0x1
UNTRUSTED = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400
"""UNKNOWN, DELALLOC, ENCODED, DATA_ENCRYPTED, NOT_ALIGNED, DATA_INLINE, DATA_TAIL: the
physical address says nothing about sharing."""
NO_FIEMAP = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.ENOSYS})


@dataclass(frozen=True)
class Mapping:
    """``length`` bytes of the file at ``logical`` live at ``physical`` on the device."""

    logical: int
    physical: int
    length: int
    flags: int


def data_windows(fd: int, size: int, chunk_size: int) -> list[int]:
    """The offsets of the ``chunk_size`` windows of the file that hold data, in order."""
    windows: list[int] = []
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after offset: the rest is a hole
                break
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        first = max(start // chunk_size * chunk_size, windows[-1] + chunk_size if windows else 0)
        windows.extend(range(first, end, chunk_size))
        offset = end
    return windows


def extent_map(fd: int) -> list[Mapping] | None:
    """The file's extents (FIEMAP, after a sync), or None where the file system has none."""
    mappings: list[Mapping] = []
    start = 0
    while True:
        request = bytearray(_HEADER.size + _BATCH * _EXTENT.size)
        _HEADER.pack_into(request, 0, start, (1 << 64) - 1 - start, FIEMAP_FLAG_SYNC, 0, _BATCH, 0)
        try:
            fcntl.ioctl(fd, FS_IOC_FIEMAP, request)
        except OSError as exc:
            if exc.errno in NO_FIEMAP:
                return None
            raise
        mapped = _HEADER.unpack_from(request, 0)[3]
        for index in range(mapped):
            logical, physical, length, flags = _EXTENT.unpack_from(
                request, _HEADER.size + index * _EXTENT.size
            )
            mappings.append(Mapping(logical, physical, length, flags))
        if mapped == 0 or mappings[-1].flags & LAST:
            return mappings
        start = mappings[-1].logical + mappings[-1].length


def shared_windows(
    new: list[Mapping], old: list[Mapping], windows: list[int], chunk_size: int, size: int
) -> set[int]:
    """The windows (of ``windows``) whose bytes map to the same physical blocks in the
    file mapped by ``new`` and in the one mapped by ``old``."""
    new_ends = [m.logical + m.length for m in new]
    old_ends = [m.logical + m.length for m in old]
    shared = set()
    for start in windows:
        end = min(start + chunk_size, size)
        mine = _segments(new, new_ends, start, end)
        if mine and mine == _segments(old, old_ends, start, end):
            shared.add(start)
    return shared


def _segments(
    mappings: list[Mapping], ends: list[int], start: int, end: int
) -> list[tuple[int, int, int]] | None:
    """``(logical, physical, length)`` of the bytes in [start, end), merged where they are
    contiguous on both sides; None when a mapping there cannot be trusted."""
    segments: list[tuple[int, int, int]] = []
    index = bisect.bisect_right(ends, start)
    while index < len(mappings) and mappings[index].logical < end:
        mapping = mappings[index]
        if mapping.flags & UNTRUSTED:
            return None
        low, high = max(start, mapping.logical), min(end, mapping.logical + mapping.length)
        physical = mapping.physical + (low - mapping.logical)
        if segments and segments[-1][0] + segments[-1][2] == low:
            logical, first_physical, length = segments[-1]
            if first_physical + length == physical:
                segments[-1] = (logical, first_physical, length + high - low)
                index += 1
                continue
        segments.append((low, physical, high - low))
        index += 1
    return segments
