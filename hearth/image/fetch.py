"""Fetching an image's bytes for a create: the first step of the download path.

A :class:`Fetcher` hands the create path a local file holding the image, and a ``verify``
call that raises unless those bytes hash to the value recorded at upload. The
:class:`LocalFetcher` serves images from this host's store without copying them: it opens
the stored file once and gives out ``/proc/<pid>/fd/<n>`` for it, so inspection, the hash
and ``qemu-img`` all read the same inode, and it hashes the file in a thread while the
conversion reads it (the create discards its result if ``verify`` fails). A fetcher that
downloads from another host's store (HTTP) fits the same interface for multi-host use.

The hash was verified when the image was stored; a fetch verifies it again only where the
stored bytes could have changed without Hearth knowing. Hearth writes a stored file once
(``tmp/`` then rename) and never again, so any later change is someone else's, and every
change through the file system -- a write, a truncate, a replacing rename, even one whose
writer then resets the mtime -- gives the file a new change time (ctime, which no system
call sets back) or a new inode. After a full hash matched, the fetcher keeps the file's
:class:`Seal` (device, inode, size, mtime, ctime) for that image, in memory; a later fetch
whose open file shows the same seal is not hashed again. What the seal cannot see --
corruption below the file system, bit rot -- is checked at the first use of each image by
each process (the seals die with it), so a restart verifies again. A file changed within
the last ``SETTLED_NS`` (a coarse ctime clock could hide a second write in the same tick)
is never sealed.

Errors: missing data is terminal (ImageNotAvailable), a wrong size or hash is terminal
(ImageChecksumMismatch), any other I/O error is transient (ImageFetchFailed).
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hearth import errors
from hearth.image import info, progress

CHUNK = 8 << 20
SETTLED_NS = 2_000_000_000
"""A stored file is sealed only if its last change is at least this old (nanoseconds)."""


@dataclass(frozen=True)
class Fetched:
    """An image's bytes, readable at ``path`` while the fetch lasts."""

    path: Path
    verify: Callable[[], None]
    """Blocks until the bytes are verified; raises ImageChecksumMismatch or
    ImageFetchFailed. Call it before anything made from them counts."""


class Fetcher(Protocol):
    """Makes an image's bytes readable on this host for the length of a ``with`` block."""

    def fetch(
        self, image: info.ImageInfo, report: progress.Throttle
    ) -> AbstractContextManager[Fetched]: ...


def stored_file(directory: Path, image_id: str) -> Path:
    """Where the store keeps an image's bytes."""
    return directory / f"image-{image_id}"


@dataclass(frozen=True)
class Seal:
    """What a stored file looked like when its bytes last hashed right."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, fd: int) -> Seal:
        found = os.fstat(fd)
        return cls(found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


class LocalFetcher:
    """Images in this host's store, read in place; verified while they are read unless
    their file still shows the seal of an earlier verification (see the module)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seals: dict[str, Seal] = {}
        self._lock = threading.Lock()

    @contextmanager
    def fetch(self, image: info.ImageInfo, report: progress.Throttle) -> Iterator[Fetched]:
        report.report(progress.Phase.FETCH, 0, image.size)
        fd = _open(stored_file(self.directory, image.id), image)
        try:
            path = Path(f"/proc/{os.getpid()}/fd/{fd}")
            seal = _seal_of(fd, image)
            with self._lock:
                verified = self._seals.get(image.id) == seal
            if verified:
                yield Fetched(path, _nothing)
                return
            verifier = _Verifier(fd, image)
            try:
                yield Fetched(path, lambda: self._verify(verifier, fd, image, seal))
            finally:
                verifier.stop()
        finally:
            os.close(fd)

    def _verify(self, verifier: _Verifier, fd: int, image: info.ImageInfo, seal: Seal) -> None:
        try:
            verifier.result()
        except errors.HearthError:
            with self._lock:
                self._seals.pop(image.id, None)
            raise
        settled = time.time_ns() - seal.ctime_ns >= SETTLED_NS
        if settled and _seal_of(fd, image) == seal:  # unchanged while it was hashed
            with self._lock:
                self._seals[image.id] = seal


def _seal_of(fd: int, image: info.ImageInfo) -> Seal:
    try:
        return Seal.of(fd)
    except OSError as exc:
        raise errors.ImageFetchFailed(image_id=image.id, detail=str(exc)) from exc


def _nothing() -> None:
    """The verification of bytes that still show the seal of one that passed."""


def _open(path: Path, image: info.ImageInfo) -> int:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError as exc:
        raise errors.ImageNotAvailable(image_id=image.id, reason="its data is missing") from exc
    except OSError as exc:
        raise errors.ImageFetchFailed(image_id=image.id, detail=str(exc)) from exc
    try:
        size = os.fstat(fd).st_size
    except OSError as exc:
        os.close(fd)
        raise errors.ImageFetchFailed(image_id=image.id, detail=str(exc)) from exc
    if size != image.size:
        os.close(fd)
        raise errors.ImageChecksumMismatch(image_id=image.id, detail=f"{size} != {image.size}")
    return fd


class _Verifier:
    """Hashes a file in a thread: the recorded sha256 (or md5 for images without one)."""

    def __init__(self, fd: int, image: info.ImageInfo) -> None:
        self._fd = fd
        self._image = image
        algorithm = image.os_hash_algo if image.os_hash_value else "md5"
        self._hash = hashlib.new(algorithm or "sha256")
        self._expected = image.os_hash_value or image.checksum
        self._stopping = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name=f"verify-{image.id}", daemon=True)
        self._thread.start()

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise errors.ImageFetchFailed(image_id=self._image.id, detail=str(self._error))
        if self._stopping.is_set() or self._hash.hexdigest() != self._expected:
            raise errors.ImageChecksumMismatch(image_id=self._image.id)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        # hashed straight from the page cache through a map: a read() copy of every byte
        # costs about as much as the hash itself here. Stored files never shrink (the store
        # writes each once), so the map cannot fault past the end.
        try:
            size = os.fstat(self._fd).st_size
            if size == 0:
                return
            with map_for_reading(self._fd, size) as mapped:
                mapped.madvise(mmap.MADV_SEQUENTIAL)
                with memoryview(mapped) as view:
                    for offset in range(0, size, CHUNK):
                        if self._stopping.is_set():
                            return
                        self._hash.update(view[offset : offset + CHUNK])
        except OSError as exc:
            self._error = exc


def map_for_reading(fd: int, size: int) -> mmap.mmap:
    """The first ``size`` bytes of ``fd``, mapped read-only: the verifier reads the file's
    bytes only through this (tests replace it to inject I/O errors)."""
    return mmap.mmap(fd, size, prot=mmap.PROT_READ)
