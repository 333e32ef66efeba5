"""The ``hearth`` command: the library facade from a shell.

``hearth [--data-dir D] [--config F] [--format table|json] GROUP COMMAND ...`` where GROUP is
``volume``, ``snapshot``, ``image``, ``type``, ``message``, ``backend`` or ``db``. Errors print
one readable line on stderr and exit 1; a create that ends in ``error`` prints its user
message and exits 1 too.

Over 500 lines: one short function per command, in one place, so the whole shell surface
reads top to bottom; views and output helpers follow the commands.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import models, statuses
from hearth.db.session import Database
from hearth.service import wiring
from hearth.service.facade import Hearth

LOG = logging.getLogger("hearth")

VOLUME_COLUMNS = ("id", "name", "status", "size", "volume_type", "bootable", "host")
SNAPSHOT_COLUMNS = ("id", "name", "status", "size", "volume_id")
IMAGE_COLUMNS = ("id", "name", "status", "disk_format", "size", "virtual_size", "visibility")
CACHE_COLUMNS = ("id", "backend", "image_id", "status", "size_gb", "in_use", "last_used")


class Options:
    """What the top-level flags chose."""

    def __init__(self, data_dir: str | None, config_file: str | None, fmt: str) -> None:
        self.data_dir = data_dir
        self.config_file = config_file
        self.format = fmt
        self.context = RequestContext(user_id="admin", project_id="admin", is_admin=True)

    def settings(self) -> config.Settings:
        return config.load(data_dir=self.data_dir, config_file=self.config_file)

    @contextmanager
    def hearth(self, *, serve: bool | None = None) -> Iterator[Hearth]:
        """Hearth for one command; ``serve=False`` for commands that only read."""
        try:
            opened = Hearth.open(settings=self.settings(), context=self.context, serve=serve)
        except errors.BackendBusy as exc:
            raise click.ClickException(
                f"{exc.user_message} With the in-process memory:// bus a command cannot reach "
                "a running `hearth serve`: use its API, or give both a broker ([bus] url)."
            ) from exc
        with opened:
            yield opened


pass_options = click.make_pass_decorator(Options)


class HearthGroup(click.Group):
    """Turns Hearth's errors into one readable line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.HearthError as exc:
            click.echo(f"Error: {exc.user_message}", err=True)
            ctx.exit(1)


@click.group(cls=HearthGroup)
@click.option("--data-dir", envvar="HEARTH_DATA_DIR", help="Data directory [./hearth-data].")
@click.option("--config", "config_file", envvar="HEARTH_CONFIG", help="TOML settings file.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--project", default=None, help="Act as a member of this project (not admin).")
@click.option("--user", default="admin", help="User id recorded on what you create.")
@click.option("-v", "--verbose", is_flag=True, help="Log what Hearth does.")
@click.pass_context
def cli(
    ctx: click.Context,
    data_dir: str | None,
    config_file: str | None,
    fmt: str,
    project: str | None,
    user: str,
    verbose: bool,
) -> None:
    """Hearth: block-storage volumes on this machine."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    options = Options(data_dir, config_file, fmt)
    if project is not None:
        options.context = RequestContext(user_id=user, project_id=project)
    ctx.obj = options


# volumes


@cli.group()
def volume() -> None:
    """Create, inspect and delete volumes."""


@volume.command("create")
@click.option("--size", help="Size in GiB (default: the source's size).")
@click.option("--snapshot", "snapshot_id", help="Create from this snapshot.")
@click.option("--source-volume", "source_volid", help="Clone this volume.")
@click.option("--image", "image_id", help="Create from this image.")
@click.option("--name")
@click.option("--description")
@click.option("--type", "volume_type", help="Volume type name or id.")
@click.option("--availability-zone")
@click.option("--property", "properties", multiple=True, help="Metadata KEY=VALUE (repeatable).")
@click.option("--wait", is_flag=True, help="Show the create's progress until it ends.")
@pass_options
def volume_create(
    options: Options, /, properties: Sequence[str], wait: bool, **fields: Any
) -> None:
    """Create a volume and wait until it is available (or failed)."""
    with options.hearth() as hearth:
        with _progress_bar(hearth, enabled=wait) as watch:
            metadata = _pairs(properties) or None
            created = hearth.create_volume(metadata=metadata, on_created=watch, **fields)
        _emit(options, _volume_view(created))
        if created.status == statuses.VolumeStatus.ERROR:
            _fail_with_messages(hearth, created.id)


@volume.command("list")
@click.option("--name", help="Only volumes with this name.")
@pass_options
def volume_list(options: Options, name: str | None) -> None:
    """List volumes."""
    with options.hearth(serve=False) as hearth:
        rows = [_volume_view(v) for v in hearth.list_volumes(name=name)]
    _emit_list(options, rows, VOLUME_COLUMNS)


@volume.command("show")
@click.argument("volume_id")
@pass_options
def volume_show(options: Options, volume_id: str) -> None:
    """Show one volume."""
    with options.hearth(serve=False) as hearth:
        _emit(options, _volume_view(hearth.get_volume(volume_id)))


@volume.command("delete")
@click.argument("volume_ids", nargs=-1, required=True)
@pass_options
def volume_delete(options: Options, volume_ids: Sequence[str]) -> None:
    """Delete volumes (each must have no snapshots and not be creating)."""
    with options.hearth() as hearth:
        _each(volume_ids, hearth.delete_volume)


@volume.command("path")
@click.argument("volume_id")
@pass_options
def volume_path(options: Options, volume_id: str) -> None:
    """Print where a file-backend volume's bytes live (to attach it, e.g. to a VM)."""
    with options.hearth(serve=False) as hearth:
        click.echo(str(hearth.volume_path(volume_id)))


