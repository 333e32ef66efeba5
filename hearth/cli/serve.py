"""``hearth serve``: run Hearth's services (all of them, or some roles) until a signal.

The one command that builds the services itself (``wiring.build``) rather than opening a
Hearth per command; the HTTP API, when served, gets one Hearth over them. It logs at INFO
(what it serves; "API on http://host:port" once the socket is bound) and stops on Ctrl-C
or SIGTERM alike: the work in hand is finished, "stopped" is logged, and it exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Sequence

import click

from hearth import config, errors
from hearth.cli.options import Options, pass_options
from hearth.service import wiring
from hearth.service.facade import Hearth

LOG = logging.getLogger("hearth")


@click.command()
@click.option(
    "--role",
    "roles",
    type=click.Choice(["all", "api", "scheduler", "volume", "backup"]),
    multiple=True,
    default=["all"],
    help="What this process serves (repeatable) [all].",
)
@click.option(
    "--backend", "backends", multiple=True, help="With --role volume: serve only these backends."
)
@click.option("--host", help="Address the API listens on [[api] host: 127.0.0.1].")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port of the API (0: any free one) [8776]."
)
@pass_options
def serve(
    options: Options,
    roles: Sequence[str],
    backends: Sequence[str],
    host: str | None,
    port: int | None,
) -> None:
    """Run Hearth's services until SIGTERM or Ctrl-C.

    ``all`` (the default) runs the API, the scheduler, every backend's manager and the
    backup service in this process; ``--role api`` runs the HTTP API alone, against a
    shared database and broker.
    """
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)  # a service says what it does
    everything = {"api", "scheduler", "volume", "backup"}
    chosen = everything if "all" in roles else set(roles)
    settings = _with_api(options.settings(), host, port)
    if "api" in chosen and chosen != everything and settings.bus.url.startswith("memory://"):
        raise errors.ConfigError(
            reason="--role api without the scheduler, volume and backup roles needs a broker "
            "([bus] url = amqp://... or redis://...)"
        )
    # SIGTERM stops as Ctrl-C does, through the same clean shutdown below; and Ctrl-C
    # stops even where the shell started this process with SIGINT ignored (a `&` job)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        _run(options, settings, chosen, backends)
    LOG.info("hearth stopped")


def _run(
    options: Options, settings: config.Settings, chosen: set[str], backends: Sequence[str]
) -> None:
    services = wiring.build(settings, roles=chosen - {"api"}, backends=list(backends) or None)
    try:
        services.start()
        served = ", ".join(sorted(services.managers)) or "none"
        bus = config.mask_url(settings.bus.url)
        LOG.info("hearth serving %s; backends: %s; bus %s", sorted(chosen), served, bus)
        if "api" in chosen:
            # imported here: FastAPI and uvicorn cost every other command ~0.25 s to load
            from hearth.api import server

            server.run(Hearth(services, options.context))
        else:
            services.serve_metrics()  # [metrics] port: the API port serves them otherwise
            threading.Event().wait()  # until a signal interrupts it
    finally:
        services.stop()


def _with_api(settings: config.Settings, host: str | None, port: int | None) -> config.Settings:
    """The settings with ``--host``/``--port`` over ``[api] host``/``port``."""
    given = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    if not given:
        return settings
    api = config.ApiSettings.model_validate({**settings.api.model_dump(), **given})
    return settings.model_copy(update={"api": api})
