"""A backup repository in a directory: local, or an NFS mount shared by several hosts.

Layout under the repository's root::

    chunks/ab/cd/<key>       one file per chunk (``ab``, ``cd``: the key's first 4 digits,
                             so no directory holds more than a few thousand files)
    manifests/<key>.json     one file per backup
    tmp/                     objects being written; whatever is here is not an object

Every object is written under ``tmp/``, fsynced, then hard-linked to its final name and
the directory fsynced. ``link`` fails when the name exists, so of two writers of one key
(two backups storing the same chunk, on one host or two) exactly one creates it and
neither overwrites the other; a reader sees a whole object or none. Only the creating
writer's ``put`` answers True. A crash leaves at worst a file in ``tmp/`` (removed by
:meth:`PosixRepository.remove_stale_files`).
"""

from __future__ import annotations

import errno
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from hearth import errors
from hearth.backup.drivers import base

KEYS = {
    "chunk": re.compile(r"[0-9a-f]{8,128}"),
    "manifest": re.compile(r"[0-9a-z][0-9a-z_-]{0,127}"),
}
"""Keys become file names: hex digests and UUIDs pass, nothing that can leave a folder."""


class PosixRepository(base.BackupRepository):
    """Chunks and manifests as files under ``root`` (made when missing)."""

    def __init__(self, root: Path, name: str = "posix") -> None:
        self.root = root
        self.name = name
        self._tmp = root / "tmp"
        self._folders = {"chunk": root / "chunks", "manifest": root / "manifests"}
        try:
            for folder in (self._tmp, *self._folders.values()):
                _make_directory(folder)
        except OSError as exc:
            raise _translate(exc, "prepare its directory") from exc

    def put(self, kind: base.Kind, key: str, data: bytes) -> bool:
        final = self._path(kind, key)
        if final.exists():
            return False  # write-once: whoever stored it first stored the same thing
        temporary = self._tmp / f"{key}.{uuid.uuid4().hex}"
        try:
            _make_directory(final.parent)
            _write_durably(temporary, data)
            try:
                os.link(temporary, final)
            except FileExistsError:
                # NFS may answer EEXIST to a retried link that did succeed: then it is ours
                return _same_file(temporary, final)
            _fsync_directory(final.parent)
            return True
        except OSError as exc:
            raise _translate(exc, f"store a {kind}") from exc
        finally:
            temporary.unlink(missing_ok=True)

    def get(self, kind: base.Kind, key: str) -> bytes | None:
        try:
            return self._path(kind, key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _translate(exc, f"read a {kind}") from exc

    def exists(self, kind: base.Kind, key: str) -> bool:
        try:
            self._path(kind, key).stat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _translate(exc, f"look up a {kind}") from exc
        return True

    def delete(self, kind: base.Kind, key: str) -> None:
        path = self._path(kind, key)
        try:
            path.unlink()
        except FileNotFoundError:
            return  # deletes are idempotent: a sweep may be run again after a crash
        except OSError as exc:
            raise _translate(exc, f"delete a {kind}") from exc
        try:
            _fsync_directory(path.parent)
        except OSError as exc:
            raise _translate(exc, f"delete a {kind}") from exc

    def keys(self, kind: base.Kind) -> Iterator[str]:
        folder = self._folders[kind]
        pattern = "*/*/*" if kind == "chunk" else "*.json"
        try:
            for path in folder.glob(pattern):
                key = path.name.removesuffix(".json")
                if KEYS[kind].fullmatch(key):
                    yield key
        except OSError as exc:
            raise _translate(exc, f"list its {kind}s") from exc

    def remove_stale_files(self, older_than: float = 3600.0) -> list[str]:
        """Delete files in ``tmp/`` older than ``older_than`` seconds (left by writers
        that died; a younger one may still be written by a live writer, on any host)."""
        removed = []
        limit = time.time() - older_than
        try:
            for leftover in self._tmp.iterdir():
                if leftover.stat().st_mtime < limit:
                    leftover.unlink(missing_ok=True)
                    removed.append(leftover.name)
        except OSError as exc:
            raise _translate(exc, "remove unfinished objects") from exc
        return removed

    def _path(self, kind: base.Kind, key: str) -> Path:
        if not KEYS[kind].fullmatch(key):
            raise errors.InvalidInput(field="key", reason=f"{key!r} is not a repository key")
        if kind == "chunk":
            return self._folders["chunk"] / key[:2] / key[2:4] / key
        return self._folders["manifest"] / f"{key}.json"


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_directory(folder: Path) -> None:
    """Make ``folder`` and its missing parents, each new entry durable in its parent."""
    if folder.is_dir():
        return
    _make_directory(folder.parent)
    try:
        folder.mkdir()
    except FileExistsError:
        return  # another writer made it; it made it durable too
    _fsync_directory(folder.parent)


def _same_file(one: Path, other: Path) -> bool:
    first, second = one.stat(), other.stat()
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _translate(exc: OSError, action: str) -> errors.HearthError:
    """An OSError as a Hearth error whose message names no path (the detail may)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return errors.BackupRepositoryError(action=f"{action}: it is full", detail=str(exc))
    return errors.BackupRepositoryError(action=action, detail=str(exc))
