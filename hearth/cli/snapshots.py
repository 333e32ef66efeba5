"""``hearth snapshot create | list | show | delete``.

A snapshot, and the ``--volume`` it is of, is given by id or by a unique name.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from hearth.cli import output, progress, volumes
from hearth.cli.options import Options, pass_options
from hearth.db import statuses
from hearth.service.facade import Hearth


@click.group(cls=output.Group)
def snapshot() -> None:
    """Create, inspect and delete snapshots."""


@snapshot.command("create")
@click.option("--volume", "volume_id", required=True, help="The volume to snapshot (id or name).")
@click.option("--name")
@click.option("--description")
@pass_options
def snapshot_create(
    options: Options, volume_id: str, name: str | None, description: str | None
) -> None:
    """Snapshot a volume."""
    with options.hearth() as hearth:
        source = volumes.find(hearth, volume_id, "volume_id")
        with progress.waiting(hearth) as follow:
            follow("volume", source)  # its backend makes the snapshot
            created = hearth.create_snapshot(source, name=name, description=description)
        output.emit(options, output.snapshot_view(created))
        if created.status == statuses.SnapshotStatus.ERROR:
            output.fail_with_messages(hearth, created.id)


@snapshot.command("list")
@click.option("--volume", "volume_id", help="Only snapshots of this volume (id or name).")
@pass_options
def snapshot_list(options: Options, volume_id: str | None) -> None:
    """List snapshots."""
    with options.hearth(serve=False) as hearth:
        of = volumes.find(hearth, volume_id, "volume_id") if volume_id is not None else None
        rows = [output.snapshot_view(s) for s in hearth.list_snapshots(volume_id=of)]
    output.emit_list(options, rows, output.SNAPSHOT_COLUMNS)


@snapshot.command("show")
@click.argument("snapshot_id", metavar="SNAPSHOT")
@pass_options
def snapshot_show(options: Options, snapshot_id: str) -> None:
    """Show one snapshot (by id or name)."""
    with options.hearth(serve=False) as hearth:
        output.emit(options, output.snapshot_view(hearth.find_snapshot(snapshot_id)))


@snapshot.command("delete")
@click.argument("snapshot_ids", nargs=-1, required=True, metavar="SNAPSHOT...")
@pass_options
def snapshot_delete(options: Options, snapshot_ids: Sequence[str]) -> None:
    """Delete snapshots."""
    with options.hearth() as hearth:
        output.each(snapshot_ids, lambda given: _delete(hearth, find(hearth, given)))


def find(hearth: Hearth, id_or_name: str) -> str:
    """The id of the snapshot given by id or unique name."""
    return hearth.find_snapshot(id_or_name).id


def _delete(hearth: Hearth, snapshot_id: str) -> None:
    with progress.waiting(hearth) as follow:
        follow("snapshot", snapshot_id)
        hearth.delete_snapshot(snapshot_id)
