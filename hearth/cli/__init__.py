"""The ``hearth`` command: the library facade from a shell.

``hearth [--data-dir D] [--config F] [-f table|json] GROUP COMMAND [-f table|json] ...``
where GROUP is ``volume``, ``snapshot``, ``image``, ``type``, ``message``, ``backend`` or
``db``; ``hearth serve`` runs the services, ``hearth status`` shows the deployment's health;
``hearth --version``. Errors print one readable line on stderr and exit 1 (naming the
command's option where the error is about one, see ``output.Command``); a create that ends
in ``error`` prints its user message and exits 1 too. Every command logs as ``[logging]``
says (``-v``: INFO at least), set up by ``hearth.logs``.

This module is the root group (the global options, the error rendering); each group of
commands has its module (``volumes``, ``snapshots``, ``images``, ``types``, ``messages``,
``backends``, ``db``, ``serve``, ``status``), what they print is ``output``, the ``--wait`` bar
``progress``, and what they share (the options, the Hearth they open) ``options``.
The ``backup`` group (``backups``) backs volumes up and restores them.
"""

from __future__ import annotations

from typing import Any

import click

from hearth import config, errors, logs
from hearth.cli import (
    attachments,
    backends,
    backups,
    db,
    images,
    messages,
    quotas,
    serve,
    snapshots,
    status,
    types,
    volumes,
)
from hearth.cli.options import FORMATS, Options
from hearth.context import RequestContext


class HearthGroup(click.Group):
    """Turns Hearth's errors into one readable line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.HearthError as exc:
            click.echo(f"Error: {exc.user_message}", err=True)
            ctx.exit(1)


@click.group(cls=HearthGroup)
@click.version_option(package_name="hearth", prog_name="hearth", message="%(prog)s %(version)s")
@click.option("--data-dir", envvar="HEARTH_DATA_DIR", help="Data directory [./hearth-data].")
@click.option("--config", "config_file", envvar="HEARTH_CONFIG", help="TOML settings file.")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    help="Output format [table]; also accepted after the command.",
)
@click.option("--project", default=None, help="Act as a member of this project (not admin).")
@click.option("--user", default="admin", help="User id recorded on what you create.")
@click.option("-v", "--verbose", is_flag=True, help="Log what Hearth does.")
@click.pass_context
def cli(
    ctx: click.Context,
    data_dir: str | None,
    config_file: str | None,
    fmt: str,
    project: str | None,
    user: str,
    verbose: bool,
) -> None:
    """Hearth: block-storage volumes on this machine."""
    options = Options(data_dir, config_file, fmt)
    logs.configure(_logging_settings(options), verbose=verbose)
    if project is not None:
        options.context = RequestContext(user_id=user, project_id=project)
    ctx.obj = options


def _logging_settings(options: Options) -> config.LoggingSettings:
    """``[logging]`` of the settings the command will load; the defaults when they cannot
    be loaded (the command itself then reports why)."""
    try:  # config.load, not options.settings(): only a command that opens Hearth says
        # it is creating a new data directory
        return config.load(data_dir=options.data_dir, config_file=options.config_file).logging
    except errors.HearthError:
        return config.LoggingSettings()


for command in (
    volumes.volume,
    snapshots.snapshot,
    serve.serve,
    images.image,
    types.volume_type,
    messages.message,
    backends.backend,
    db.db,
    status.status,
    backups.backup,
    quotas.quota,
):
    cli.add_command(command)
attachments.register(volumes.volume)


def main() -> None:
    """Entry point of the ``hearth`` command."""
    cli()
