"""``hearth volume create | list | show | delete | path | extend``.

A volume (and a ``--snapshot``, ``--source-volume`` or ``--backup``) is given by id or by
a name that only one of your volumes has, as images and volume types are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from hearth import errors
from hearth.cli import output, progress
from hearth.cli.options import Options, pairs, pass_options
from hearth.db import statuses
from hearth.service.facade import Hearth


@click.group(cls=output.Group)
def volume() -> None:
    """Create, inspect and delete volumes."""


@volume.command("create")
@click.option("--size", help="Size in GiB (default: the source's size).")
@click.option("--snapshot", "snapshot_id", help="Create from this snapshot (id or name).")
@click.option("--source-volume", "source_volid", help="Clone this volume (id or name).")
@click.option("--image", "image_id", help="Create from this image (id or name).")
@click.option("--backup", "backup_id", help="Restore this backup into it (id or name).")
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
        if fields["snapshot_id"] is not None:
            found = hearth.find_snapshot(fields["snapshot_id"], field="snapshot_id")
            fields["snapshot_id"] = found.id
        if fields["source_volid"] is not None:
            fields["source_volid"] = find(hearth, fields["source_volid"], "source_volid")
        if fields["backup_id"] is not None:
            found_backup = hearth.find_backup_source(fields["backup_id"], field="backup_id")
            fields["backup_id"] = found_backup.id
        if fields["volume_type"] is not None:
            fields["volume_type"] = _type_id(hearth, fields["volume_type"])
        with progress.waiting(hearth, bar=wait) as follow:
            metadata = pairs(properties) or None
            followed = progress.on_created(follow)
            created = hearth.create_volume(metadata=metadata, on_created=followed, **fields)
        output.emit(options, output.volume_view(created))
        if created.status == statuses.VolumeStatus.ERROR:
            output.fail_with_messages(hearth, created.id)


@volume.command("list")
@click.option("--name", help="Only volumes with this name.")
@pass_options
def volume_list(options: Options, name: str | None) -> None:
    """List volumes."""
    with options.hearth(serve=False) as hearth:
        rows = [output.volume_view(v) for v in hearth.list_volumes(name=name)]
    output.emit_list(options, rows, output.VOLUME_COLUMNS)


@volume.command("show")
@click.argument("volume_id", metavar="VOLUME")
@pass_options
def volume_show(options: Options, volume_id: str) -> None:
    """Show one volume (by id or name)."""
    with options.hearth(serve=False) as hearth:
        output.emit(options, output.volume_view(hearth.find_volume(volume_id)))


@volume.command("delete")
@click.argument("volume_ids", nargs=-1, required=True, metavar="VOLUME...")
@pass_options
def volume_delete(options: Options, volume_ids: Sequence[str]) -> None:
    """Delete volumes (each must have no snapshots and not be creating)."""
    with options.hearth() as hearth:
        output.each(volume_ids, lambda given: _delete(hearth, find(hearth, given)))


@volume.command("path")
@click.argument("volume_id", metavar="VOLUME")
@pass_options
def volume_path(options: Options, volume_id: str) -> None:
    """Print where a volume's bytes live on this host (to attach it, e.g. to a VM)."""
    with options.hearth(serve=False) as hearth:
        click.echo(str(hearth.volume_path(find(hearth, volume_id))))


@volume.command("extend")
@click.argument("volume_id", metavar="VOLUME")
@click.argument("new_size")
@pass_options
def volume_extend(options: Options, volume_id: str, new_size: str) -> None:
    """Grow a volume to NEW_SIZE GiB."""
    with options.hearth() as hearth:
        volume_id = find(hearth, volume_id)
        with progress.waiting(hearth) as follow:
            follow("volume", volume_id)
            extended = hearth.extend_volume(volume_id, new_size)
        output.emit(options, output.volume_view(extended))


def _type_id(hearth: Hearth, name_or_id: str) -> str:
    """The id of a volume type the caller may use; not found names ``--type``."""
    try:
        return hearth.get_volume_type(name_or_id).id
    except errors.VolumeTypeNotFound:
        raise errors.InvalidReference(
            field="volume_type", kind="Volume type", value=name_or_id
        ) from None


def find(hearth: Hearth, id_or_name: str, field: str | None = None) -> str:
    """The id of the volume given by id or unique name (``field``: the option that gave it)."""
    return hearth.find_volume(id_or_name, field=field).id


def _delete(hearth: Hearth, volume_id: str) -> None:
    with progress.waiting(hearth) as follow:
        follow("volume", volume_id)
        hearth.delete_volume(volume_id)
