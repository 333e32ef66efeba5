"""``hearth type create | list | show | set | delete``: volume types.

A type is given by name or id (names are unique). Adding, changing and removing types is
for admins: with a non-admin ``--project`` those commands are refused before anything runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from hearth.cli import output
from hearth.cli.options import Options, pairs, pass_options


@click.group("type", cls=output.Group)
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
    """Add a volume type (admins only)."""
    options.require_admin("type create")
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


@volume_type.command("show")
@click.argument("name_or_id", metavar="TYPE")
@pass_options
def type_show(options: Options, name_or_id: str) -> None:
    """Show one volume type (by name or id)."""
    with options.hearth(serve=False) as hearth:
        output.emit(options, output.type_view(hearth.get_volume_type(name_or_id)))


@volume_type.command("set")
@click.argument("name_or_id", metavar="TYPE")
@click.option(
    "--property", "properties", multiple=True, required=True, help="Extra spec KEY=VALUE."
)
@pass_options
def type_set(options: Options, name_or_id: str, properties: Sequence[str]) -> None:
    """Add or change extra specs of a volume type (admins only)."""
    options.require_admin("type set")
    specs = pairs(properties)
    with options.hearth() as hearth:
        hearth.set_extra_specs(name_or_id, specs)
        output.emit(options, output.type_view(hearth.get_volume_type(name_or_id)))


@volume_type.command("delete")
@click.argument("name_or_id", metavar="TYPE")
@pass_options
def type_delete(options: Options, name_or_id: str) -> None:
    """Remove a volume type that no volume uses (admins only)."""
    options.require_admin("type delete")
    with options.hearth() as hearth:
        hearth.delete_volume_type(name_or_id)
