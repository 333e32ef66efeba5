"""The image store: image bytes as files in one directory; their metadata in ``images`` rows.

Where images enter Hearth. ``hearth.service`` checks an upload's fields and writes its row
(``queued``); :meth:`ImageStore.upload` then streams the bytes from a local file, an
HTTP(S) URL or a stream (an Image API request body) into ``tmp/`` (never held in memory;
md5 and sha256 computed on the way; size capped; all-zero chunks left as holes), inspects
them (``inspect``: hostile images are refused here, and the row and bytes are removed, so
nothing is stored), and only then renames the file into place and makes the row
``active``. Layout::

    <directory>/image-<id>     the bytes of an active image, exactly as uploaded
    <directory>/tmp/<id>.part  uploads in progress

An upload holds its image's upload lock (``coordination.image_upload_lock``) from before
the row becomes ``saving`` until the row is ``active`` or gone and ``tmp/`` holds nothing
of it; the lock dies with its process. :meth:`ImageStore.recover` therefore takes up only
uploads whose lock it can take: their process died. An upload running in another process
(``hearth serve`` receiving a body while a command starts) is left alone.

The create path reads stored files through ``fetch.LocalFetcher``. A volume uploaded to an
image (``Source.write``) is converted by ``qemu-img`` straight into ``tmp/<id>.part``.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from hearth import config, coordination, errors
from hearth.db import images, models
from hearth.db.session import Database
from hearth.db.statuses import ImageStatus
from hearth.image import fetch, inspect

LOG = logging.getLogger(__name__)
CHUNK = 4 << 20
ZEROS = bytes(CHUNK)
URL_SCHEMES = ("http://", "https://")


class Reader(Protocol):
    """What an upload reads from: an open file, an HTTP response, a request body."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; b"" at the end."""
        ...


@dataclass(frozen=True)
class Source:
    """Where an upload's bytes come from: a local file (CLI, library), a URL, or a stream
    (the Image API's request body; its ``read`` raises OSError when the sender fails)."""

    file: Path | None = None
    url: str | None = None
    stream: Reader | None = None
    write: Callable[[Path], None] | None = None
    """Writes the image's bytes as a new file at the path it is given (a volume converted
    by ``qemu-img``, ``hearth.volume.actions``); the store then hashes and inspects it."""


@dataclass(frozen=True)
class Received:
    """What streaming an upload established."""

    size: int
    md5: str
    sha256: str


