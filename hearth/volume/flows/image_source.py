"""The ``image`` source of ``CreateVolumeFromSpecTask``: a volume holding an image's disk.

Called by ``sources.create_from_image``. In the seed's order of attempts:

1. the driver's ``clone_image`` (a backend may make the volume by its own means);
2. the backend's image-volume cache: clone a converted copy kept on the backend, making it
   first (once, however many creates ask at the same time) when it is missing. If the
   clone fails, the entry is evicted (it may be what is broken) and the create goes on
   to 3. instead of failing, as the reference does;
3. fetch, inspect, convert straight into the new volume.

Fetching and converting ("download", status ``downloading``) reads the stored image once:
inspection runs before ``qemu-img`` sees a byte, the virtual size is checked against the
volume from the metadata before the fetch and from the file after it, the conversion
writes into a file the driver makes and publishes only when complete, and the image's hash
is verified while it converts (unless its stored file is unchanged since a verification
in this process: ``fetch.Seal``); a mismatch discards the result. Progress goes to the volume
row (``progress``), at most every half second; a clone from the cache shows only if it
lasts longer than that. The same steps time the create's phases (``ImageTools.clock``:
fetch, inspect, convert; a cache entry's fill and the clone from it as spans).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hearth import errors
from hearth.db import statuses, volumes
from hearth.db.session import Database
from hearth.image import cache, convert, fetch, info, inspect, progress
from hearth.metrics import phases
from hearth.volume.drivers import base

LOG = logging.getLogger(__name__)
Phase = progress.Phase


@dataclass(frozen=True)
class ImageTools:
    """How this process reads and converts images (built by the composition root)."""

    fetcher: fetch.Fetcher
    converter: convert.Converter
    clock: Callable[[], phases.Clock] = phases.untimed
    """A new clock for each create's phases (``phases.PhaseClock`` with metrics on)."""


@dataclass(frozen=True)
class Request:
    """One create from an image, with everything the image path may use."""

    driver: base.VolumeDriver
    tools: ImageTools
    db: Database
    volume: base.VolumeRef
    image: info.ImageInfo
    cache: cache.ImageVolumeCache | None = None


def create_volume(request: Request) -> base.ModelUpdate | None:
    """Make ``request.volume`` hold the image; the driver's model update, or None."""
    check_fits(request.image, request.image.virtual_size, request.volume)
    update = request.driver.clone_image(request.volume, request.image)
    if update is not None:
        return update
    watch = VolumeWatch(request.db, request.volume.id, request.tools.clock())
    if request.cache is not None and request.cache.accepts(request.image):
        return _from_cache(request, request.cache, watch)
    watch.downloading()
    return download(request, request.volume, watch)


def download(
    request: Request, target: base.VolumeRef, watch: VolumeWatch
) -> base.ModelUpdate | None:
    """Fetch, inspect and convert the image into the new backend volume ``target``."""
    try:
        return _download(request, target, watch.report)
    finally:
        watch.clock.end()


def _download(
    request: Request, target: base.VolumeRef, report: progress.Throttle
) -> base.ModelUpdate | None:
    image, converter = request.image, request.tools.converter
    with request.tools.fetcher.fetch(image, report) as fetched:
        report.report(Phase.INSPECT, 0, image.size)
        found = inspect.inspect(fetched.path, image.disk_format, image.id)
        check_fits(image, found.virtual_size, target)
        facts = converter.info(fetched.path, found.format, image.id)
        check_fits(image, facts.virtual_size, target)
        report.report(Phase.INSPECT, image.size, image.size)

        def write(target: convert.Target) -> None:
            converter.to_raw(
                fetched.path,
                found.format,
                target,
                image_id=image.id,
                virtual_size=facts.virtual_size,
                on_progress=lambda done: report.report(Phase.CONVERT, done, facts.virtual_size),
            )
            fetched.verify()  # before the volume counts: a mismatch discards it
            report.report(Phase.CONVERT, facts.virtual_size, facts.virtual_size)

        return request.driver.copy_image_to_volume(target, write)


def entry_remover(driver: base.VolumeDriver) -> cache.Remove:
    """How a backend's image cache deletes an entry: the entry is a volume of the driver."""

    def remove(entry: cache.EntryRef) -> None:
        driver.delete_volume(base.VolumeRef(entry.id, entry.size_gb))

    return remove


def check_fits(image: info.ImageInfo, virtual_size: int, volume: base.VolumeRef) -> None:
    """Refuse an image whose disk is larger than the volume (terminal)."""
    if virtual_size > volume.size_bytes:
        needed = -(-virtual_size // base.GiB)
        raise errors.ImageTooBig(
            image_id=image.id,
            reason=f"it needs {needed} GiB and the volume has {volume.size_gb} GiB",
        )


def _from_cache(
    request: Request, image_cache: cache.ImageVolumeCache, watch: VolumeWatch
) -> base.ModelUpdate | None:
    def fill(entry: cache.EntryRef) -> None:
        with watch.clock.span("cache_fill"):
            watch.downloading()
            download(request, base.VolumeRef(entry.id, entry.size_gb), watch)

    with image_cache.entry_for(request.image, fill) as entry:
        source = base.VolumeRef(entry.id, entry.size_gb)
        try:
            with (
                watch.clock.span("copy", copied=request.volume.size_bytes),
                watch.shown_if_slow(Phase.CLONE, request.volume.size_bytes),
            ):
                return request.driver.create_cloned_volume(request.volume, source)
        except errors.HearthError as exc:  # a failed fill raises from entry_for, not here
            LOG.warning(
                "cloning image cache entry %s into volume %s failed, fetching and converting "
                "image %s instead: %s",
                entry.id,
                request.volume.id,
                request.image.id,
                exc,
            )
    image_cache.evict(entry)  # given back first: an entry being cloned is never evicted
    request.driver.delete_volume(request.volume)  # what the clone may have left
    watch.downloading()
    return download(request, request.volume, watch)


class VolumeWatch:
    """What users see of a create from an image: its status and its progress (and what
    its clock times)."""

    def __init__(self, db: Database, volume_id: str, clock: phases.Clock | None = None) -> None:
        self.db = db
        self.volume_id = volume_id
        self.clock = clock or phases.untimed()
        self.report = progress.Throttle(self._write)

    def downloading(self) -> None:
        """``creating`` -> ``downloading`` (compare-and-set: a changed row stays as is)."""
        with self.db.transaction() as session:
            volumes.set_status(
                session,
                self.volume_id,
                statuses.VolumeStatus.DOWNLOADING,
                expected=[statuses.VolumeStatus.CREATING],
            )

    @contextlib.contextmanager
    def shown_if_slow(self, phase: progress.Phase, total: int) -> Iterator[None]:
        """Show ``phase`` only if the block lasts longer than a progress interval: a
        reflink clone ends long before anyone could read it, a copy may not."""
        timer = threading.Timer(progress.DEFAULT_INTERVAL, self.report.report, (phase, 0, total))
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            timer.join()  # a write under way lands before the create's end clears progress

    def _write(self, step: progress.Step) -> None:
        self.clock.step(step)
        try:
            with self.db.transaction() as session:
                volumes.update(session, self.volume_id, progress=step.as_dict())
        except errors.HearthError as exc:  # progress is for users to watch: never fatal
            LOG.warning("could not record progress of volume %s: %s", self.volume_id, exc)
