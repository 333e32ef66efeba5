"""``hearth backup create | list | show | delete | restore``.

A backup, and the ``--volume`` it is of, is given by id or by a unique name. ``create`` and
``restore`` wait for the backup service to finish; with ``--wait`` they draw a progress bar
on stderr from the backup's ``progress`` (phase, percent, MiB), written by the backup
service at most every 0.5 s. A backup or restore that fails prints its user message and
exits 1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from hearth.cli import output, volumes
from hearth.cli.options import Options, pairs, pass_options
from hearth.db import models, statuses
from hearth.service.facade import Hearth

COLUMNS = ("id", "name", "status", "size", "volume_id", "incremental")
BAR_WIDTH = 30


@click.group(cls=output.Group)
def backup() -> None:
    """Back volumes up, restore and delete backups."""


@backup.command("create")
@click.option("--volume", "volume_id", required=True, help="The volume to back up (id or name).")
@click.option("--name")
@click.option("--description")
@click.option("--incremental", is_flag=True, help="Build on the volume's newest backup.")
@click.option("--force", is_flag=True, help="Back up a volume that is in use.")
@click.option("--snapshot", "snapshot_id", help="Back up this snapshot of the volume instead.")
@click.option("--container", help="A name recorded with the backup.")
@click.option("--property", "properties", multiple=True, help="Metadata KEY=VALUE (repeatable).")
@click.option("--wait", is_flag=True, help="Show the backup's progress until it ends.")
@pass_options
def backup_create(
    options: Options, /, volume_id: str, properties: Sequence[str], wait: bool, **fields: Any
) -> None:
    """Back a volume up and wait until the backup is available (or failed)."""
    with options.hearth() as hearth:
        source = volumes.find(hearth, volume_id, "volume_id")
        if fields["snapshot_id"] is not None:
            fields["snapshot_id"] = hearth.find_snapshot(
                fields["snapshot_id"], field="snapshot_id"
            ).id
        metadata = pairs(properties) or None
        with _bar(hearth, wait) as follow:
            made = hearth.create_backup(source, metadata=metadata, on_created=follow, **fields)
        output.emit(options, view(hearth, made))
        if made.status == statuses.BackupStatus.ERROR:
            output.fail_with_messages(hearth, made.id)


@backup.command("list")
@click.option("--volume", "volume_id", help="Only backups of this volume (id or name).")
@pass_options
def backup_list(options: Options, volume_id: str | None) -> None:
    """List backups."""
    with options.hearth(serve=False) as hearth:
        of = volumes.find(hearth, volume_id, "volume_id") if volume_id is not None else None
        rows = [view(hearth, b) for b in hearth.list_backups(volume_id=of)]
    output.emit_list(options, rows, COLUMNS)


@backup.command("show")
@click.argument("backup_id", metavar="BACKUP")
@pass_options
def backup_show(options: Options, backup_id: str) -> None:
    """Show one backup (by id or name), with its progress while it runs."""
    with options.hearth(serve=False) as hearth:
        output.emit(options, view(hearth, hearth.find_backup(backup_id)))


@backup.command("delete")
@click.argument("backup_ids", nargs=-1, required=True, metavar="BACKUP...")
@click.option("--force", is_flag=True, help="Admins: also from deleting or error_deleting.")
@pass_options
def backup_delete(options: Options, backup_ids: Sequence[str], force: bool) -> None:
    """Delete backups (refused while incremental backups depend on one)."""
    with options.hearth() as hearth:
        output.each(
            backup_ids,
            lambda given: hearth.delete_backup(hearth.find_backup(given).id, force=force),
        )


@backup.command("restore")
@click.argument("backup_id", metavar="BACKUP")
@click.option("--volume", "volume_id", help="Restore onto this available volume (id or name).")
@click.option("--name", help="The name of the new volume (without --volume).")
@click.option("--wait", is_flag=True, help="Show the restore's progress until it ends.")
@pass_options
def backup_restore(
    options: Options, backup_id: str, volume_id: str | None, name: str | None, wait: bool
) -> None:
    """Restore a backup onto a volume, or into a new one; prints the volume."""
    with options.hearth() as hearth:
        chosen = hearth.find_backup(backup_id).id
        target = volumes.find(hearth, volume_id, "volume_id") if volume_id else None
        with _bar(hearth, wait) as follow:
            follow(hearth.get_backup(chosen))
            restored = hearth.restore_backup(chosen, volume_id=target, name=name)
        output.emit(options, output.volume_view(restored))
        if restored.status != statuses.VolumeStatus.AVAILABLE:
            output.fail_with_messages(hearth, chosen)


def view(hearth: Hearth, row: models.Backup) -> dict[str, Any]:
    """What ``show`` prints of a backup (and ``list`` its columns of)."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "status": row.status,
        "size": row.size,
        "volume_id": row.volume_id,
        "snapshot_id": row.snapshot_id,
        "incremental": row.parent_id is not None,
        "parent_id": row.parent_id,
        "dependent_backups": hearth.count_dependent_backups(row.id),
        "object_count": row.object_count,
        "availability_zone": row.availability_zone,
        "container": row.container,
        "fail_reason": row.fail_reason,
        "metadata": row.backup_metadata,
        "progress": output.progress_text(row.progress),
        "created_at": row.created_at,
        "data_timestamp": row.data_timestamp,
    }


@contextmanager
def _bar(hearth: Hearth, shown: bool) -> Iterator[Callable[[models.Backup], None]]:
    """Yields ``follow(backup)``: with ``shown``, a thread redraws the backup's progress
    bar on stderr every 0.2 s until the block ends."""
    done = threading.Event()
    threads: list[threading.Thread] = []

    def follow(row: models.Backup) -> None:
        if shown:
            threads.append(threading.Thread(target=_draw, args=(hearth, row.id, done), daemon=True))
            threads[-1].start()

    try:
        yield follow
    finally:
        done.set()
        for thread in threads:
            thread.join()


def _draw(hearth: Hearth, backup_id: str, done: threading.Event) -> None:
    while True:
        finished = done.wait(0.2)
        row = hearth.get_backup(backup_id)
        progress = row.progress or {}
        total = int(progress.get("total") or 0)
        filled = BAR_WIDTH * int(progress.get("done", 0)) // total if total else 0
        if finished and row.status == statuses.BackupStatus.AVAILABLE:
            filled = BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        text = output.progress_text(row.progress) or row.status
        click.echo(f"\r[{bar}] {text:<40}", nl=False, err=True)
        if finished:
            click.echo(err=True)
            return
