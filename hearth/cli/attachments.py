"""``hearth volume attach | detach | attachment list | attachment show``.

``attach`` builds the connector of this host, as os-brick would (host name, the iSCSI
initiator name of ``/etc/iscsi/initiatorname.iscsi`` or ``--initiator``, platform), makes
the attachment, waits for its export and completes it, then prints the connection info:
``iscsi`` when the backend exports through tgtd and there is an initiator, else ``local``
(the volume file's path). ``detach`` removes the export and the attachment.
"""

from __future__ import annotations

import platform
import socket
import sys
from pathlib import Path
from typing import Any

import click

from hearth.cli import output
from hearth.cli.options import Options, pass_options
from hearth.cli.volumes import find
from hearth.db import models
from hearth.db.rows import Page

INITIATOR_FILE = Path("/etc/iscsi/initiatorname.iscsi")
COLUMNS = ("id", "volume_id", "status", "instance", "attach_mode", "driver_volume_type")


def connector(initiator: str | None, *, local: bool = False) -> dict[str, Any]:
    """This host's connector (os-brick's keys); without an initiator, a ``local`` one."""
    found = None if local else initiator or _initiator_name()
    built: dict[str, Any] = {
        "host": socket.gethostname(),
        "platform": platform.machine(),
        "os_type": sys.platform,
        "multipath": False,
    }
    if found:
        built["initiator"] = found
    return built


def view(attachment: models.Attachment) -> dict[str, Any]:
    """An attachment as the CLI shows it."""
    info = attachment.connection_info or {}
    return {
        "id": attachment.id,
        "volume_id": attachment.volume_id,
        "status": attachment.status,
        "instance": attachment.instance_uuid,
        "attach_mode": attachment.attach_mode,
        "attached_host": attachment.attached_host,
        "attached_at": attachment.attached_at,
        "driver_volume_type": info.get("driver_volume_type"),
        "connection_info": info.get("data"),
    }


@click.command("attach", cls=output.Command)
@click.argument("volume_id", metavar="VOLUME")
@click.option("--instance", "instance_uuid", help="The consumer's id (a server's UUID).")
@click.option("--initiator", help="The iSCSI initiator name (default: this host's).")
@click.option("--local", is_flag=True, help="Ask for a local connection (the file path).")
@click.option("--mode", type=click.Choice(["rw", "ro"]), default="rw", show_default=True)
@pass_options
def attach(
    options: Options, volume_id: str, instance_uuid: str | None, initiator: str | None,
    local: bool, mode: str,
) -> None:  # fmt: skip
    """Attach a volume to this host: export it and print the connection info."""
    with options.hearth() as hearth:
        made = hearth.create_attachment(
            find(hearth, volume_id),
            instance_uuid=instance_uuid,
            connector=connector(initiator, local=local),
            mode=mode,
        )
        completed = hearth.complete_attachment(made.id)
    output.emit(options, view(completed))


@click.command("detach", cls=output.Command)
@click.argument("attachment_id", metavar="ATTACHMENT")
@pass_options
def detach(options: Options, attachment_id: str) -> None:
    """Detach: remove an attachment's export and the attachment."""
    with options.hearth() as hearth:
        hearth.delete_attachment(attachment_id)


@click.group("attachment", cls=output.Group)
def attachment() -> None:
    """Inspect attachments."""


@attachment.command("list")
@click.option("--volume", "volume_id", help="Only this volume's attachments (id or name).")
@pass_options
def attachment_list(options: Options, volume_id: str | None) -> None:
    """List attachments."""
    with options.hearth(serve=False) as hearth:
        filters = {"volume_id": find(hearth, volume_id)} if volume_id else {}
        found = hearth.list_attachments_page(Page(sort=(("created_at", False),)), filters=filters)
    output.emit_list(options, [view(row) for row in found], COLUMNS)


@attachment.command("show")
@click.argument("attachment_id", metavar="ATTACHMENT")
@pass_options
def attachment_show(options: Options, attachment_id: str) -> None:
    """Show one attachment with its connection info."""
    with options.hearth(serve=False) as hearth:
        output.emit(options, view(hearth.get_attachment(attachment_id)))


def register(group: click.Group) -> None:
    """Add these commands to ``hearth volume``."""
    for command in (attach, detach, attachment):
        group.add_command(command)


def _initiator_name() -> str | None:
    try:
        text = INITIATOR_FILE.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "InitiatorName" and value:
            return value.strip()
    return None
