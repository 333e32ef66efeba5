"""``hearth db upgrade``: the schema, created or migrated without opening Hearth."""

from __future__ import annotations

import click

from hearth.cli.options import Options, pass_options
from hearth.db.session import Database


@click.group()
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
