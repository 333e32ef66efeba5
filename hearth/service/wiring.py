"""The composition root: builds every component from settings, and nothing else does.

``build(settings)`` wires the database, locks, notification relay, drivers and one volume
manager per configured backend. The library facade (``Hearth``), the CLI and the API get
their components from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hearth import config, coordination, errors, notifications
from hearth.db.session import Database
from hearth.volume.drivers import base, file
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
    started: bool = field(default=False)

    def start(self) -> None:
        """Check the schema, connect the locks, prepare every backend."""
        if not self.db.is_current():
            if not self.db.is_sqlite:
                raise errors.ConfigError(
                    reason="the database schema is not current; run `hearth db upgrade`"
                )
            self.db.upgrade()  # the embedded SQLite database keeps itself current
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
    managers = {
        name: VolumeManager(
            host=name,
            driver=chosen.get(name) or build_driver(settings, name),
            db=db,
            locks=locks,
            availability_zone=section.availability_zone,
        )
        for name, section in settings.backends.items()
    }
    return Services(settings, db, locks, relay, managers, memory)


def build_driver(settings: config.Settings, backend: str) -> base.VolumeDriver:
    """The driver of one configured backend."""
    section = settings.backends[backend]
    return file.FileDriver(settings.backend_directory(backend), section.clone_mode)
