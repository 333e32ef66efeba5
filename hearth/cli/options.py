"""What every command shares: the top-level flags, the Hearth a command opens, input parsing.

The root group (``hearth.cli``) puts an :class:`Options` on click's context; each command
takes it with ``@pass_options`` and opens its Hearth with ``options.hearth()``. The output
format may also be given after the command (``hearth volume list -f json``, as the
OpenStack client takes it): :func:`format_option`, which the later one wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from hearth import config, coordination, errors
from hearth.context import RequestContext
from hearth.service.facade import Hearth

FORMATS = ("table", "json")


BACKEND_WAIT = 5.0
"""Seconds a command waits for a backend that another command holds (in-process bus)."""
BACKEND_POLL = 0.25
"""Seconds between two tries to take that backend."""
VALUE_OPTIONS = frozenset({"--data-dir", "--config", "--format", "-f", "--project", "--user"})
"""The root group's options that take a value (to find the command in a holder's argv)."""
SERVED = (
    "With the in-process memory:// bus a command cannot send work to a running "
    "`hearth serve`: use its API, or give both a broker ([bus] url)."
)


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
        """Hearth for one command; ``serve=False`` for commands that only read (they open
        beside anything). A command that serves its backends (the in-process bus) while
        another command holds one waits up to BACKEND_WAIT seconds for it, saying so."""
        with self._open(serve) as opened:
            yield opened

    def _open(self, serve: bool | None) -> Hearth:
        settings = self.settings()
        deadline = time.monotonic() + BACKEND_WAIT
        told = False
        while True:
            try:
                return Hearth.open(settings=settings, context=self.context, serve=serve)
            except errors.BackendBusy as exc:
                holder = exc.fields.get("holder")
                if _is_server(holder):
                    raise click.ClickException(f"{exc.user_message} {SERVED}") from exc
                if time.monotonic() >= deadline:
                    raise click.ClickException(
                        f"{exc.user_message} It did not finish within {BACKEND_WAIT:g} s: "
                        "try again when it has. To run commands side by side, give Hearth a "
                        "broker ([bus] url) and run `hearth serve`."
                    ) from exc
                if not told:
                    click.echo(
                        f"{exc.user_message} Waiting up to {BACKEND_WAIT:g} s for it to finish.",
                        err=True,
                    )
                    told = True
                time.sleep(BACKEND_POLL)


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


def _is_server(holder: object) -> bool:
    """Whether a backend's holder is a ``hearth serve`` (waiting for it would not help)."""
    if not isinstance(holder, coordination.Holder):
        return False
    args = iter(holder.argv[1:])
    for arg in args:
        if arg in VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg == "serve"
    return False


def pairs(items: Sequence[str]) -> dict[str, str]:
    """``--property KEY=VALUE`` options as a dict; a malformed one is a usage error."""
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--property")
        found[key] = value
    return found