@volume.command("extend")
@click.argument("volume_id")
@click.argument("new_size")
@pass_options
def volume_extend(options: Options, volume_id: str, new_size: str) -> None:
    """Grow a volume to NEW_SIZE GiB."""
    with options.hearth() as hearth:
        _emit(options, _volume_view(hearth.extend_volume(volume_id, new_size)))


# snapshots


@cli.group()
def snapshot() -> None:
    """Create, inspect and delete snapshots."""


@snapshot.command("create")
@click.option("--volume", "volume_id", required=True, help="The volume to snapshot.")
@click.option("--name")
@click.option("--description")
@pass_options
def snapshot_create(
    options: Options, volume_id: str, name: str | None, description: str | None
) -> None:
    """Snapshot a volume."""
    with options.hearth() as hearth:
        created = hearth.create_snapshot(volume_id, name=name, description=description)
        _emit(options, _snapshot_view(created))
        if created.status == statuses.SnapshotStatus.ERROR:
            _fail_with_messages(hearth, created.id)


@snapshot.command("list")
@click.option("--volume", "volume_id", help="Only snapshots of this volume.")
@pass_options
def snapshot_list(options: Options, volume_id: str | None) -> None:
    """List snapshots."""
    with options.hearth(serve=False) as hearth:
        rows = [_snapshot_view(s) for s in hearth.list_snapshots(volume_id=volume_id)]
    _emit_list(options, rows, SNAPSHOT_COLUMNS)


@snapshot.command("show")
@click.argument("snapshot_id")
@pass_options
def snapshot_show(options: Options, snapshot_id: str) -> None:
    """Show one snapshot."""
    with options.hearth(serve=False) as hearth:
        _emit(options, _snapshot_view(hearth.get_snapshot(snapshot_id)))


@snapshot.command("delete")
@click.argument("snapshot_ids", nargs=-1, required=True)
@pass_options
def snapshot_delete(options: Options, snapshot_ids: Sequence[str]) -> None:
    """Delete snapshots."""
    with options.hearth() as hearth:
        _each(snapshot_ids, hearth.delete_snapshot)


# processes


@cli.command()
@click.option(
    "--role",
    "roles",
    type=click.Choice(["all", "api", "scheduler", "volume"]),
    multiple=True,
    default=["all"],
    help="What this process serves (repeatable) [all].",
)
@click.option(
    "--backend", "backends", multiple=True, help="With --role volume: serve only these backends."
)
@pass_options
def serve(options: Options, roles: Sequence[str], backends: Sequence[str]) -> None:
    """Run Hearth's services until SIGTERM or Ctrl-C.

    ``all`` (the default) runs the API, the scheduler and every backend's manager in this
    process; ``--role api`` runs the HTTP API alone, against a shared database and broker.
    """
    chosen = {"api", "scheduler", "volume"} if "all" in roles else set(roles)
    settings = options.settings()
    if (
        "api" in chosen
        and chosen != {"api", "scheduler", "volume"}
        and settings.bus.url.startswith("memory://")
    ):
        raise errors.ConfigError(
            reason="--role api without the scheduler and volume roles needs a broker "
            "([bus] url = amqp://... or redis://...)"
        )
    services = wiring.build(settings, roles=chosen - {"api"}, backends=list(backends) or None)
    try:
        services.start()
        served = ", ".join(sorted(services.managers)) or "none"
        LOG.warning(
            "hearth serving %s; backends: %s; bus %s", sorted(chosen), served, settings.bus.url
        )
        if "api" in chosen:
            LOG.warning("API on http://%s:%s", settings.api.host, settings.api.port)
            # imported here: FastAPI and uvicorn cost every other command ~0.25 s to load
            from hearth.api import server

            server.run(Hearth(services, options.context))
        else:
            _wait_for_signal()
    finally:
        services.stop()


