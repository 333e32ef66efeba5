"""``hearth serve``: run Hearth's services (all of them, or some roles) until a signal.

The one command that builds the services itself (``wiring.build``) rather than opening a
Hearth per command; the HTTP API, when served, gets one Hearth over them.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence

import click

from hearth import errors
from hearth.cli.options import Options, pass_options
from hearth.service import wiring
from hearth.service.facade import Hearth

LOG = logging.getLogger("hearth")


@click.command()
@click.option(
    "--role",
    "roles",
    type=click.Choice(["all", "api", "scheduler", "volume"]),
    multiple=True,
    default=["all"],
    help="What this process serves (repeatable) [all].",
)
@click.option(
    "--backend", "backends", multiple=True, help="With --role volume: serve only these backends."
)
@pass_options
def serve(options: Options, roles: Sequence[str], backends: Sequence[str]) -> None:
    """Run Hearth's services until SIGTERM or Ctrl-C.

    ``all`` (the default) runs the API, the scheduler and every backend's manager in this
    process; ``--role api`` runs the HTTP API alone, against a shared database and broker.
    """
    chosen = {"api", "scheduler", "volume"} if "all" in roles else set(roles)
    settings = options.settings()
    if (
        "api" in chosen
        and chosen != {"api", "scheduler", "volume"}
        and settings.bus.url.startswith("memory://")
    ):
        raise errors.ConfigError(
            reason="--role api without the scheduler and volume roles needs a broker "
            "([bus] url = amqp://... or redis://...)"
        )
    services = wiring.build(settings, roles=chosen - {"api"}, backends=list(backends) or None)
    try:
        services.start()
        served = ", ".join(sorted(services.managers)) or "none"
        LOG.warning(
            "hearth serving %s; backends: %s; bus %s", sorted(chosen), served, settings.bus.url
        )
        if "api" in chosen:
            LOG.warning("API on http://%s:%s", settings.api.host, settings.api.port)
            # imported here: FastAPI and uvicorn cost every other command ~0.25 s to load
            from hearth.api import server

            server.run(Hearth(services, options.context))
        else:
            services.serve_metrics()  # [metrics] port: the API port serves them otherwise
            _wait_for_signal()
    finally:
        services.stop()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
