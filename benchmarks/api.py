"""API throughput: raw volumes from POST /v3/volumes to ``available``, over real HTTP.

Each deployment runs as real ``hearth serve`` processes on a fresh data directory (file
backend), driven by an asyncio HTTP client in this process: ``concurrency`` workers each
create a 1 GiB raw volume, wait until it is no longer ``creating`` (one shared poller
lists the ``creating`` volumes every 20 ms), and start the next; no create may fail.
Printed per row: volumes/s and the p50/p99 latency of create→available, at
concurrency 1, 8 and 32, for:

- ``one process``: ``hearth serve`` (API, scheduler, manager on the memory:// bus);
- ``processes``: ``--role api`` + ``--role scheduler`` + ``--role volume`` on RabbitMQ;

each on SQLite and on PostgreSQL. Target: >= 50 volumes/s at concurrency 32 on SQLite.

Baseline, measured first in the same run: the same creates through the library facade
(``Hearth.create_volume(size=1)``, waiting for the end) from as many threads, in one
process on SQLite with no HTTP; each row prints its throughput as a share of it.

Metrics (``--metrics both``, the default): every row runs with ``[metrics] enabled`` on
and off, alternating for ``--rounds`` rounds on fresh deployments, and prints the median
of each and the cost of metrics, ``1 - on/off`` (target: below 2%). With metrics on, one
scrape of ``/metrics`` per second runs during the measurement, as Prometheus would (more
often than its usual 15 s).

    python benchmarks/api.py [-n 200] [--postgres postgresql+psycopg://postgres@127.0.0.1/]
                             [--amqp amqp://guest:guest@127.0.0.1:5672//] [--only sqlite]
                             [--metrics both|on|off] [--rounds 3] [--layout "one process"]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config
from hearth.service.facade import Hearth

HEADERS = {"X-Auth-Token": "bench:bench"}
POLL_SECONDS = 0.02


@contextmanager
def deployment(
    roles: list[list[str]],
    database_url: str | None,
    bus_url: str,
    workers: int = 8,
    metrics: bool = True,
) -> Iterator[str]:
    """Hearth processes (one per role list) on a fresh data directory; yields the API URL."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        lines = ["[api]", f"port = {port}", "[bus]", f'url = "{bus_url}"']
        lines += [f'namespace = "bench{uuid.uuid4().hex[:8]}"', f"workers = {workers}"]
        lines += ["[notifications]", "drivers = []"]
        lines += ["[metrics]", f"enabled = {'true' if metrics else 'false'}"]
        if database_url:
            lines += ["[database]", f'url = "{database_url}"']
        config_file = Path(tmp) / "hearth.toml"
        config_file.write_text("\n".join(lines) + "\n")
        base = [sys.executable, "-m", "hearth", "--data-dir", tmp, "--config", str(config_file)]
        subprocess.run([*base, "db", "upgrade"], check=True, capture_output=True)
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        processes = [
            subprocess.Popen([*base, "serve", *args], env=env, stderr=subprocess.DEVNULL)
            for args in roles
        ]
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_up(url)
            yield url
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)


async def run(
    url: str, count: int, concurrency: int, scrape: bool = False
) -> tuple[float, list[float]]:
    """(volumes/s, latencies in seconds) for ``count`` creates at ``concurrency``; with
    ``scrape``, ``GET /metrics`` once a second meanwhile."""
    latencies: list[float] = []
    remaining = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, limits=limits, timeout=120
    ) as client:
        watch = Watch(client)
        watcher = asyncio.create_task(watch.run())
        scraper = asyncio.create_task(_scrape_every_second(client)) if scrape else None

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.post("/v3/volumes", json={"volume": {"size": 1}})
                assert response.status_code == 202, response.text
                await watch.until_created(response.json()["volume"]["id"])
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        watcher.cancel()
        if scraper is not None:
            scraper.cancel()
        failed = (await client.get("/v3/volumes", params={"status": "error"})).json()["volumes"]
        if failed:
            said = await client.get("/v3/messages", headers={"OpenStack-API-Version": "volume 3.5"})
            reasons = {m["user_message"] for m in said.json()["messages"]}
            raise SystemExit(f"{len(failed)} creates failed: {sorted(reasons)}")
    return count / elapsed, latencies


async def _scrape_every_second(client: httpx.AsyncClient) -> None:
    while True:
        await asyncio.sleep(1.0)
        response = await client.get("/metrics")
        assert response.status_code == 200, response.status_code


