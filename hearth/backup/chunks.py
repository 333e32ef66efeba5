"""One chunk of a volume: its key, its encoding, and writing it back without filling holes.

Used by ``engine`` on both sides of a backup and by ``catalog.verify``. A chunk's key is
the sha256 of its codec's name and its uncompressed bytes, so the key is checked against
the data after decoding, and two backups that compress differently never share a key
whose object one of them could not decode. Codecs are a table (``CODECS``); the one a
backup used is recorded in its manifest. zstandard releases the GIL while it works, so
the engine runs codecs in a thread pool.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import zstandard

from hearth import errors

BLOCK = 4096
"""Restore leaves an aligned all-zero block of this size unwritten, so it stays a hole."""
_ZERO_BLOCK = bytes(BLOCK)
_WRITE_STEP = 1 << 20


@dataclass(frozen=True)
class Codec:
    """How chunk objects are encoded: ``encode(data, level)`` and its inverse."""

    encode: Callable[[bytes, int], bytes]
    decode: Callable[[bytes], bytes]


_local = threading.local()  # zstandard's contexts are not thread-safe: one per thread


def _zstd_encode(data: bytes, level: int) -> bytes:
    compressors: dict[int, zstandard.ZstdCompressor] = _local.__dict__.setdefault("zc", {})
    if level not in compressors:
        compressors[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return compressors[level].compress(data)


def _zstd_decode(data: bytes) -> bytes:
    if not hasattr(_local, "zd"):
        _local.zd = zstandard.ZstdDecompressor()
    decompressor: zstandard.ZstdDecompressor = _local.zd
    return decompressor.decompress(data)


CODECS: dict[str, Codec] = {
    "zstd": Codec(encode=_zstd_encode, decode=_zstd_decode),
    "none": Codec(encode=lambda data, _level: data, decode=lambda data: data),
}


def codec(name: str) -> Codec:
    """The codec called ``name``; InvalidInput for one this build does not have."""
    try:
        return CODECS[name]
    except KeyError:
        known = ", ".join(sorted(CODECS))
        raise errors.InvalidInput(
            field="compression", reason=f"{name!r} is not one of {known}"
        ) from None


def key_of(compression: str, data: bytes) -> str:
    """The key of a chunk holding ``data`` encoded with ``compression``."""
    digest = hashlib.sha256(compression.encode())
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


def is_zero(data: bytes) -> bool:
    """Whether ``data`` holds only zero bytes (a memcmp against fresh zero pages)."""
    return data == bytes(len(data))


def unpack(backup_id: str, compression: str, key: str, stored: bytes | None) -> bytes:
    """The bytes a stored chunk holds, checked against its key; BackupCorrupt when the
    chunk is missing, does not decode, or hashes to another key."""
    if stored is None:
        raise errors.BackupCorrupt(backup_id=backup_id, reason=f"chunk {key} is missing")
    try:
        data = codec(compression).decode(stored)
    except zstandard.ZstdError as exc:
        raise errors.BackupCorrupt(
            backup_id=backup_id, reason=f"chunk {key} does not decompress"
        ) from exc
    if key_of(compression, data) != key:
        raise errors.BackupCorrupt(
            backup_id=backup_id, reason=f"chunk {key} does not match its hash"
        )
    return data


def write_sparse(fd: int, data: bytes, offset: int) -> int:
    """Write ``data`` at ``offset`` except its aligned all-zero blocks (a fresh file reads
    zeros there already, and unwritten they stay holes). Returns the bytes written."""
    if data.find(_ZERO_BLOCK) < 0:  # the common case: no zero block at all
        _write_all(fd, memoryview(data), offset)
        return len(data)
    view = memoryview(data)
    written = 0
    start: int | None = None  # where the run of non-zero blocks being collected begins
    for position in range(0, len(data), BLOCK):
        # a bytes slice compares by memcmp; a memoryview slice would compare item by item
        zero = data[position : position + BLOCK] == _ZERO_BLOCK
        if zero and start is not None:
            _write_all(fd, view[start:position], offset + start)
            written += position - start
            start = None
        elif not zero and start is None:
            start = position
    if start is not None:
        _write_all(fd, view[start:], offset + start)
        written += len(data) - start
    return written


def _write_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        # in steps of 1 MiB: measured faster into the page cache than one 4 MiB write
        done = os.pwrite(fd, view[:_WRITE_STEP], offset)
        view, offset = view[done:], offset + done
