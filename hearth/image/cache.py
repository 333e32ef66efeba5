"""Image-volume cache: converted images kept on a backend as hidden volumes, cloned by creates.

Used by the image source of ``CreateVolumeFromSpecTask`` (``hearth.volume.flows.
image_source``), which hands in how to fill an entry's volume and clones from it through
the driver (a reflink where the backend can). One cache per backend; entries are
``image_cache_entries`` rows, not volume rows, so users never see or count them.

- **Single flight**: a create that finds no ready entry takes the lock
  ``image-volume-cache-<backend>-<image>`` (tooz: across threads, processes and hosts) and
  looks again; whoever then makes the entry fetches and converts while the others wait,
  then they all clone it. A hit takes no lock: taking an entry is a compare-and-set.
- **Never serve a partial entry**: an entry is ``populating`` until its volume is complete.
  Whoever holds the lock and finds one left ``populating`` knows its maker died (the lock
  would still be held otherwise): it is discarded and rebuilt. Start-up does the same.
- **Stale entries**: an entry records the image's hash and ``updated_at``; once either
  differs it is never served, and it is discarded on the next miss.
- **Eviction**: least recently used first, beyond ``max_size_gb`` or ``max_count``; never
  an entry being cloned (``in_use`` > 0; taking and evicting are compare-and-set).
- **Lock files go with their entries**: once the backend holds no entry of an image, its
  lock is forgotten (``Locks.forget``: the file of a file lock is removed), by whoever holds
  it then. Safe because a backend's cache lives in the one process serving it, where tooz
  queues other threads before they open the lock's file; an eviction that finds the lock
  held leaves the file to the holder, which looks again as it lets go.
- Notifications ``image_volume_cache.hit``, ``.miss`` and ``.evict``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth import config, coordination, errors, notifications
from hearth.db import image_cache, models
from hearth.db.session import Database
from hearth.db.statuses import CacheEntryStatus
from hearth.image import info

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LOG = logging.getLogger(__name__)
Entry = models.ImageCacheEntry
UNFINISHED = (CacheEntryStatus.POPULATING, CacheEntryStatus.EVICTING)


@dataclass(frozen=True)
class EntryRef:
    """The backend volume of an entry: its id and size in GiB."""

    id: str
    size_gb: int


Fill = Callable[[EntryRef], None]
"""Writes the image, converted to raw, into the entry's new backend volume."""
Remove = Callable[[EntryRef], None]
"""Deletes an entry's backend volume; a volume already gone is not an error."""


