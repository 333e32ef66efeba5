"""What the commands print: views of rows, a table or JSON of them, and errors on stderr.

A view is the dict of one row a command shows (``show`` prints every field, ``list`` the
group's columns); ``--format json`` prints the same dicts as JSON. An error is one line
that names the command's own option or argument where the error names a request field
(``--snapshot``, not ``snapshot_id``): :class:`Command` renders it, and every group's
commands are of that class (``@click.group(cls=output.Group)``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import click

from hearth import errors
from hearth.cli.options import Options, format_option
from hearth.db import models
from hearth.service.facade import Hearth

VOLUME_COLUMNS = ("id", "name", "status", "size", "volume_type", "bootable", "host")
SNAPSHOT_COLUMNS = ("id", "name", "status", "size", "volume_id")
IMAGE_COLUMNS = ("id", "name", "status", "disk_format", "size", "virtual_size", "visibility")
CACHE_COLUMNS = ("id", "backend", "image_id", "status", "size_gb", "in_use", "last_used")
TYPE_COLUMNS = ("id", "name", "is_public", "extra_specs")
MESSAGE_COLUMNS = ("id", "resource_uuid", "detail_code", "message", "created_at")
BACKEND_COLUMNS = ("name", "driver", "clone_mode", "total_gb", "free_gb", "provisioned_gb")
FINDING_COLUMNS = ("backend", "kind", "resource", "detail", "fixed")


# views


def volume_view(volume: models.Volume) -> dict[str, Any]:
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
        "backup_id": volume.backup_id,
        "host": volume.host,
        "metadata": volume.volume_metadata,
        "image_id": volume.image_id,
        "image_metadata": volume.volume_image_metadata,
        "progress": progress_text(volume.progress),
        "created_at": volume.created_at,
        "launched_at": volume.launched_at,
        "reschedule_count": volume.reschedule_count,
    }


def image_view(img: models.Image) -> dict[str, Any]:
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


def cache_view(entry: models.ImageCacheEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "backend": entry.host,
        "image_id": entry.image_id,
        "status": entry.status,
        "size_gb": entry.size,
        "in_use": entry.in_use,
        "last_used": entry.last_used,
    }


def snapshot_view(snap: models.Snapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "name": snap.name,
        "description": snap.description,
        "status": snap.status,
        "size": snap.volume_size,
        "volume_id": snap.volume_id,
        "created_at": snap.created_at,
    }


def type_view(vtype: models.VolumeType) -> dict[str, Any]:
    return {
        "id": vtype.id,
        "name": vtype.name,
        "description": vtype.description,
        "is_public": vtype.is_public,
        "extra_specs": vtype.extra_specs,
    }


def message_view(msg: models.UserMessage) -> dict[str, Any]:
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


def backend_view(row: models.Backend) -> dict[str, Any]:
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


def progress_text(progress: dict[str, Any] | None) -> str | None:
    """A create's progress as ``phase NN% (done/total MiB)``; None when there is none."""
    if not progress:
        return None
    done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
    percent = 100 * done // total if total else 0
    return f"{progress.get('phase')} {percent}% ({done >> 20}/{total >> 20} MiB)"


# rendering


def emit(options: Options, view: dict[str, Any]) -> None:
    """One row: ``key  value`` lines, or a JSON object."""
    if options.format == "json":
        click.echo(json.dumps(view, default=_json_default, indent=2))
        return
    width = max(len(key) for key in view)
    for key, value in view.items():
        click.echo(f"{key.ljust(width)}  {_cell(value)}")


def emit_list(options: Options, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows: a table of ``columns`` under a header line, or a JSON list of whole views."""
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


# errors


class Command(click.Command):
    """A command that takes ``-f/--format`` too and prints Hearth's errors as one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(format_option())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.HearthError as exc:
            click.echo(f"Error: {error_text(exc, self)}", err=True)
            ctx.exit(1)


class Group(click.Group):
    """A group of :class:`Command` (its subgroups too)."""

    command_class = Command
    group_class = type


def error_text(exc: errors.HearthError, command: click.Command) -> str:
    """The error's message, with the request field it names given as the command's option
    (``--type``) or argument (``NEW_SIZE``)."""
    field = exc.fields.get("field")
    label = _label(command, field) if isinstance(field, str) else None
    if label is None:
        return exc.user_message
    template = type(exc).message
    if "{field}" not in template:  # an option the message does not name: say which
        return f"{label}: {exc.user_message}" if label.startswith("-") else exc.user_message
    try:
        return template.format(**{**exc.fields, "field": label})
    except (KeyError, IndexError):
        return exc.user_message


def _label(command: click.Command, field: str) -> str | None:
    for param in command.params:
        if param.name in (field, f"{field}_id"):
            if isinstance(param, click.Option):
                return max(param.opts, key=len)
            return param.human_readable_name
    return None


def each(ids: Sequence[str], action: Callable[[str], None]) -> None:
    """Run ``action`` on every id; an error prints its line and the rest still run, then
    the command exits 1."""
    failed = False
    for resource_id in ids:
        try:
            action(resource_id)
        except errors.HearthError as exc:
            click.echo(f"Error: {exc.user_message}", err=True)
            failed = True
    if failed:
        sys.exit(1)


def fail_with_messages(hearth: Hearth, resource_id: str) -> None:
    """Print the newest user message about a failed resource and exit 1."""
    for msg in hearth.list_messages(resource_id=resource_id)[-1:]:
        click.echo(f"Error: {msg.message}", err=True)
    sys.exit(1)