# images


@cli.group()
def image() -> None:
    """Upload, inspect and delete images; manage the image-volume cache."""


@image.command("create")
@click.argument("name")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Upload this file.")
@click.option("--url", help="Upload from this http(s) URL.")
@click.option("--disk-format", required=True, help="raw, qcow2, vmdk, vhd, vhdx or vdi.")
@click.option("--container-format", default="bare", show_default=True)
@click.option("--min-disk", type=int, default=0, help="GiB a volume from it needs at least.")
@click.option("--min-ram", type=int, default=0, help="MiB of memory it needs (recorded).")
@click.option("--public", is_flag=True, help="Visible to every project (admins only).")
@click.option("--property", "properties", multiple=True, help="KEY=VALUE (repeatable).")
@pass_options
def image_create(
    options: Options, /, name: str, public: bool, properties: Sequence[str], **fields: Any
) -> None:
    """Upload an image; it is inspected before it counts."""
    if (fields["file"] is None) == (fields["url"] is None):
        raise click.UsageError("give exactly one of --file or --url")
    with options.hearth() as hearth:
        created = hearth.create_image(
            name,
            visibility="public" if public else "private",
            properties=_pairs(properties),
            **fields,
        )
        _emit(options, _image_view(created))


@image.command("list")
@pass_options
def image_list(options: Options) -> None:
    """List the images you can use."""
    with options.hearth() as hearth:
        rows = [_image_view(i) for i in hearth.list_images()]
    _emit_list(options, rows, IMAGE_COLUMNS)


@image.command("show")
@click.argument("image_id")
@pass_options
def image_show(options: Options, image_id: str) -> None:
    """Show one image (by id or name)."""
    with options.hearth() as hearth:
        _emit(options, _image_view(hearth.get_image(image_id)))


@image.command("delete")
@click.argument("image_ids", nargs=-1, required=True)
@pass_options
def image_delete(options: Options, image_ids: Sequence[str]) -> None:
    """Delete images (refused while volumes are being created from one)."""
    with options.hearth() as hearth:
        _each(image_ids, hearth.delete_image)


@image.group("cache")
def image_cache() -> None:
    """The image-volume cache: converted images kept on each backend."""


@image_cache.command("list")
@click.option("--backend", help="Only this backend's entries.")
@pass_options
def image_cache_list(options: Options, backend: str | None) -> None:
    """List cache entries, least recently used first."""
    with options.hearth() as hearth:
        rows = [_cache_view(e) for e in hearth.list_image_cache(backend)]
    _emit_list(options, rows, CACHE_COLUMNS)


@image_cache.command("clear")
@click.option("--backend", help="Only this backend's entries.")
@pass_options
def image_cache_clear(options: Options, backend: str | None) -> None:
    """Evict every entry that no create is cloning right now."""
    with options.hearth() as hearth:
        click.echo(f"evicted {hearth.clear_image_cache(backend)} entries")


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


# volume types, messages, backends, database


@cli.group("type")
def volume_type() -> None:
    """Manage volume types."""


@volume_type.command("create")
@click.argument("name")
@click.option("--description")
@click.option("--property", "properties", multiple=True, help="Extra spec KEY=VALUE.")
@click.option("--private", is_flag=True, help="Visible to admins only.")
@pass_options
def type_create(
    options: Options,
    name: str,
    description: str | None,
    properties: Sequence[str],
    private: bool,
) -> None:
    """Add a volume type."""
    with options.hearth() as hearth:
        created = hearth.create_volume_type(
            name, description=description, extra_specs=_pairs(properties), is_public=not private
        )
        _emit(options, _type_view(created))