class ImageVolumeCache:
    """The image-volume cache of one backend, ``host``."""

    def __init__(
        self,
        *,
        host: str,
        db: Database,
        locks: coordination.Locks,
        settings: config.ImageCacheSettings,
        remove: Remove,
    ) -> None:
        self.host = host
        self.db = db
        self.locks = locks
        self.settings = settings
        self._remove = remove

    def accepts(self, image: info.ImageInfo) -> bool:
        """Whether creates from this image go through the cache (larger images bypass it)."""
        limit = self.settings.max_size_gb
        return self.settings.enabled and (limit == 0 or image.virtual_size_gb <= limit)

    @contextmanager
    def entry_for(self, image: info.ImageInfo, fill: Fill) -> Iterator[EntryRef]:
        """A ready entry holding ``image`` (found, or made now with ``fill``), kept from
        eviction for the length of the block."""
        entry = self._acquire(image, fill)
        try:
            yield entry
        finally:
            with self.db.transaction() as session:
                image_cache.give_back(session, entry.id)

    def evict(self, entry: EntryRef) -> bool:
        """Evict one entry (a create could not clone it), unless another create clones it
        right now; whether it was evicted."""
        with self.db.transaction() as session:
            found = image_cache.find(session, entry.id)
        return found is not None and self._evict(found)

    def recover(self) -> None:
        """At start-up: discard entries left unfinished, forget clone counts."""
        with self.db.transaction() as session:
            unfinished = image_cache.find_all(session, host=self.host, statuses=UNFINISHED)
            image_cache.release_all(session, self.host)
        for entry in unfinished:
            LOG.info("discarding unfinished image cache entry %s", entry.id)
            self._discard(entry)
        for image_id in {entry.image_id for entry in unfinished}:
            self._tidy_lock(image_id)

    def clear(self, image_id: str | None = None) -> int:
        """Evict every entry not being cloned (only those of ``image_id`` if given);
        returns how many were evicted."""
        with self.db.transaction() as session:
            ready = image_cache.find_all(
                session, host=self.host, image_id=image_id, statuses=[CacheEntryStatus.READY]
            )
        evicted = sum(self._evict(entry) for entry in ready)
        for evicted_image in {entry.image_id for entry in ready}:
            self._tidy_lock(evicted_image)
        return evicted

    def _acquire(self, image: info.ImageInfo, fill: Fill) -> EntryRef:
        found = self._take_valid(image)  # a hit needs no lock: taking is compare-and-set
        if found is not None:
            return found
        with self._image_lock(image.id):
            found = self._take_valid(image)  # made while this create waited for the lock
            if found is not None:
                return found
            self._discard_unusable(image)
            made = self._populate(image, fill)
        self._evict_beyond_limits(keep=made.id)
        return made

    def _take_valid(self, image: info.ImageInfo) -> EntryRef | None:
        with self.db.transaction() as session:
            for entry in image_cache.find_all(
                session, host=self.host, image_id=image.id, statuses=[CacheEntryStatus.READY]
            ):
                if _holds(entry, image) and image_cache.take(session, entry.id):
                    self._emit(session, "hit", image.id, entry.id)
                    return EntryRef(entry.id, entry.size)
        return None

    def _discard_unusable(self, image: info.ImageInfo) -> None:
        """Under the image's lock: a populating entry's maker is gone; stale ones are dead."""
        with self.db.transaction() as session:
            found = image_cache.find_all(session, host=self.host, image_id=image.id)
        for entry in found:
            if entry.status == CacheEntryStatus.POPULATING:
                LOG.warning("image cache entry %s was never finished; rebuilding", entry.id)
                self._discard(entry)
            elif entry.status == CacheEntryStatus.READY and not _holds(entry, image):
                self._evict(entry)

    def _populate(self, image: info.ImageInfo, fill: Fill) -> EntryRef:
        with self.db.transaction() as session:
            entry = image_cache.create(
                session,
                host=self.host,
                image_id=image.id,
                image_checksum=image.fingerprint,
                image_updated_at=image.updated_at,
                size=image.virtual_size_gb,
                status=CacheEntryStatus.POPULATING,
            )
            self._emit(session, "miss", image.id, entry.id)
        made = EntryRef(entry.id, entry.size)
        try:
            fill(made)
        except BaseException:
            self._discard(entry)
            raise
        with self.db.transaction() as session:
            image_cache.set_status(
                session,
                made.id,
                CacheEntryStatus.READY,
                expected=[CacheEntryStatus.POPULATING],
                in_use=1,
                last_used=models.utcnow(),
            )
        return made

    def _evict_beyond_limits(self, keep: str) -> None:
        while True:
            with self.db.transaction() as session:
                held = [
                    e
                    for e in image_cache.find_all(session, host=self.host)
                    if e.status != CacheEntryStatus.EVICTING
                ]
            if self._within_limits(held):
                return
            idle = [
                e
                for e in held
                if e.status == CacheEntryStatus.READY and e.in_use == 0 and e.id != keep
            ]
            evicted = next((e for e in idle if self._evict(e)), None)
            if evicted is None:
                return  # everything left is in use or being made: over the limit for now
            self._tidy_lock(evicted.image_id)

    def _within_limits(self, held: Sequence[Entry]) -> bool:
        max_size, max_count = self.settings.max_size_gb, self.settings.max_count
        too_big = max_size > 0 and sum(e.size for e in held) > max_size
        too_many = max_count > 0 and len(held) > max_count
        return not (too_big or too_many)

    def _evict(self, entry: Entry) -> bool:
        with self.db.transaction() as session:
            if not image_cache.begin_eviction(session, entry.id):
                return False  # in use, or someone else evicts it
            self._emit(session, "evict", entry.image_id, entry.id)
        self._discard(entry)
        return True

    def _discard(self, entry: Entry) -> None:
        """Delete an entry's volume, then its row; if the volume cannot be deleted, the row
        stays (``evicting``) for the next start-up to try again."""
        with self.db.transaction() as session:
            image_cache.set_status(session, entry.id, CacheEntryStatus.EVICTING)
        try:
            self._remove(EntryRef(entry.id, entry.size))
        except errors.HearthError as exc:
            LOG.error("could not delete image cache entry %s: %s", entry.id, exc)
            return
        with self.db.transaction() as session:
            image_cache.delete(session, entry.id)

    @contextmanager
    def _image_lock(self, image_id: str) -> Iterator[None]:
        """Hold the image's lock for the block; forget it as it ends if no entry is left."""
        name = entry_lock(self.host, image_id)
        with self.locks.hold(name):
            try:
                yield
            except BaseException:
                with contextlib.suppress(errors.HearthError):  # the failure in hand matters
                    self._forget_lock_if_unused(name, image_id)
                raise
            self._forget_lock_if_unused(name, image_id)

    def _tidy_lock(self, image_id: str) -> None:
        """After an eviction outside the image's lock: forget the lock if no entry is left,
        unless someone holds it (they look again as they let go)."""
        name = entry_lock(self.host, image_id)
        lock = self.locks.try_acquire(name)
        if lock is None:
            return
        try:
            self._forget_lock_if_unused(name, image_id)
        finally:
            lock.release()

    def _forget_lock_if_unused(self, name: str, image_id: str) -> None:
        """Holding the lock ``name``: forget it when the backend holds no entry of the image."""
        with self.db.transaction() as session:
            left = image_cache.find_all(session, host=self.host, image_id=image_id)
        if not left:
            self.locks.forget(name)

    def _emit(self, session: Session, event: str, image_id: str, entry_id: str) -> None:
        notifications.emit(
            session,
            f"image_volume_cache.{event}",
            {"image_id": image_id, "host": self.host, "entry_id": entry_id},
            publisher_id=f"image-volume-cache.{self.host}",
        )


def entry_lock(host: str, image_id: str) -> str:
    """The lock held to look up or make an entry of the image on the backend ``host``."""
    return f"image-volume-cache-{host}-{image_id}"


def _holds(entry: Entry, image: info.ImageInfo) -> bool:
    """Whether the entry was made from the image as it is now."""
    return entry.image_checksum == image.fingerprint and entry.image_updated_at == image.updated_at
