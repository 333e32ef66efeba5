"""``hearth db upgrade``: the schema, created or migrated without opening Hearth.

On PostgreSQL a database that does not exist yet is created first, when the configured user
may create databases; otherwise the error says what an administrator must run.
"""

from __future__ import annotations

import click

from hearth import errors
from hearth.cli import output
from hearth.cli.options import Options, pass_options
from hearth.db.session import Database


@click.group(cls=output.Group)
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_options
def db_upgrade(options: Options) -> None:
    """Create (on PostgreSQL: the database too) or migrate the schema to the newest version."""
    settings = options.settings()
    database = Database(settings.database_url)
    shown = database.url.render_as_string(hide_password=True)
    try:
        try:
            database.upgrade()
        except errors.DatabaseMissing:
            database.create_database()
            click.echo(f"created the database {database.url.database!r}", err=True)
            database.upgrade()
    finally:
        database.dispose()
    click.echo(f"database at {shown} is current")
