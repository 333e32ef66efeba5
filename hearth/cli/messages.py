"""``hearth message list``: the user messages that say why something failed."""

from __future__ import annotations

import click

from hearth.cli import output
from hearth.cli.options import Options, pass_options


@click.group(cls=output.Group)
def message() -> None:
    """Read user messages (why something failed)."""


@message.command("list")
@click.option("--resource", "resource_id", help="Only messages about this volume/snapshot.")
@pass_options
def message_list(options: Options, resource_id: str | None) -> None:
    """List user messages."""
    with options.hearth(serve=False) as hearth:
        rows = [output.message_view(m) for m in hearth.list_messages(resource_id=resource_id)]
    output.emit_list(options, rows, output.MESSAGE_COLUMNS)
