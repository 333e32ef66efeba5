"""What metrics cost one create, measured where the noise of HTTP and processes is not.

``benchmarks/api.py --metrics both`` compares whole deployments with metrics on and off;
on a busy machine its rounds vary by more than the 2% it looks for. This measures the
parts in one process, alternating on and off in the same run:

- creates through the library (``Hearth.create_volume(size=1)``, fake driver, SQLite),
  one at a time, with ``[metrics] enabled`` true and false: the flow's listener, the
  outcome counter on each commit and the delivery-delay driver (median of ``--rounds``);
- the API middleware around an ASGI app that answers at once: the cost per request;
- one scrape of ``/metrics`` (the registry of the metrics-on Hearth, database gauges
  included).

    python benchmarks/metrics_cost.py [-n 200] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config, metrics
from hearth.api import metrics as api_metrics
from hearth.context import RequestContext
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver


def open_hearth(data_dir: Path, enabled: bool) -> Hearth:
    values = {"notifications": {"drivers": []}, "metrics": {"enabled": enabled}}
    settings = config.load(data_dir=data_dir, overrides=values, environ={})
    services = wiring.build(settings, drivers={"local": FakeDriver()})
    services.start()
    return Hearth(services, RequestContext(user_id="admin", project_id="admin", is_admin=True))


def per_create(hearth: Hearth, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        hearth.create_volume(size=1)
    return (time.perf_counter() - started) / n


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def per_request(app: Any, n: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/v3/volumes", "headers": []}

    async def nothing() -> Any:
        return {"type": "http.request"}

    async def drop(message: Any) -> None:
        pass

    async def many() -> float:
        started = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), nothing, drop)
        return (time.perf_counter() - started) / n

    return asyncio.run(many())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="creates per round")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        on, off = open_hearth(Path(tmp) / "on", True), open_hearth(Path(tmp) / "off", False)
        try:
            per_create(on, 20), per_create(off, 20)  # warm up
            times: dict[bool, list[float]] = {True: [], False: []}
            for round_ in range(args.rounds):
                for enabled in (True, False) if round_ % 2 == 0 else (False, True):
                    times[enabled].append(per_create(on if enabled else off, args.n))
            registry = on.services.metrics_registry
            assert registry is not None
            started = time.perf_counter()
            for _ in range(20):
                metrics.exposition(registry)
            scrape = (time.perf_counter() - started) / 20
        finally:
            on.close()
            off.close()
    with_metrics, without = statistics.median(times[True]), statistics.median(times[False])
    wrapped = api_metrics.MetricsMiddleware(_answer, registry=metrics.registry(), routes=[])
    bare_request, timed_request = per_request(_answer, 20000), per_request(wrapped, 20000)
    print(f"create, metrics off: {without * 1000:.2f} ms   on: {with_metrics * 1000:.2f} ms")
    print(f"  cost: {with_metrics / without - 1:+.1%} (medians of {args.rounds} rounds)")
    print(f"API middleware: {(timed_request - bare_request) * 1e6:.1f} us a request")
    print(f"one scrape of /metrics: {scrape * 1000:.1f} ms")


if __name__ == "__main__":
    main()
