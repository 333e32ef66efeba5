"""What every command shares: the top-level flags, the Hearth a command opens, input parsing.

The root group (``hearth.cli``) puts an :class:`Options` on click's context; each command
takes it with ``@pass_options`` and opens its Hearth with ``options.hearth()``. The output
format may also be given after the command (``hearth volume list -f json``, as the
OpenStack client takes it): :func:`format_option`, which the later one wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from hearth import config, errors
from hearth.context import RequestContext
from hearth.service.facade import Hearth

FORMATS = ("table", "json")


class Options:
    """What the top-level flags chose."""

    def __init__(self, data_dir: str | None, config_file: str | None, fmt: str) -> None:
        self.data_dir = data_dir
        self.config_file = config_file
        self.format = fmt
        self.context = RequestContext(user_id="admin", project_id="admin", is_admin=True)

    def settings(self) -> config.Settings:
        """The settings the flags choose; says on stderr when their data directory is new
        (the command about to run creates it)."""
        settings = config.load(data_dir=self.data_dir, config_file=self.config_file)
        if not settings.data_dir.exists():
            click.echo(f"Creating a new Hearth data directory at {settings.data_dir}", err=True)
        return settings

    def require_admin(self, command: str) -> None:
        """Refuse ``hearth COMMAND`` for a non-admin ``--project`` before anything runs."""
        if not self.context.is_admin:
            raise errors.Forbidden(action=f"run `hearth {command}`")

    @contextmanager
    def hearth(self, *, serve: bool | None = None) -> Iterator[Hearth]:
        """Hearth for one command; ``serve=False`` for commands that only read."""
        try:
            opened = Hearth.open(settings=self.settings(), context=self.context, serve=serve)
        except errors.BackendBusy as exc:
            raise click.ClickException(
                f"{exc.user_message} With the in-process memory:// bus a command cannot reach "
                "a running `hearth serve`: use its API, or give both a broker ([bus] url)."
            ) from exc
        with opened:
            yield opened


pass_options = click.make_pass_decorator(Options)


def format_option() -> click.Option:
    """``-f/--format`` after a command: the same choice as the global flag, and it wins."""

    def chosen(ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
        if value is not None:
            ctx.find_object(Options).format = value  # type: ignore[union-attr]
        return value

    return click.Option(
        ["-f", "--format", "output_format"],
        type=click.Choice(FORMATS),
        expose_value=False,
        callback=chosen,
        help="Output format: table or json (as the global --format).",
    )


def pairs(items: Sequence[str]) -> dict[str, str]:
    """``--property KEY=VALUE`` options as a dict; a malformed one is a usage error."""
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--property")
        found[key] = value
    return found
