"""The composition root: builds every component from settings, and nothing else does.

``build(settings, roles=...)`` wires the database, locks, bus, notification relay, the
image store, the scheduler and, per served backend, a driver, a volume manager, its
image-volume cache and the image tools (fetcher, converter). A process serves some roles:
``scheduler``, ``volume`` (some or all backends). With the in-process ``memory://`` bus the
process must serve everything itself; with a broker it may serve nothing and only send
requests (a CLI next to ``hearth serve``). The library facade (``Hearth``), the CLI and the
API get their components here, and drivers through ``Services.driver_for`` (also for
backends another process serves: ``hearth volume path``, the audit).

With ``[metrics] enabled`` it also wires what feeds the metrics (``hearth.metrics``): the
outcome counter on the database's commits, the delivery-delay notification driver, the
create flow's timing listener and the image path's clock, and the process's registry
(``Services.metrics_registry``), which the API serves at ``/metrics`` and
:meth:`Services.serve_metrics` on ``[metrics] port``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hearth import bus as message_bus
from hearth import config, coordination, errors, metrics, notifications
from hearth.backup.drivers import posix
from hearth.backup.drivers.base import BackupRepository
from hearth.backup_service import rpcapi as backup_rpcapi
from hearth.backup_service.endpoint import BackupEndpoint
from hearth.backup_service.manager import BackupManager
from hearth.db.session import Database
from hearth.image import cache, convert, fetch, qemu, store
from hearth.metrics import outcomes, phases, state
from hearth.scheduler import rpcapi as scheduler_rpcapi
from hearth.scheduler.manager import SchedulerEndpoint, SchedulerManager
from hearth.service import heartbeats, housekeeping
from hearth.volume import rpcapi as volume_rpcapi
from hearth.volume.drivers import base, file, iscsi_target, rbd
from hearth.volume.endpoint import VolumeEndpoint
from hearth.volume.flows import image_source
from hearth.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)
ALL_ROLES = frozenset({"scheduler", "volume", "backup"})


@dataclass
class Services:
    """Everything one Hearth process runs."""

    settings: config.Settings
    db: Database
    locks: coordination.Locks
    bus: message_bus.Bus
    relay: notifications.Relay
    scheduler_api: scheduler_rpcapi.SchedulerAPI
    volume_api: volume_rpcapi.VolumeAPI
    scheduler: SchedulerManager | None
    managers: dict[str, VolumeManager]
    memory_notifications: notifications.MemoryDriver | None = None
    image_store: store.ImageStore | None = None
    owns_bus: bool = True
    unserved_drivers: dict[str, base.VolumeDriver] = field(default_factory=dict)
    """Drivers of configured backends this process does not serve (see :meth:`driver_for`)."""
    started: bool = False
    metrics_registry: metrics.Registry | None = None
    """This process's metrics (None with ``[metrics] enabled = false``)."""
    _servers: list[message_bus.Server] = field(default_factory=list)
    _metrics_server: Any = None
    _stop_ticking: threading.Event = field(default_factory=threading.Event)
    _ticker: threading.Thread | None = None
    _drivers_lock: threading.Lock = field(default_factory=threading.Lock)
    _backup_repository: BackupRepository | None = None
    backup_manager: BackupManager | None = None
    """The backup service, when this process serves the ``backup`` role."""
    backup_api: backup_rpcapi.BackupAPI | None = None

    def backup_repository(self) -> BackupRepository:
        """The backup repository of ``[backup]``, built on first use (it makes its
        directory, which a process that never backs up should not)."""
        with self._drivers_lock:
            if self._backup_repository is None:
                self._backup_repository = build_backup_repository(self.settings)
            return self._backup_repository

    def driver_for(self, backend: str) -> base.VolumeDriver:
        """The driver of a configured backend: its manager's when this process serves it,
        else one built here on first use and kept. That one is never set up: it answers
        what ``drivers.base`` lets another process ask (listings, local paths, deletes
        once reconciled). Raises BackendNotFound for a backend not configured."""
        manager = self.managers.get(backend)
        if manager is not None:
            return manager.driver
        if backend not in self.settings.backends:
            raise errors.BackendNotFound(backend=backend)
        with self._drivers_lock:
            if backend not in self.unserved_drivers:
                self.unserved_drivers[backend] = build_driver(self.settings, backend)
            return self.unserved_drivers[backend]

    def start(self, *, recover: bool = True) -> None:
        """Check the schema, connect, take over the served backends, start consuming.

        ``recover``: also take up the image store's uploads that died with their process
        (only those: a running upload holds its lock, see ``store``). False for a process
        that only reads. Either way a backend's unfinished work is taken up only by its
        manager, which holds the backend's lock; a process serving no backend runs none.
        """
        if not self.db.is_current():
            if not self.db.is_sqlite:
                raise errors.ConfigError(
                    reason="the database schema is not current; run `hearth db upgrade`"
                )
            self.db.upgrade()  # the embedded SQLite database keeps itself current
        self.locks.start()
        if recover and self.image_store is not None:
            self.image_store.recover()
        self.relay.start()
        self.started = True
        for manager in self.managers.values():
            manager.init_host()
        for name, manager in self.managers.items():
            self._servers.append(self.bus.serve(volume_rpcapi.topic(name), VolumeEndpoint(manager)))
        if self.scheduler is not None:
            self._servers.append(
                self.bus.serve(scheduler_rpcapi.TOPIC, SchedulerEndpoint(self.scheduler))
            )
            self.scheduler.reconcile(self.settings.recovery, everything=True)
        heartbeats.beat(self)  # the os-services rows of the roles served here
        if self.backup_manager is not None:  # last: a restore waits for creates
            self.backup_manager.init_host()
            self._servers.append(
                self.bus.serve(backup_rpcapi.TOPIC, BackupEndpoint(self.backup_manager))
            )
        if self.managers or self.scheduler is not None or self.backup_manager is not None:
            self._ticker = threading.Thread(target=self._tick, name="heartbeat", daemon=True)
            self._ticker.start()

    def consumers(self) -> int:
        """How many bus queues this process consumes."""
        return len(self._servers)

    def serve_metrics(self) -> int | None:
        """Serve ``/metrics`` on ``[metrics] host:port`` from a thread (for a process
        without the API); returns the port, or None when metrics or the port are off."""
        section = self.settings.metrics
        if self.metrics_registry is None or not section.port:
            return None
        self._metrics_server = metrics.serve(
            self.metrics_registry, host=section.host, port=section.port
        )
        return int(self._metrics_server.server_port)

    def stop(self) -> None:
        """Finish the work in hand, send held-back reports and notifications, disconnect."""
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        self._stop_ticking.set()
        if self._ticker is not None:
            self._ticker.join()
        for server in self._servers:
            server.stop_consuming()
        for server in self._servers:
            server.stop()
        if self.owns_bus:
            self.bus.close()
        if self.started:
            for manager in self.managers.values():
                manager.stop()
            if self.backup_manager is not None:
                self.backup_manager.stop()
            self.relay.stop()
            self.locks.stop()
            self.started = False
        self.db.dispose()

    def _tick(self) -> None:
        """Heartbeats every report_interval; reconciliation every recovery.interval; the
        purge of expired rows every housekeeping.interval_seconds (``housekeeping``)."""
        interval = self.settings.scheduler.report_interval
        next_pass = time.monotonic() + self.settings.recovery.interval
        housekeeper = housekeeping.Housekeeper(self.db, self.settings.housekeeping)
        while not self._stop_ticking.wait(interval):
            for manager in self.managers.values():
                manager.report_stats_quietly()
            if self.backup_manager is not None:
                self.backup_manager.report_quietly()
            heartbeats.beat(self)
            if time.monotonic() >= next_pass:
                next_pass = time.monotonic() + self.settings.recovery.interval
                self._reconcile_quietly()
            housekeeper.purge_if_due()

    def _reconcile_quietly(self) -> None:
        try:
            for manager in self.managers.values():
                manager.reconcile()
            if self.scheduler is not None:
                self.scheduler.reconcile(self.settings.recovery, everything=False)
        except Exception:  # the next pass tries again
            LOG.exception("reconciliation pass failed")


