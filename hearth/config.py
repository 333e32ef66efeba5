"""Settings: one loader, typed and validated at start-up, unknown keys rejected.

Override order, highest first: explicit arguments (CLI flags) > environment
(``HEARTH_DATA_DIR``, ``HEARTH_CONFIG``, ``HEARTH_DATABASE_URL``) > the TOML config file
(``--config``, else ``<data_dir>/hearth.toml`` when present) > defaults. For a volume's
behaviour the order is: request > volume type > backend section > default.

This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hearth import errors

DEFAULT_DATA_DIR = Path("hearth-data")
CONFIG_FILE_NAME = "hearth.toml"

BackendName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    """Where the database lives."""

    url: str | None = None
    """SQLAlchemy URL. Default: a SQLite file ``<data_dir>/hearth.db`` in WAL mode.
    PostgreSQL: ``postgresql+psycopg://user@host/dbname``."""
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """SQLite's ``synchronous`` pragma in WAL mode. NORMAL (default): a commit survives a
    process crash; after a power loss the newest commits may roll back, never corrupt.
    Volume files are fsynced before their status commits, so a rolled-back status never
    claims data the backend lacks. FULL fsyncs every commit (creates about 1.5x slower)."""


class ImageCacheSettings(_Section):
    """The image-volume cache of one backend: converted images kept as hidden volumes, so
    that later creates from the same image clone instead of converting again."""

    enabled: bool = True
    """Keep converted images on this backend (default: true)."""
    max_size_gb: int = Field(default=0, ge=0)
    """Most GiB the cache's volumes may add up to; least recently used entries beyond it
    are evicted. An image larger than this is never cached. 0 (default): no limit."""
    max_count: int = Field(default=0, ge=0)
    """Most entries the cache may hold (LRU eviction beyond). 0 (default): no limit."""


class FileBackendSettings(_Section):
    """A backend that stores each volume as a raw sparse file in one directory."""

    driver: Literal["file"] = "file"
    directory: Path | None = None
    """Where the volume files live. Default: ``<data_dir>/backends/<name>``."""
    availability_zone: str = "nova"
    clone_mode: Literal["auto", "reflink", "copy"] = "auto"
    """auto: reflink where the file system supports it, else sparse copy. reflink: refuse to
    start on a file system without reflink. copy: always sparse copy."""
    capacity_gb: int | None = Field(default=None, ge=1)
    """The most this backend may hold, in GiB. Default: the size of its file system."""
    thin_provisioning: bool = True
    """Whether volumes may be promised beyond the physical size (files are sparse)."""
    max_over_subscription_ratio: float = Field(default=20.0, ge=1.0)
    """For thin backends: how many times its capacity may be promised to volumes."""
    reserved_percentage: int = Field(default=0, ge=0, le=100)
    """Share of the capacity never given to volumes, in percent."""
    capabilities: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Extra capabilities matched against volume types' extra specs (e.g. tier = "gold")."""
    image_cache: ImageCacheSettings = ImageCacheSettings()
    target_helper: Literal["none", "tgtadm"] = "none"
    """How volumes are exported to consumers with an iSCSI initiator: ``tgtadm`` (tgtd,
    Debian ``tgt``), or ``none`` (default: ``local`` connections, the file's path, only)."""
    target_ip_address: str = "127.0.0.1"
    """The portal address consumers reach the target at (in ``connection_info``)."""
    target_port: int = Field(default=3260, ge=1, le=65535)
    target_prefix: str = Field(default="iqn.2010-10.org.openstack:", pattern=r"^iqn\.[a-z0-9.:-]+$")
    """Prefix of target names; a target is ``<prefix>attachment-<id>``."""
    target_control_port: int = Field(default=0, ge=0, le=32767)
    """tgtd's management port (``tgtadm -C``; 0: a system tgtd's default)."""
    target_supervise: bool = False
    """Start tgtd (``tgtd -f -C <control port> --iscsi portal=<ip>:<port>``) as a child
    of the volume manager's process, and again when it died; off: tgtd is a system service."""


