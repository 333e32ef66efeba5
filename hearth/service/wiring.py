"""The composition root: builds every component from settings, and nothing else does.

``build(settings)`` wires the database, locks, notification relay, the image store and the
image tools (fetcher, converter), drivers, and one volume manager per configured backend
with its image-volume cache. The library facade (``Hearth``), the CLI and the API get their
components from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hearth import config, coordination, errors, notifications
from hearth.db.session import Database
from hearth.image import cache, convert, fetch, qemu, store
from hearth.volume.drivers import base, file
from hearth.volume.flows import image_source
from hearth.volume.manager import VolumeManager


@dataclass
class Services:
    """Everything one Hearth process runs."""

    settings: config.Settings
    db: Database
    locks: coordination.Locks
    relay: notifications.Relay
    managers: dict[str, VolumeManager]
    memory_notifications: notifications.MemoryDriver | None = None
    image_store: store.ImageStore | None = None
    started: bool = field(default=False)

    def start(self) -> None:
        """Check the schema, connect the locks, prepare every backend."""
        if not self.db.is_current():
            if not self.db.is_sqlite:
                raise errors.ConfigError(
                    reason="the database schema is not current; run `hearth db upgrade`"
                )
            self.db.upgrade()  # the embedded SQLite database keeps itself current
        if self.image_store is not None:
            self.image_store.recover()
        self.locks.start()
        for manager in self.managers.values():
            manager.init_host()
        self.started = True

    def stop(self) -> None:
        """Send held-back reports and notifications, then disconnect."""
        if self.started:
            for manager in self.managers.values():
                manager.report_stats_if_pending()
            self.relay.flush()
            self.locks.stop()
            self.started = False
        self.db.dispose()


def build(
    settings: config.Settings,
    *,
    extra_notification_drivers: Sequence[notifications.NotificationDriver] = (),
    drivers: Mapping[str, base.VolumeDriver] | None = None,
) -> Services:
    """Wire one process's components from settings (nothing is started yet).

    ``drivers`` replaces the driver of the backends it names (tests use a fake driver).
    """
    chosen = dict(drivers or {})
    db = Database(settings.database_url, sqlite_synchronous=settings.database.sqlite_synchronous)
    memory = notifications.MemoryDriver() if "memory" in settings.notifications.drivers else None
    sinks: list[notifications.NotificationDriver] = [*extra_notification_drivers]
    if "log" in settings.notifications.drivers:
        sinks.append(notifications.LogDriver())
    if memory is not None:
        sinks.append(memory)
    relay = notifications.Relay(db, sinks, synchronous=True)
    locks = coordination.Locks(settings.lock_url)
    tools = build_image_tools(settings)
    managers = {}
    for name, section in settings.backends.items():
        driver = chosen.get(name) or build_driver(settings, name)
        managers[name] = VolumeManager(
            host=name,
            driver=driver,
            db=db,
            locks=locks,
            availability_zone=section.availability_zone,
            image_volume_cache=build_image_cache(settings, name, db, locks, driver),
            image_tools=tools,
        )
    image_store = store.ImageStore(
        db,
        settings.image_directory,
        max_image_bytes=settings.images.max_image_size_gb << 30,
        url_timeout=settings.images.url_timeout_seconds,
    )
    return Services(settings, db, locks, relay, managers, memory, image_store=image_store)


def build_driver(settings: config.Settings, backend: str) -> base.VolumeDriver:
    """The driver of one configured backend."""
    section = settings.backends[backend]
    return file.FileDriver(settings.backend_directory(backend), section.clone_mode)


def build_image_tools(settings: config.Settings) -> image_source.ImageTools:
    """How this process reads images from the store and converts them."""
    limits = qemu.Limits(
        cpu_seconds=settings.images.qemu_img_cpu_seconds,
        address_space_bytes=settings.images.qemu_img_address_space_mb << 20,
    )
    return image_source.ImageTools(
        fetcher=fetch.LocalFetcher(settings.image_directory),
        converter=convert.Converter(
            concurrency=settings.images.conversion_concurrency, info_limits=limits
        ),
    )


def build_image_cache(
    settings: config.Settings,
    backend: str,
    db: Database,
    locks: coordination.Locks,
    driver: base.VolumeDriver,
) -> cache.ImageVolumeCache | None:
    """The image-volume cache of one backend, or None when it is switched off."""
    section = settings.backends[backend].image_cache
    if not section.enabled:
        return None
    return cache.ImageVolumeCache(
        host=backend,
        db=db,
        locks=locks,
        settings=section,
        remove=image_source.entry_remover(driver),
    )