class ImageStore:
    """Image files in ``directory``, registered through ``images`` rows."""

    def __init__(
        self,
        db: Database,
        directory: Path,
        *,
        locks: coordination.Locks,
        max_image_bytes: int,
        url_timeout: float,
    ) -> None:
        self.db = db
        self.directory = directory
        self.locks = locks
        self.max_image_bytes = max_image_bytes
        self.url_timeout = url_timeout
        self._tmp = directory / "tmp"

    def recover(self) -> None:
        """Take up uploads that died with their process: each ``saving`` row and each
        ``tmp/<id>.part`` whose upload lock is free. Their partial bytes are removed and the row,
        if still ``saving``, becomes ``killed``. An upload whose lock is held is running
        (here or in another process) and is not touched. Needs started locks."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        with self.db.transaction() as session:
            saving = {row.id for row in images.find_all(session, statuses=[ImageStatus.SAVING])}
        leftovers = {path.name.removesuffix(".part") for path in self._tmp.glob("*.part")}
        for image_id in sorted(saving | leftovers):
            self._recover_upload(image_id)

    def upload(self, image_id: str, source: Source) -> models.Image:
        """Receive, inspect and store the bytes of a ``queued`` image; returns the active
        row. Any failure removes the row and the bytes: a rejected upload leaves nothing.
        Holds the image's upload lock throughout (an upload already running: InvalidStatus)."""
        lock = coordination.image_upload_lock(image_id)
        held = self.locks.try_acquire(lock)
        if held is None:
            with self.db.transaction() as session:
                status = images.get(session, image_id).status
            raise errors.InvalidStatus(
                action="upload", kind="image", resource_id=image_id, status=status
            )
        try:
            return self._upload(image_id, source)
        finally:
            self.locks.forget(lock)  # an image is uploaded once: its lock is done with
            held.release()

    def _upload(self, image_id: str, source: Source) -> models.Image:
        with self.db.transaction() as session:
            row = images.get(session, image_id)
            if not images.set_status(
                session, image_id, ImageStatus.SAVING, expected=[ImageStatus.QUEUED]
            ):
                raise errors.InvalidStatus(
                    action="upload", kind="image", resource_id=image_id, status=row.status
                )
        partial = self._partial(image_id)
        final = fetch.stored_file(self.directory, image_id)
        try:
            received = self._receive(source, partial, image_id)
            found = inspect.inspect(partial, row.disk_format, image_id)
            _move(partial, final)
            return self._activate(image_id, received, found)
        except BaseException:
            partial.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            with self.db.transaction() as session:
                images.delete(session, image_id)
            raise

    def _recover_upload(self, image_id: str) -> None:
        """Clean up after one upload if its lock is free (its process is gone)."""
        lock = coordination.image_upload_lock(image_id)
        held = self.locks.try_acquire(lock)
        if held is None:
            LOG.info("upload of image %s is running in another process; left alone", image_id)
            return
        try:
            self._partial(image_id).unlink(missing_ok=True)
            with self.db.transaction() as session:
                if images.set_status(
                    session, image_id, ImageStatus.KILLED, expected=[ImageStatus.SAVING]
                ):
                    # it may have died between the rename and the activation
                    fetch.stored_file(self.directory, image_id).unlink(missing_ok=True)
                    LOG.warning("upload of image %s died with its process; marked killed", image_id)
            self.locks.forget(lock)
        finally:
            held.release()

    def _partial(self, image_id: str) -> Path:
        return self._tmp / f"{image_id}.part"

    def remove(self, image_id: str) -> None:
        """Delete an image's bytes (its row is gone already); a missing file is fine."""
        try:
            fetch.stored_file(self.directory, image_id).unlink(missing_ok=True)
            _fsync_directory(self.directory)
        except OSError as exc:  # the row is gone: the file is an orphan, not a failure
            LOG.error("could not remove the bytes of deleted image %s: %s", image_id, exc)

    def _receive(self, source: Source, partial: Path, image_id: str) -> Received:
        try:
            return self._stream(source, partial, image_id)
        except OSError as exc:  # writing into the store (reading the source is translated)
            raise errors.from_os_error(exc, "store the image") from exc

    def _stream(self, source: Source, partial: Path, image_id: str) -> Received:
        self._tmp.mkdir(parents=True, exist_ok=True)
        if source.write is not None:
            source.write(partial)
            return self._hashed(partial, image_id)
        md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
        with self._open(source, image_id) as reader, partial.open("xb") as writer:
            while chunk := _read(reader, image_id):
                size += len(chunk)
                if size > self.max_image_bytes:
                    limit = self.max_image_bytes >> 30
                    raise errors.ImageTooBig(
                        image_id=image_id, reason=f"uploads are limited to {limit} GiB"
                    )
                md5.update(chunk)
                sha256.update(chunk)
                _write_sparse(writer, chunk)
            writer.truncate(size)  # a zero tail was skipped, not written
            writer.flush()
            os.fsync(writer.fileno())
        return Received(size=size, md5=md5.hexdigest(), sha256=sha256.hexdigest())

    def _hashed(self, written: Path, image_id: str) -> Received:
        """Size and hashes of a file a ``Source.write`` made (within the size limit)."""
        md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
        with written.open("rb") as reader:
            while chunk := reader.read(CHUNK):
                size += len(chunk)
                if size > self.max_image_bytes:
                    limit = self.max_image_bytes >> 30
                    raise errors.ImageTooBig(
                        image_id=image_id, reason=f"uploads are limited to {limit} GiB"
                    )
                md5.update(chunk)
                sha256.update(chunk)
        return Received(size=size, md5=md5.hexdigest(), sha256=sha256.hexdigest())

    @contextmanager
    def _open(self, source: Source, image_id: str) -> Iterator[Reader]:
        given = [s for s in (source.file, source.url, source.stream) if s is not None]
        if len(given) != 1:
            raise errors.InvalidInput(field="file", reason="give exactly one of a file or a URL")
        if source.stream is not None:
            yield source.stream
            return
        if source.file is not None:
            try:
                handle = source.file.open("rb")
            except OSError as exc:
                raise errors.InvalidInput(field="file", reason="cannot be read") from exc
            with handle:
                yield handle
            return
        assert source.url is not None
        with _open_url(source.url, self.url_timeout, image_id) as response:
            yield response

    def _activate(
        self, image_id: str, received: Received, found: inspect.Inspection
    ) -> models.Image:
        with self.db.transaction() as session:
            if not images.set_status(
                session,
                image_id,
                ImageStatus.ACTIVE,
                expected=[ImageStatus.SAVING],
                size=received.size,
                checksum=received.md5,
                os_hash_algo="sha256",
                os_hash_value=received.sha256,
                virtual_size=found.virtual_size,
            ):
                raise errors.ImageNotAvailable(image_id=image_id, reason="it was deleted")
            return images.get(session, image_id)


@contextmanager
def _open_url(url: str, timeout: float, image_id: str) -> Iterator[BinaryIO]:
    if not url.lower().startswith(URL_SCHEMES):  # never file:// or others: host files
        raise errors.InvalidInput(field="url", reason="must be an http:// or https:// URL")
    shown = config.mask_url(url)
    if shown != url:  # urllib reads user:password@ as part of the host name
        raise errors.InvalidInput(
            field="url", reason=f"credentials in a URL are not supported: {shown}"
        )
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # the scheme is checked above
    except urllib.error.HTTPError as exc:
        exc.close()
        reason = f"the server answered {exc.code} {exc.reason} for {shown}".rstrip()
        raise errors.InvalidInput(field="url", reason=reason) from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise errors.ImageDownloadFailed(
            image_id=image_id, url=shown, reason=_why(exc, timeout), detail=str(exc)
        ) from exc
    with response:
        yield response


def _why(exc: Exception, timeout: float) -> str:
    """What went wrong with a URL, in a user's words: refused, DNS, timeout, TLS, ..."""
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(cause, socket.gaierror):
        return f"its host name could not be resolved (DNS: {cause.strerror})"
    if isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g} s"
    return str(cause)


def _write_sparse(writer: BinaryIO, chunk: bytes) -> None:
    """Write a chunk, or leave a hole where it is all zeros (raw images carry many): the
    file reads back the same and takes only the space its data needs."""
    if chunk == ZEROS[: len(chunk)]:
        writer.seek(len(chunk), os.SEEK_CUR)
    else:
        writer.write(chunk)


def _read(reader: Reader, image_id: str) -> bytes:
    try:
        return reader.read(CHUNK)
    except OSError as exc:  # a URL that stalls past the timeout, a reset connection
        raise errors.ImageFetchFailed(image_id=image_id, detail=str(exc)) from exc


def _move(partial: Path, final: Path) -> None:
    try:
        os.rename(partial, final)
        _fsync_directory(final.parent)
    except OSError as exc:
        raise errors.from_os_error(exc, "store the image") from exc


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
