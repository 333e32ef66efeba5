"""A backup's manifest: which chunk holds each range of the volume, and where its holes are.

Written by ``engine.back_up`` as the last object of a backup (its presence commits the
backup), read by restore, verify and the garbage collector. Value objects only: encoding
to and from JSON is here, storing them is the repository's business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from hearth import errors

T = TypeVar("T")

FORMAT = 1
"""Version of the manifest document; a reader refuses versions it does not know."""


@dataclass(frozen=True)
class Extent:
    """``length`` bytes of the volume from ``offset``: the chunk keyed ``chunk`` holds
    them, or, when ``chunk`` is None, they are a hole (they read as zeros)."""

    offset: int
    length: int
    chunk: str | None

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class Manifest:
    """One backup: the volume's size and its extents, in order, covering the whole volume.

    ``parent_id`` names the backup an incremental was taken against (its chunks are shared
    through their keys; restore needs only this manifest). ``compression`` is the codec of
    every chunk this manifest names; it is part of each chunk's key (``chunks.key_of``).
    """

    backup_id: str
    parent_id: str | None
    volume_size: int
    chunk_size: int
    compression: str
    extents: tuple[Extent, ...]
    created_at: str

    def chunk_keys(self) -> frozenset[str]:
        return frozenset(extent.chunk for extent in self.extents if extent.chunk is not None)

    def data_bytes(self) -> int:
        """Bytes of the volume held in chunks (the rest are holes)."""
        return sum(extent.length for extent in self.extents if extent.chunk is not None)


def encode(manifest: Manifest) -> bytes:
    document = {
        "format": FORMAT,
        "backup_id": manifest.backup_id,
        "parent_id": manifest.parent_id,
        "volume_size": manifest.volume_size,
        "chunk_size": manifest.chunk_size,
        "compression": manifest.compression,
        "created_at": manifest.created_at,
        # [offset, length, key-or-null]: compact, a TiB volume has 262,144 of them
        "extents": [[e.offset, e.length, e.chunk] for e in manifest.extents],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(backup_id: str, data: bytes) -> Manifest:
    """The manifest stored for ``backup_id``; BackupCorrupt if it is not a sound one."""
    try:
        document = json.loads(data)
        if document["format"] != FORMAT:
            raise ValueError(f"unknown manifest format {document['format']!r}")
        manifest = Manifest(
            backup_id=_typed(document["backup_id"], str),
            parent_id=_optional(document["parent_id"], str),
            volume_size=_typed(document["volume_size"], int),
            chunk_size=_typed(document["chunk_size"], int),
            compression=_typed(document["compression"], str),
            extents=tuple(_extent(item) for item in document["extents"]),
            created_at=_typed(document["created_at"], str),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.BackupCorrupt(
            backup_id=backup_id, reason="its manifest is unreadable"
        ) from exc
    check(manifest)
    return manifest


def check(manifest: Manifest) -> None:
    """Refuse a manifest whose extents do not tile the volume in order (BackupCorrupt)."""
    position = 0
    for extent in manifest.extents:
        if extent.offset != position or extent.length <= 0:
            raise errors.BackupCorrupt(
                backup_id=manifest.backup_id, reason=f"its extents break at offset {position}"
            )
        position = extent.end
    if position != manifest.volume_size:
        raise errors.BackupCorrupt(
            backup_id=manifest.backup_id, reason="its extents do not cover the volume"
        )


def _extent(item: Any) -> Extent:
    offset, length, chunk = item
    return Extent(_typed(offset, int), _typed(length, int), _optional(chunk, str))


def _optional(value: Any, kind: type[T]) -> T | None:
    return None if value is None else _typed(value, kind)


def _typed(value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value
