"""The backup repository interface: an object store of write-once chunks and manifests.

``engine`` and ``catalog`` use only these five primitives, so a repository is any store
that can keep named immutable objects: a directory (``posix.py``), or an S3 bucket through
boto3 (one object per chunk and per manifest, ``put`` as a conditional PUT with
``If-None-Match: *``, ``keys`` as ListObjectsV2 under a prefix). Nothing here assumes a
POSIX rename, a lock or an append.

Two kinds of objects:

- ``chunk``: compressed bytes of one piece of a volume, keyed by a hash of its content
  (``chunks.key_of``), so equal data is stored once however many backups hold it;
- ``manifest``: one backup's ``manifest.Manifest``, keyed by the backup id. A backup is
  committed when its manifest is stored, and it is written after every chunk it names
  was stored, so a manifest a reader finds never names a chunk not yet written.

Writes and deletes of one key may race between processes and hosts: ``put`` is
create-if-absent and ``delete`` accepts a missing object. Keeping a sweep of unreferenced
chunks away from a backup that is still writing (and may rely on a chunk it found) is the
caller's job: ``catalog`` documents the lock.

Every method raises ``errors.BackupRepositoryError`` when the store fails (I/O, no space,
unreachable); a missing object is an answer (None, False), not an error.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Literal

Kind = Literal["chunk", "manifest"]


class BackupRepository(abc.ABC):
    """A store of immutable objects of two kinds. Keys are 1-128 lowercase letters, digits,
    ``-`` and ``_`` (chunk keys: hex digits); a driver refuses others with InvalidInput."""

    name: str
    """How logs and messages name the repository (never a host path)."""

    @abc.abstractmethod
    def put(self, kind: Kind, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` unless an object of that key exists already.

        True when this call stored it, False when an object was there (and was kept: for
        a chunk it holds the same data). When it returns True the object is durable and
        readers see all of it; a reader never sees part of an object.
        """

    @abc.abstractmethod
    def get(self, kind: Kind, key: str) -> bytes | None:
        """The whole object, or None when there is none of that key."""

    @abc.abstractmethod
    def exists(self, kind: Kind, key: str) -> bool:
        """Whether an object of that key is stored (without reading it)."""

    @abc.abstractmethod
    def delete(self, kind: Kind, key: str) -> None:
        """Remove the object, durably. A missing object is already deleted: no error."""

    @abc.abstractmethod
    def keys(self, kind: Kind) -> Iterator[str]:
        """The keys of every stored object of that kind, in no particular order."""