class RbdBackendSettings(_Section):
    """A backend that stores each volume as an RBD image in one Ceph pool (librbd)."""

    driver: Literal["rbd"]
    pool: str = "rbd"
    """The pool holding the volumes' images (Cinder's ``rbd_pool``)."""
    namespace: str = ""
    """A RADOS namespace inside the pool for this backend's images (default: none)."""
    ceph_conf: Path = Path("/etc/ceph/ceph.conf")
    """The cluster's configuration file (monitors, keyrings)."""
    user: str = "admin"
    """The Ceph user (without ``client.``) Hearth and qemu-img connect as."""
    keyring: Path | None = None
    """The user's keyring. Default: the one ceph.conf names."""
    cluster_name: str = "ceph"
    secret_uuid: str | None = None
    """The libvirt secret holding the user's key, given to consumers in connection info."""
    keyring_in_connection_info: bool = False
    """Give the keyring's contents to consumers in connection info (cinderlib-style, for
    consumers without the key). Default false: OSSN-0085 (Cinder stopped sending it)."""
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    """Seconds to reach the monitors before the backend counts as down (default 10)."""
    op_timeout_seconds: float = Field(default=30.0, gt=0)
    """Seconds one monitor or OSD request may take before it fails instead of hanging
    (default 30; a full or crashed OSD otherwise hangs its clients)."""
    max_clone_depth: int = Field(default=5, ge=0)
    """Layered clones of clones allowed before a new clone is flattened (Cinder's
    ``rbd_max_clone_depth``, default 5); 0 makes every clone a full copy."""
    flatten_volume_from_snapshot: bool = False
    """Flatten volumes made from snapshots, so they never depend on them (Cinder's
    ``rbd_flatten_volume_from_snapshot``, default false)."""
    qemu_img_address_space_mb: int = Field(default=2048, ge=1280)
    """Address space a ``qemu-img convert`` into this pool may map, in MiB (default 2048;
    librbd's threads need more than 1 GiB: it aborted at 1024 and ran from 1280)."""
    availability_zone: str = "nova"
    capacity_gb: int | None = Field(default=None, ge=1)
    """The most this backend may hold, in GiB. Default: the pool's size as Ceph reports it."""
    thin_provisioning: bool = True
    max_over_subscription_ratio: float = Field(default=20.0, ge=1.0)
    reserved_percentage: int = Field(default=0, ge=0, le=100)
    capabilities: dict[str, str | int | float | bool] = Field(default_factory=dict)
    image_cache: ImageCacheSettings = ImageCacheSettings()


def _backend_kind(value: Any) -> str:
    """A backend section's driver; sections that name none are file backends."""
    if isinstance(value, Mapping):
        return str(value.get("driver", "file"))
    return str(getattr(value, "driver", "file"))


BackendSettings = Annotated[
    Annotated[FileBackendSettings, pydantic.Tag("file")]
    | Annotated[RbdBackendSettings, pydantic.Tag("rbd")],
    pydantic.Discriminator(_backend_kind),
]
"""One backend section: ``driver = "file"`` (the default) or ``driver = "rbd"``."""
BACKEND_KINDS = ("file", "rbd")