def build(
    settings: config.Settings,
    *,
    roles: Collection[str] | None = None,
    backends: Collection[str] | None = None,
    extra_notification_drivers: Sequence[notifications.NotificationDriver] = (),
    drivers: Mapping[str, base.VolumeDriver] | None = None,
    bus: message_bus.Bus | None = None,
) -> Services:
    """Wire one process's components from settings (nothing is started yet).

    ``roles``: which of scheduler/volume this process serves; default: both with the
    in-process bus, none with a broker. ``backends``: which backends the volume role serves
    (default all configured). ``drivers`` replaces the driver of the backends it names,
    served or not (tests use a fake driver). ``bus``: share another process part's bus
    (several roles built apart in one process); the caller closes it.
    """
    shared_bus = bus
    bus = shared_bus or message_bus.Bus(
        settings.bus.url,
        namespace=settings.bus.namespace,
        workers=settings.bus.workers,
    )
    chosen_roles = set(ALL_ROLES if roles is None and bus.in_process else roles or ())
    unknown = chosen_roles - ALL_ROLES
    if unknown:
        raise errors.ConfigError(reason=f"unknown roles {sorted(unknown)}")
    served = _served_backends(settings, chosen_roles, backends)
    db = Database(settings.database_url, sqlite_synchronous=settings.database.sqlite_synchronous)
    memory = notifications.MemoryDriver() if "memory" in settings.notifications.drivers else None
    sinks: list[notifications.NotificationDriver] = [*extra_notification_drivers]
    if "log" in settings.notifications.drivers:
        sinks.append(notifications.LogDriver())
    if memory is not None:
        sinks.append(memory)
    if "broker" in settings.notifications.drivers:
        section = settings.notifications
        sinks.append(
            notifications.BrokerDriver(
                section.url or settings.bus.url, exchange=section.exchange, topic=section.topic
            )
        )
    timed = settings.metrics.enabled
    if timed:
        outcomes.OutcomeCounter(db)  # subscribed to the database's commits
        sinks.append(outcomes.DeliveryDelay())  # last: a delivery ends with it
    relay = notifications.Relay(
        db,
        sinks,
        sent_retention=settings.notifications.sent_retention_seconds,
        purge_interval=settings.housekeeping.interval_seconds,
    )
    locks = coordination.Locks(settings.lock_url)
    scheduler_api = scheduler_rpcapi.SchedulerAPI(bus)
    volume_api = volume_rpcapi.VolumeAPI(bus)
    replaced = dict(drivers or {})
    tools = build_image_tools(settings)
    managers = {}

    def backup_repository() -> BackupRepository:  # creates from backups: on first use
        return services.backup_repository()  # ``services`` is built below

    for name in served:
        driver = replaced.get(name) or build_driver(settings, name)
        managers[name] = VolumeManager(
            host=name,
            driver=driver,
            db=db,
            locks=locks,
            settings=settings.backends[name],
            recovery=settings.recovery,
            scheduler_rpcapi=scheduler_api,
            image_volume_cache=build_image_cache(settings, name, db, locks, driver),
            image_tools=tools,
            timed=timed,
            backup_repository=backup_repository,
        )
    scheduler = (
        SchedulerManager(db=db, volume_api=volume_api, settings=settings.scheduler)
        if "scheduler" in chosen_roles
        else None
    )
    image_store = store.ImageStore(
        db,
        settings.image_directory,
        locks=locks,
        max_image_bytes=settings.images.max_image_size_gb << 30,
        url_timeout=settings.images.url_timeout_seconds,
    )
    for manager in managers.values():  # the volume actions: uploads, migrations' sources
        manager.image_store = image_store
    services = Services(
        settings,
        db,
        locks,
        bus,
        relay,
        scheduler_api,
        volume_api,
        scheduler,
        managers,
        memory,
        image_store=image_store,
        owns_bus=shared_bus is None,
        unserved_drivers={k: v for k, v in replaced.items() if k not in managers},
    )
    services.backup_api = backup_rpcapi.BackupAPI(bus)
    if "backup" in chosen_roles:
        services.backup_manager = BackupManager(
            db=db,
            locks=locks,
            settings=settings.backup,
            repository=services.backup_repository,
            driver_for=services.driver_for,
        )
    for manager in managers.values():
        manager.peer_driver = services.driver_for
    if timed:
        collector = state.StateCollector(
            db,
            backend_down_after=settings.scheduler.backend_down_after,
            consumers=services.consumers,
        )
        services.metrics_registry = metrics.registry(collector)
    return services