class Watch:
    """One poller for every worker: a volume no longer listed as ``creating`` is done
    (one small list request per interval, whatever the concurrency)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.pending: dict[str, asyncio.Future[None]] = {}

    async def until_created(self, volume_id: str) -> None:
        future = asyncio.get_running_loop().create_future()
        self.pending[volume_id] = future
        await future

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.pending:
                continue
            asked = set(self.pending)
            response = await self.client.get("/v3/volumes", params={"status": "creating"})
            creating = {volume["id"] for volume in response.json()["volumes"]}
            for volume_id in asked - creating:
                self.pending.pop(volume_id).set_result(None)


def library_rate(count: int, concurrency: int) -> float:
    """Creates/s through the facade, no HTTP: one process, SQLite, memory:// bus."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.load(
            data_dir=Path(tmp), overrides={"notifications": {"drivers": []}}, environ={}
        )
        with Hearth.open(settings=settings) as hearth, ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: hearth.create_volume(size=1), range(min(8, count))))
            started = time.perf_counter()
            made = list(pool.map(lambda _: hearth.create_volume(size=1), range(count)))
            elapsed = time.perf_counter() - started
        assert {v.status for v in made} == {"available"}, "some library creates failed"
    return count / elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"hearth_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server_url + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server_url + name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="volumes per row at concurrency 32")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1/")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=8, help="[bus] workers of each process")
    parser.add_argument("--metrics", choices=["both", "on", "off"], default="both")
    parser.add_argument("--rounds", type=int, default=1, help="on/off rounds per row")
    parser.add_argument("--layout", choices=["one process", "processes"])
    args = parser.parse_args()
    layouts = {
        "one process": (["--role", "all"],),
        "processes": (["--role", "api"], ["--role", "scheduler"], ["--role", "volume"]),
    }
    settings = {"both": (True, False), "on": (True,), "off": (False,)}[args.metrics]
    baseline = {c: library_rate(max(20, args.n * c // 32), c) for c in args.concurrency}
    for concurrency, rate in baseline.items():
        print(f"baseline: library, no HTTP, SQLite, conc {concurrency}: {rate:.1f} vol/s")
    print(
        f"{'deployment':12} {'database':10} {'conc':>4} {'metrics':>7} {'vol/s':>7} {'p50 ms':>7}"
        f" {'p99 ms':>7} {'/ base':>7}"
    )
    for database in ("sqlite", "postgresql"):
        if args.only and database != args.only:
            continue
        for layout, roles in layouts.items():
            if args.layout and layout != args.layout:
                continue
            bus = "memory://" if layout == "one process" else args.amqp
            for concurrency in args.concurrency:
                count = max(20, args.n * concurrency // 32)
                rates: dict[bool, list[float]] = {on: [] for on in settings}
                for round_ in range(args.rounds):
                    # alternate which goes first: drift on a busy machine hits both alike
                    for metrics in settings if round_ % 2 == 0 else settings[::-1]:
                        with (
                            _database(database, args.postgres) as url_of_db,
                            deployment(
                                [list(r) for r in roles], url_of_db, bus, args.workers, metrics
                            ) as url,
                        ):
                            asyncio.run(run(url, min(8, count), concurrency))  # warm up
                            rate, latencies = asyncio.run(run(url, count, concurrency, metrics))
                        rates[metrics].append(rate)
                        p50 = statistics.median(latencies) * 1000
                        p99 = percentile(latencies, 0.99) * 1000
                        print(
                            f"{layout:12} {database:10} {concurrency:4d}"
                            f" {'on' if metrics else 'off':>7} {rate:7.1f} {p50:7.0f}"
                            f" {p99:7.0f} {rate / baseline[concurrency]:7.2f}"
                        )
                if len(settings) == 2:
                    on, off = statistics.median(rates[True]), statistics.median(rates[False])
                    print(
                        f"{layout:12} {database:10} {concurrency:4d} metrics cost:"
                        f" {1 - on / off:+.1%} (median on {on:.1f}, off {off:.1f} vol/s,"
                        f" {args.rounds} rounds)"
                    )


@contextmanager
def _database(kind: str, postgres: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    with postgres_database(postgres) as url:
        yield url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while not _answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API at {url} did not come up")
        time.sleep(0.1)
    # with separate processes the scheduler may run before the volume process has reported
    # its backend: until then a create fails with "no valid backend"; wait for one to work
    while _probe_create(url) != "available":
        if time.monotonic() > deadline:
            raise RuntimeError(f"no create at {url} succeeded within a minute")
        time.sleep(0.5)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/").status_code == 300
    except httpx.TransportError:
        return False


def _probe_create(url: str) -> str:
    """Create a volume, wait for its outcome, delete it; returns the outcome."""
    response = httpx.post(f"{url}/v3/volumes", json={"volume": {"size": 1}}, headers=HEADERS)
    volume_url = f"{url}/v3/volumes/{response.json()['volume']['id']}"
    status = "creating"
    while status == "creating":
        time.sleep(0.05)
        status = httpx.get(volume_url, headers=HEADERS).json()["volume"]["status"]
    httpx.delete(volume_url, headers=HEADERS)
    return str(status)


if __name__ == "__main__":
    main()