class BusSettings(_Section):
    """The message bus between the API, the scheduler and the volume managers (kombu)."""

    url: str = "memory://"
    """memory:// keeps messages inside one process (everything runs in it); amqp://... or
    redis://... connects several processes and hosts."""
    namespace: str = Field(default="hearth", pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    """Prefix of queue names, so several deployments can share one broker."""
    workers: int = Field(default=8, ge=1)
    """Messages each process handles at once, per queue it serves."""


class SchedulerSettings(_Section):
    """How the scheduler places volumes."""

    max_attempts: int = Field(default=3, ge=1)
    """Backends tried for one create before it fails."""
    weigher: Literal["capacity", "allocated"] = "capacity"
    """capacity: most free capacity first. allocated: least allocated first."""
    retry_same_backend: bool = False
    """Cinder tries a failed backend again; Hearth does not unless this is true."""
    backend_down_after: float = Field(default=60.0, gt=0)
    """Seconds without a capacity report after which a backend is not chosen."""
    report_interval: float = Field(default=10.0, gt=0)
    """Seconds between two capacity reports of a volume manager (its heartbeat)."""


class RecoverySettings(_Section):
    """How unfinished work is found and finished after a crash (reconciliation)."""

    stale_after: float = Field(default=120.0, gt=0)
    """Seconds a create, delete or extend may sit unchanged and not in hand before a
    running manager (or scheduler) takes it up again. At start-up every one is taken up."""
    interval: float = Field(default=60.0, gt=0)
    """Seconds between two reconciliation passes of a running service."""
    max_resumes: int = Field(default=2, ge=0)
    """Times a create is resumed after crashes before it is failed (a create that crashes
    its service must not do so forever)."""


class LockSettings(_Section):
    """Where locks on volumes and snapshots are held (a tooz backend URL)."""

    url: str | None = None
    """Default: file locks under ``<data_dir>/locks``. For several hosts: ``redis://...``."""


class NotificationSettings(_Section):
    """Where notifications from the outbox are delivered."""

    drivers: tuple[Literal["log", "memory", "broker"], ...] = ("log",)
    """log: one log line per notification. memory: kept in the process (tests, embedding).
    broker: published to ``url`` as OpenStack services publish theirs."""
    url: str | None = None
    """The broker for the broker driver. Default: the bus's (``[bus] url``)."""
    exchange: str = "hearth"
    """The topic exchange notifications are published to."""
    topic: str = "notifications"
    """Routing keys are ``<topic>.info`` and ``<topic>.error``."""
    sent_retention_seconds: float = Field(default=3600.0, gt=0)
    """Seconds a delivered notification stays in the outbox before the relay purges it
    (default 3600)."""


class HousekeepingSettings(_Section):
    """The periodic purge of rows nobody needs any more, run in every process that runs the
    periodic tasks (a scheduler or volume role); see ``hearth.service.housekeeping``."""

    interval_seconds: float = Field(default=300.0, gt=0)
    """Seconds between two purges (default 300), checked on each heartbeat
    (``[scheduler] report_interval``): idempotency keys past their expiry (``[api]
    idempotency_ttl`` after their create), user messages past their ``guaranteed_until``
    (30 days after they were written) and, by the notification relay of every process,
    notifications delivered more than ``[notifications] sent_retention_seconds`` ago."""


class ServiceSettings(_Section):
    """The library facade (``Hearth``), which the CLI calls."""

    wait_timeout_seconds: float = Field(default=3600.0, gt=0)
    """Seconds a call with ``wait=True`` (the CLI's creates, deletes and extends) waits for
    its work to end before it fails with WaitTimedOut, the work going on (default 3600)."""


class ImageSettings(_Section):
    """The image store, and how images become raw volume data."""

    directory: Path | None = None
    """Where image files live. Default: ``<data_dir>/images``."""
    max_image_size_gb: int = Field(default=1024, ge=1)
    """Largest image file accepted at upload, in GiB (default 1024)."""
    url_timeout_seconds: float = Field(default=60.0, gt=0)
    """Seconds an image URL may stay silent during an upload before it fails (default 60)."""
    conversion_concurrency: int = Field(default=2, ge=1)
    """Most ``qemu-img convert`` processes running at once in this process (default 2);
    further conversions wait."""
    qemu_img_cpu_seconds: int = Field(default=30, ge=1)
    """CPU seconds ``qemu-img info`` may use before it is killed (default 30)."""
    qemu_img_address_space_mb: int = Field(default=1024, ge=64)
    """Address space ``qemu-img info`` may map, in MiB (default 1024)."""


class BackupSettings(_Section):
    """The backup service and its repository (``hearth.backup``)."""

    driver: Literal["posix"] = "posix"
    """The backup driver: ``posix``, a repository in a directory (local, or an NFS mount
    shared by the hosts that run backup services)."""
    directory: Path | None = None
    """The repository's directory. Default: ``<data_dir>/backups``."""
    chunk_size_mb: int = Field(default=4, ge=1, le=1024)
    """MiB per chunk of a full backup (incrementals take their parent's; default 4)."""
    compression: Literal["zstd", "none"] = "zstd"
    """How chunks are compressed (recorded per backup; default zstd)."""
    workers: int = Field(default=3, ge=1, le=64)
    """Threads that hash, compress and store chunks of one backup (default 3)."""
    concurrent_operations: int = Field(default=2, ge=1)
    """Backups and restores one backup service runs at once (default 2); more wait."""
    service_name: str = Field(default="backup", min_length=1, max_length=255)
    """The backup service's name (its rows' ``host``, its lock); each process that serves
    the backup role against one database needs its own (default ``backup``)."""
    availability_zone: str = "nova"
    """The zone the backup service reports; a backup asked for another zone is refused."""
    restore_wait_seconds: float = Field(default=600.0, gt=0)
    """How long a restore to a new volume waits for that volume's create (default 600)."""


class LimitSettings(_Section):
    """Bounds on requests."""

    max_volume_size_gb: int = Field(default=16384, ge=1)
    """The largest volume a single request may ask for, in GiB."""


class QuotaSettings(_Section):
    """Every project's default quota limits (-1: unlimited), until ``os-quota-class-sets``
    sets the ``default`` class or a project gets its own. Cinder's defaults are 10 volumes,
    10 snapshots, 1000 GiB, 10 backups, 1000 backup GiB and 10 groups; Hearth's are
    unlimited, so an embedded Hearth refuses nothing it did not before."""

    volumes: int = Field(default=-1, ge=-1)
    snapshots: int = Field(default=-1, ge=-1)
    gigabytes: int = Field(default=-1, ge=-1)
    """GiB of volumes and snapshots together."""
    backups: int = Field(default=-1, ge=-1)
    backup_gigabytes: int = Field(default=-1, ge=-1)
    groups: int = Field(default=-1, ge=-1)
    per_volume_gigabytes: int = Field(default=-1, ge=-1)
    """The largest one volume may be, in GiB (checked at create and extend)."""


class KeystoneSettings(_Section):
    """How the API validates Keystone tokens (``auth = "keystone"``), handed to
    keystonemiddleware's ``auth_token`` as its options."""

    www_authenticate_uri: str = "http://127.0.0.1:5000/v3"
    """Where clients are told to get a token (sent in ``WWW-Authenticate`` on a 401)."""
    auth_url: str = "http://127.0.0.1:5000/v3"
    """Keystone's identity endpoint, used to validate tokens."""
    auth_type: str = "password"
    """keystoneauth plugin of Hearth's own service user."""
    username: str = "hearth"
    password: str = ""
    project_name: str = "service"
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    memcached_servers: tuple[str, ...] = ()
    """host:port of memcached servers caching validated tokens (none: a local cache)."""
    extra: dict[str, str] = Field(default_factory=dict)
    """Further ``keystone_authtoken`` options, passed as given (e.g. ``cafile``)."""


class ApiSettings(_Section):
    """The HTTP API (OpenStack Block Storage v3 and an Image v2 subset)."""

    host: str = "127.0.0.1"
    """Address the API listens on."""
    port: int = Field(default=8776, ge=0, le=65535)
    """TCP port (8776 is Cinder's). 0: any free port."""
    auth: Literal["noauth", "keystone"] = "noauth"
    """noauth: the caller is who the ``X-Auth-Token: user:project`` (or ``X-User-Id`` and
    ``X-Project-Id``) headers say. keystone: tokens are validated by keystonemiddleware."""
    noauth_admin_projects: tuple[str, ...] = ("admin",)
    """With noauth: callers in these projects are administrators."""
    admin_roles: tuple[str, ...] = ("admin",)
    """Callers holding one of these roles (``X-Roles``) are administrators."""
    max_body_bytes: int = Field(default=112 * 1024, ge=1024)
    """Largest request body accepted, in bytes (image uploads excepted). Default: Cinder's
    ``osapi_max_request_body_size``."""
    max_image_bytes: int = Field(default=1 << 40, ge=1)
    """Largest image upload accepted, in bytes."""
    page_size: int = Field(default=1000, ge=1)
    """The most items one list response holds (``limit`` may ask for fewer)."""
    idempotency_ttl: float = Field(default=86400.0, gt=0)
    """Seconds an ``Idempotency-Key`` of a create is remembered."""
    public_url: str | None = None
    """Base URL in links and version documents. Default: the URL the request came to."""
    workers: int = Field(default=40, ge=1)
    """Requests handled at once (threads calling into Hearth)."""
    keystone: KeystoneSettings = KeystoneSettings()


class MetricsSettings(_Section):
    """Prometheus metrics: ``GET /metrics`` on the API port (unauthenticated, as Prometheus
    scrapes), and a port of their own for processes without the API."""

    enabled: bool = True
    """Keep metrics and serve them (default: true). false: nothing is timed or counted
    and ``/metrics`` is not served."""
    port: int = Field(default=0, ge=0, le=65535)
    """Where ``hearth serve`` without the API role (``--role scheduler``/``volume``)
    serves ``/metrics``. 0 (default): not served. Each process serves its own metrics:
    processes on one host need a port each (a config file each)."""
    host: str = "127.0.0.1"
    """Address of that port (default 127.0.0.1)."""


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class LoggingSettings(_Section):
    """How a Hearth process logs (every ``hearth`` command, ``hearth serve`` included), to
    stderr. Each line carries the request id and the volume (or snapshot) id when known."""

    format: Literal["text", "json"] = "text"
    """text: ``time pid LEVEL logger: message [request_id=... volume_id=...]``. json: one
    JSON object a line (``time``, ``level``, ``logger``, ``message``, the ids and the
    line's other fields), for log collectors."""
    level: LogLevel = "WARNING"
    """The least severe level logged (default WARNING; ``hearth -v`` lowers it to INFO)."""
    levels: dict[str, LogLevel] = Field(default_factory=dict)
    """Levels of single loggers and their children, e.g. ``{"hearth.api" = "INFO",
    "hearth.db" = "DEBUG"}``; alembic is WARNING unless named here."""


def _default_backends() -> dict[str, BackendSettings]:
    return {"local": FileBackendSettings()}


class Settings(_Section):
    """All of Hearth's settings."""

    data_dir: Path = DEFAULT_DATA_DIR
    database: DatabaseSettings = DatabaseSettings()
    backends: dict[BackendName, BackendSettings] = Field(
        default_factory=_default_backends, min_length=1
    )
    default_availability_zone: str = "nova"
    """The zone of a volume whose request names none, until a backend is chosen."""
    locks: LockSettings = LockSettings()
    bus: BusSettings = BusSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    recovery: RecoverySettings = RecoverySettings()
    notifications: NotificationSettings = NotificationSettings()
    housekeeping: HousekeepingSettings = HousekeepingSettings()
    service: ServiceSettings = ServiceSettings()
    limits: LimitSettings = LimitSettings()
    backup: BackupSettings = BackupSettings()
    images: ImageSettings = ImageSettings()
    api: ApiSettings = ApiSettings()
    metrics: MetricsSettings = MetricsSettings()
    logging: LoggingSettings = LoggingSettings()
    quotas: QuotaSettings = QuotaSettings()

    @property
    def database_url(self) -> str:
        """The database URL with its default filled in."""
        return self.database.url or f"sqlite:///{self.data_dir / 'hearth.db'}"

    @property
    def lock_url(self) -> str:
        """The tooz URL with its default filled in."""
        return self.locks.url or f"file://{self.data_dir / 'locks'}"

    @property
    def image_directory(self) -> Path:
        """The image store's directory, with its default filled in."""
        return self.images.directory or self.data_dir / "images"

    @property
    def backup_directory(self) -> Path:
        """The backup repository's directory, with its default filled in."""
        return self.backup.directory or self.data_dir / "backups"

    def backend_directory(self, name: str) -> Path:
        """The directory of a file backend, with its default filled in."""
        section = self.backends[name]
        directory = section.directory if isinstance(section, FileBackendSettings) else None
        return directory if directory is not None else self.data_dir / "backends" / name


def load(
    *,
    data_dir: Path | str | None = None,
    config_file: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build validated settings from arguments, environment, config file and defaults.

    Raises :class:`errors.ConfigError` naming the offending key.
    """
    env = os.environ if environ is None else environ
    chosen_dir = Path(data_dir or env.get("HEARTH_DATA_DIR") or DEFAULT_DATA_DIR)
    file_values = _read_config_file(config_file or env.get("HEARTH_CONFIG"), chosen_dir)
    values: dict[str, Any] = {**file_values, **(overrides or {})}
    if data_dir is not None or "data_dir" not in values:
        values["data_dir"] = chosen_dir
    if env.get("HEARTH_DATABASE_URL"):
        values["database"] = {**values.get("database", {}), "url": env["HEARTH_DATABASE_URL"]}
    try:
        settings = Settings.model_validate(values)
    except pydantic.ValidationError as exc:
        raise errors.ConfigError(reason=_describe(exc)) from exc
    return settings.model_copy(update={"data_dir": settings.data_dir.absolute()})


def _read_config_file(path: Path | str | None, data_dir: Path) -> dict[str, Any]:
    candidate = Path(path) if path else data_dir / CONFIG_FILE_NAME
    if not candidate.exists():
        if path:
            raise errors.ConfigError(reason=f"config file {candidate} does not exist")
        return {}
    try:
        return tomllib.loads(candidate.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise errors.ConfigError(reason=f"cannot read {candidate}: {exc}") from exc


def _describe(exc: pydantic.ValidationError) -> str:
    problems = []
    for item in exc.errors():
        loc = list(item["loc"])
        if loc[:1] == ["backends"] and len(loc) > 2 and loc[2] in BACKEND_KINDS:
            del loc[2]  # the union's tag (the driver), not a key the user wrote
        key = ".".join(str(part) for part in loc) or "(top level)"
        reason = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"{key}: {reason}")
    return "; ".join(problems)


def mask_url(url: str) -> str:
    """``url`` fit to log or show: its password (database, broker, lock or image URLs)
    replaced by ``***``; a URL without one is returned unchanged."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL one can take apart: show none of it that may be secret
        return url.rsplit("@", maxsplit=1)[-1]
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))