def build_driver(settings: config.Settings, backend: str) -> base.VolumeDriver:
    """A new driver for one configured backend, not yet set up. The one place a driver
    class is named; callers with a ``Services`` use :meth:`Services.driver_for`."""
    section = settings.backends[backend]
    if isinstance(section, config.RbdBackendSettings):
        return build_rbd_driver(section)
    directory = settings.backend_directory(backend)
    target = None
    if section.target_helper == "tgtadm":
        target = iscsi_target.TgtTarget(
            ip_address=section.target_ip_address,
            port=section.target_port,
            prefix=section.target_prefix,
            control_port=section.target_control_port,
            supervise=section.target_supervise,
            log_file=directory / "tgtd.log",
            pid_file=directory / "tgtd.pid",
        )
    return file.FileDriver(directory, section.clone_mode, target)


def build_backup_repository(settings: config.Settings) -> BackupRepository:
    """The backup repository ``[backup]`` names. The one place a backup driver class is
    named; callers with a ``Services`` use :meth:`Services.backup_repository`."""
    return posix.PosixRepository(settings.backup_directory, name=settings.backup.driver)


def build_rbd_driver(section: config.RbdBackendSettings) -> rbd.RbdDriver:
    """An RBD backend's driver, from its section."""
    cluster = rbd.Cluster(
        pool=section.pool,
        namespace=section.namespace,
        ceph_conf=section.ceph_conf,
        user=section.user,
        keyring=section.keyring,
        cluster_name=section.cluster_name,
        secret_uuid=section.secret_uuid,
        keyring_in_connection_info=section.keyring_in_connection_info,
        connect_timeout=section.connect_timeout_seconds,
        op_timeout=section.op_timeout_seconds,
        qemu_address_space_bytes=section.qemu_img_address_space_mb << 20,
    )
    return rbd.RbdDriver(
        cluster,
        max_clone_depth=section.max_clone_depth,
        flatten_from_snapshot=section.flatten_volume_from_snapshot,
    )


def _served_backends(
    settings: config.Settings, roles: set[str], backends: Collection[str] | None
) -> list[str]:
    if "volume" not in roles:
        return []
    chosen = list(settings.backends) if backends is None else list(backends)
    missing = [name for name in chosen if name not in settings.backends]
    if missing:
        raise errors.ConfigError(reason=f"backends {missing} are not configured")
    return chosen


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
        clock=phases.PhaseClock if settings.metrics.enabled else phases.untimed,
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
