"""Scheduler throughput: placement decisions per second, and creates per second end to end.

1. Decisions/s of ``SchedulerManager.place`` (read backends, filter, weigh, claim and place
   in one transaction) with 10 and 100 backends, against the same filters and weigher run
   in memory only (no database) as the baseline.
2. Creates/s through the facade, the bus, the scheduler and a manager (fake driver, SQLite),
   at concurrency 8, on memory:// and on RabbitMQ, against the same creates made by calling
   the manager directly (no bus, no scheduler) as the baseline.

    python benchmarks/scheduler.py [-n 300] [--amqp amqp://guest:guest@127.0.0.1:5672//]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config
from hearth.context import RequestContext
from hearth.db import backends, models, statuses, volumes
from hearth.scheduler import filters, weighers
from hearth.scheduler.manager import SchedulerManager
from hearth.service import wiring
from hearth.service.facade import Hearth
from hearth.volume import scheduling
from tests.fakes import FakeDriver

ADMIN = RequestContext(user_id="bench", project_id="bench", is_admin=True)


class NoCasts:
    """Stands in for the volume managers' rpcapi: placement only."""

    def create_volume(self, *args: Any, **kwargs: Any) -> None:
        pass


def decisions(n: int, backend_count: int) -> tuple[float, float]:
    """(decisions/s through the database, decisions/s in memory only)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.load(
            data_dir=tmp, environ={}, overrides={"notifications": {"drivers": []}}
        )
        services = wiring.build(settings, roles=())
        services.start()
        try:
            db = services.db
            with db.transaction() as session:
                for index in range(backend_count):
                    backends.report(
                        session,
                        f"b{index:03d}",
                        driver="fake",
                        availability_zone="nova",
                        clone_mode="fake",
                        capabilities={},
                        capacity_limit_gb=1 << 20,
                        free_bytes=1 << 50,
                    )
                rows = [
                    volumes.create(
                        session,
                        project_id="bench",
                        user_id="bench",
                        size=1,
                        status=statuses.VolumeStatus.CREATING,
                        availability_zone="nova",
                    )
                    for _ in range(n)
                ]
            scheduler = SchedulerManager(
                db=db,
                volume_api=NoCasts(),  # type: ignore[arg-type]
                settings=settings.scheduler,
            )
            start = time.perf_counter()
            for row in rows:
                scheduler.place(
                    row, scheduling.RequestSpec(row.id, row.size), scheduling.Attempts(1)
                )
            through_db = n / (time.perf_counter() - start)
            with db.transaction() as session:
                states = [
                    filters.BackendState(
                        r.name,
                        r.availability_zone,
                        r.capabilities,
                        r.capacity_limit_gb,
                        r.allocated_capacity_gb,
                        r.free_bytes + 1,
                        models.utcnow(),
                    )
                    for r in backends.find_all(session)
                ]
        finally:
            services.stop()
    request = filters.PlacementRequest(
        1, None, {}, None, frozenset(), None, models.utcnow(), timedelta(seconds=60)
    )
    start = time.perf_counter()
    for _ in range(n):
        weighers.order(filters.select(states, request), "capacity")
    return through_db, n / (time.perf_counter() - start)


def creates(n: int, bus_url: str, direct: bool) -> float:
    """Creates/s at concurrency 8: through bus + scheduler, or calling the manager."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.load(
            data_dir=tmp,
            environ={},
            overrides={
                "notifications": {"drivers": []},
                "bus": {"url": bus_url, "namespace": f"bench-{uuid.uuid4().hex[:8]}"},
            },
        )
        services = wiring.build(settings, roles=wiring.ALL_ROLES, drivers={"local": FakeDriver()})
        services.start()
        hearth = Hearth(services, ADMIN)
        manager = services.managers["local"]

        def one(_: int) -> str:
            if not direct:
                return hearth.create_volume(size=1).status
            with services.db.transaction() as session:
                row = volumes.create(
                    session,
                    project_id="bench",
                    user_id="bench",
                    size=1,
                    status=statuses.VolumeStatus.CREATING,
                    host="local",
                    availability_zone="nova",
                )
            spec = scheduling.RequestSpec(row.id, row.size)
            manager.create_volume(ADMIN, row, spec, allow_reschedule=False)
            return "available"

        try:
            list(map(one, range(8)))  # warm up
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                outcomes = list(pool.map(one, range(n)))
            elapsed = time.perf_counter() - start
        finally:
            services.stop()
    assert outcomes == ["available"] * n, "some creates failed"
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672//")
    args = parser.parse_args()

    print("placement decisions per second")
    for count in (10, 100):
        db_rate, memory_rate = decisions(args.n, count)
        print(
            f"  {count:>3} backends: {db_rate:8.1f}/s with claims   "
            f"{memory_rate:9.1f}/s filters+weigher only   ratio {memory_rate / db_rate:6.1f}x"
        )

    print("creates per second, concurrency 8, fake driver, SQLite")
    baseline = creates(args.n, "memory://", direct=True)
    print(f"  manager called directly (baseline): {baseline:7.1f}/s")
    for label, url in (("memory://", "memory://"), ("RabbitMQ", args.amqp)):
        rate = creates(args.n, url, direct=False)
        print(
            f"  facade -> bus -> scheduler -> manager on {label:<9} {rate:7.1f}/s   "
            f"{rate / baseline:5.2f}x of baseline"
        )


if __name__ == "__main__":
    main()
