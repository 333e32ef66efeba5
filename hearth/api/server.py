"""Running the API: uvicorn serving ``build_app`` on ``[api] host:port``.

``hearth serve`` calls :func:`run` in its main thread; uvicorn stops on SIGTERM or Ctrl-C,
finishing the requests in hand. "API on http://host:port" is logged once the socket is
bound (uvicorn's own start-up lines are kept to warnings). :class:`Background` runs the
same server in a thread, for tests and benchmarks that talk to it over real HTTP.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from hearth import config
from hearth.api.app import build_app
from hearth.service.facade import Hearth

LOG = logging.getLogger("hearth")


class _Server(uvicorn.Server):
    """uvicorn's server, which says where the API listens once it does."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            LOG.info("API on %s", url_of(self))


def url_of(served: uvicorn.Server) -> str:
    """The base URL a started server listens on (the bound port, for a port 0)."""
    host, port = served.servers[0].sockets[0].getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def server(hearth: Hearth, settings: config.ApiSettings | None = None) -> uvicorn.Server:
    """A uvicorn server for the API over ``hearth`` (not yet started)."""
    chosen = settings or hearth.services.settings.api
    app = build_app(hearth, chosen)
    return _Server(
        uvicorn.Config(
            app,
            host=chosen.host,
            port=chosen.port,
            log_config=None,
            access_log=False,  # the middleware logs each request with its request id
            server_header=False,
            timeout_graceful_shutdown=30,
            log_level="warning",
        )
    )


def run(hearth: Hearth, settings: config.ApiSettings | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    server(hearth, settings).run()


class Background:
    """The API served from a thread of this process (``with Background(h) as api:``)."""

    def __init__(self, hearth: Hearth, settings: config.ApiSettings | None = None) -> None:
        self._server = server(hearth, settings)
        self._server.config.install_signal_handlers = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)

    @property
    def url(self) -> str:
        """The base URL the server listens on."""
        return url_of(self._server)

    def __enter__(self) -> Background:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)