@volume_type.command("list")
@pass_options
def type_list(options: Options) -> None:
    """List volume types."""
    with options.hearth(serve=False) as hearth:
        rows = [_type_view(t) for t in hearth.list_volume_types()]
    _emit_list(options, rows, ("id", "name", "is_public", "extra_specs"))


@volume_type.command("delete")
@click.argument("name_or_id")
@pass_options
def type_delete(options: Options, name_or_id: str) -> None:
    """Remove a volume type that no volume uses."""
    with options.hearth() as hearth:
        hearth.delete_volume_type(name_or_id)


@cli.group()
def message() -> None:
    """Read user messages (why something failed)."""


@message.command("list")
@click.option("--resource", "resource_id", help="Only messages about this volume/snapshot.")
@pass_options
def message_list(options: Options, resource_id: str | None) -> None:
    """List user messages."""
    with options.hearth(serve=False) as hearth:
        rows = [_message_view(m) for m in hearth.list_messages(resource_id=resource_id)]
    _emit_list(options, rows, ("id", "resource_uuid", "detail_code", "message", "created_at"))


@cli.group()
def backend() -> None:
    """Inspect storage backends."""


@backend.command("list")
@pass_options
def backend_list(options: Options) -> None:
    """Each backend's capacity as last reported."""
    with options.hearth(serve=False) as hearth:
        rows = [_backend_view(b) for b in hearth.list_backends()]
    columns = ("name", "driver", "clone_mode", "total_gb", "free_gb", "provisioned_gb")
    _emit_list(options, rows, columns)


@backend.command("audit")
@click.option("--fix", is_flag=True, help="Repair what is found.")
@click.option("--backend", "names", multiple=True, help="Only these backends.")
@pass_options
def backend_audit(options: Options, fix: bool, names: Sequence[str]) -> None:
    """Compare backends' data with the database: orphans, missing data, unfinished work,
    capacity drift. Exits 1 while something found is not fixed."""
    with options.hearth(serve=None if fix else False) as hearth:
        found = hearth.audit(fix=fix, backends=list(names) or None)
    rows = [
        {
            "backend": f.backend,
            "kind": f.kind,
            "resource": f.resource_id,
            "detail": f.detail,
            "fixed": f.fixed,
        }
        for f in found
    ]
    _emit_list(options, rows, ("backend", "kind", "resource", "detail", "fixed"))
    if any(not f.fixed for f in found):
        sys.exit(1)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_options
def db_upgrade(options: Options) -> None:
    """Create or migrate the database schema to the newest version."""
    settings = options.settings()
    database = Database(settings.database_url)
    try:
        database.upgrade()
    finally:
        database.dispose()
    click.echo(f"database at {database.url.render_as_string(hide_password=True)} is current")


# views and output


def _volume_view(volume: models.Volume) -> dict[str, Any]:
    return {
        "id": volume.id,
        "name": volume.name,
        "description": volume.description,
        "status": volume.status,
        "size": volume.size,
        "volume_type": volume.volume_type.name if volume.volume_type else None,
        "availability_zone": volume.availability_zone,
        "bootable": volume.bootable,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "host": volume.host,
        "metadata": volume.volume_metadata,
        "image_id": volume.image_id,
        "image_metadata": volume.volume_image_metadata,
        "progress": _progress_text(volume.progress),
        "created_at": volume.created_at,
        "launched_at": volume.launched_at,
        "reschedule_count": volume.reschedule_count,
    }


def _image_view(img: models.Image) -> dict[str, Any]:
    return {
        "id": img.id,
        "name": img.name,
        "status": img.status,
        "disk_format": img.disk_format,
        "container_format": img.container_format,
        "size": img.size,
        "virtual_size": img.virtual_size,
        "min_disk": img.min_disk,
        "min_ram": img.min_ram,
        "visibility": img.visibility,
        "owner": img.owner,
        "checksum": img.checksum,
        "os_hash_algo": img.os_hash_algo,
        "os_hash_value": img.os_hash_value,
        "properties": img.properties,
        "created_at": img.created_at,
        "updated_at": img.updated_at,
    }


def _cache_view(entry: models.ImageCacheEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "backend": entry.host,
        "image_id": entry.image_id,
        "status": entry.status,
        "size_gb": entry.size,
        "in_use": entry.in_use,
        "last_used": entry.last_used,
    }


