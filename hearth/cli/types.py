"""``hearth type create | list | delete``: volume types."""

from __future__ import annotations

from collections.abc import Sequence

import click

from hearth.cli import output
from hearth.cli.options import Options, pairs, pass_options


@click.group("type")
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
            name, description=description, extra_specs=pairs(properties), is_public=not private
        )
        output.emit(options, output.type_view(created))


@volume_type.command("list")
@pass_options
def type_list(options: Options) -> None:
    """List volume types."""
    with options.hearth(serve=False) as hearth:
        rows = [output.type_view(t) for t in hearth.list_volume_types()]
    output.emit_list(options, rows, output.TYPE_COLUMNS)


@volume_type.command("delete")
@click.argument("name_or_id")
@pass_options
def type_delete(options: Options, name_or_id: str) -> None:
    """Remove a volume type that no volume uses."""
    with options.hearth() as hearth:
        hearth.delete_volume_type(name_or_id)