def _snapshot_view(snap: models.Snapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "name": snap.name,
        "description": snap.description,
        "status": snap.status,
        "size": snap.volume_size,
        "volume_id": snap.volume_id,
        "created_at": snap.created_at,
    }


def _type_view(vtype: models.VolumeType) -> dict[str, Any]:
    return {
        "id": vtype.id,
        "name": vtype.name,
        "description": vtype.description,
        "is_public": vtype.is_public,
        "extra_specs": vtype.extra_specs,
    }


def _message_view(msg: models.UserMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "resource_type": msg.resource_type,
        "resource_uuid": msg.resource_uuid,
        "action": msg.action,
        "detail_code": msg.detail_code,
        "message": msg.message,
        "request_id": msg.request_id,
        "created_at": msg.created_at,
    }


def _backend_view(row: models.Backend) -> dict[str, Any]:
    gib = float(1 << 30)
    return {
        "name": row.name,
        "driver": row.driver,
        "availability_zone": row.availability_zone,
        "clone_mode": row.clone_mode,
        "total_gb": round(row.total_bytes / gib, 2),
        "free_gb": round(row.free_bytes / gib, 2),
        "provisioned_gb": round(row.provisioned_bytes / gib, 2),
        "allocated_gb": round(row.allocated_bytes / gib, 2),
        "reported_at": row.reported_at,
    }


# create progress (a separate thread polls the volume's row; rewire to the bus later)


def _progress_text(progress: dict[str, Any] | None) -> str | None:
    if not progress:
        return None
    done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
    percent = 100 * done // total if total else 0
    return f"{progress.get('phase')} {percent}% ({done >> 20}/{total >> 20} MiB)"


@contextmanager
def _progress_bar(
    hearth: Hearth, *, enabled: bool, interval: float = 0.2
) -> Iterator[Callable[[models.Volume], None] | None]:
    """Yields a callback for the created row; while the block runs, a thread redraws a bar
    on stderr from the row's ``progress``. Yields None when not ``enabled``."""
    if not enabled:
        yield None
        return
    done = threading.Event()
    watcher: list[threading.Thread] = []

    def draw(volume_id: str) -> None:
        while not done.wait(interval):
            _draw_bar(hearth.get_volume(volume_id))
        _draw_bar(hearth.get_volume(volume_id))  # how it ended
        click.echo(err=True)

    def watch(volume: models.Volume) -> None:
        watcher.append(threading.Thread(target=draw, args=(volume.id,), daemon=True))
        watcher[0].start()

    try:
        yield watch
    finally:
        done.set()
        for thread in watcher:
            thread.join()


def _draw_bar(volume: models.Volume, width: int = 30) -> None:
    progress = volume.progress or {}
    total = int(progress.get("total") or 0)
    filled = width * int(progress.get("done", 0)) // total if total else 0
    if volume.status == statuses.VolumeStatus.AVAILABLE:
        filled = width
    bar = "#" * filled + "." * (width - filled)
    text = _progress_text(volume.progress) or volume.status
    click.echo(f"\r[{bar}] {text:<40}", nl=False, err=True)


def _emit(options: Options, view: dict[str, Any]) -> None:
    if options.format == "json":
        click.echo(json.dumps(view, default=_json_default, indent=2))
        return
    width = max(len(key) for key in view)
    for key, value in view.items():
        click.echo(f"{key.ljust(width)}  {_cell(value)}")


def _emit_list(options: Options, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if options.format == "json":
        click.echo(json.dumps(rows, default=_json_default, indent=2))
        return
    table = [list(columns)] + [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for index, line in enumerate(table):
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            click.echo("  ".join("-" * w for w in widths))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _pairs(items: Sequence[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--property")
        pairs[key] = value
    return pairs


def _each(ids: Sequence[str], action: Callable[[str], None]) -> None:
    failed = False
    for resource_id in ids:
        try:
            action(resource_id)
        except errors.HearthError as exc:
            click.echo(f"Error: {exc.user_message}", err=True)
            failed = True
    if failed:
        sys.exit(1)


def _fail_with_messages(hearth: Hearth, resource_id: str) -> None:
    for msg in hearth.list_messages(resource_id=resource_id)[-1:]:
        click.echo(f"Error: {msg.message}", err=True)
    sys.exit(1)


def main() -> None:
    """Entry point of the ``hearth`` command."""
    cli()
