"""Cost of the create-volume flow around the driver: creates/s and latency, and the engine's share.

Runs N raw creates through ``VolumeManager.create_volume`` (TaskFlow engine, fake driver,
SQLite file in WAL mode), then the same six tasks called as plain functions in the same order
(no engine) as the baseline, and prints both, their ratio, and the share of each create spent
inside TaskFlow itself.

    python benchmarks/flow_overhead.py [-n 500] [--synchronous FULL|NORMAL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config
from hearth.context import RequestContext
from hearth.db import models, statuses, volumes
from hearth.service import wiring
from hearth.volume.flows import create_volume
from hearth.volume.manager import VolumeManager
from tests.fakes import FakeDriver

CONTEXT = RequestContext(user_id="bench", project_id="bench")


def new_row(services: wiring.Services) -> models.Volume:
    with services.db.transaction() as session:
        return volumes.create(
            session,
            project_id="bench",
            user_id="bench",
            size=1,
            status=statuses.VolumeStatus.CREATING,
            host="local",
            availability_zone="nova",
        )


def through_engine(manager: VolumeManager, volume: models.Volume) -> None:
    manager.create_volume(CONTEXT, volume, {"volume_id": volume.id}, {}, allow_reschedule=False)


def plain_calls(manager: VolumeManager, volume: models.Volume) -> None:
    """The same tasks, same order, no engine: the baseline."""
    db, driver = manager.db, manager.driver
    create_volume.ExtractVolumeRefTask(db, "local").execute(CONTEXT, volume)
    create_volume.OnFailureRescheduleTask(CONTEXT, db, driver, None, False).execute()
    spec = create_volume.ExtractVolumeSpecTask(db).execute(CONTEXT, volume, {})
    create_volume.NotifyVolumeActionTask(db, "create.start").execute(CONTEXT, volume)
    create_volume.CreateVolumeFromSpecTask(manager, db, driver).execute(CONTEXT, volume, spec)
    create_volume.CreateVolumeOnFinishTask(db, "create.end").execute(CONTEXT, volume, spec)
    manager.stats_changed()


def measure(
    services: wiring.Services, n: int, create: Callable[[VolumeManager, models.Volume], None]
) -> list[float]:
    manager = services.managers["local"]
    rows = [new_row(services) for _ in range(n)]
    latencies = []
    for volume in rows:
        start = time.perf_counter()
        create(manager, volume)
        latencies.append(time.perf_counter() - start)
    with services.db.transaction() as session:
        done = volumes.find_all(session, statuses=[statuses.VolumeStatus.AVAILABLE])
    assert len(done) >= n, "some creates did not end available"
    return latencies


def report(name: str, latencies: list[float]) -> float:
    ordered = sorted(latencies)
    total = sum(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    rate = len(latencies) / total
    print(f"{name:<28} {rate:8.1f} creates/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return total / len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="creates per variant")
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        settings = config.load(
            data_dir=tmp,
            environ={},
            overrides={
                "notifications": {"drivers": []},
                "database": {"sqlite_synchronous": args.synchronous},
            },
        )
        services = wiring.build(settings, drivers={"local": FakeDriver()})
        services.start()
        try:
            measure(services, 20, through_engine)  # warm up imports and caches
            print(f"{args.n} raw creates, fake driver, SQLite synchronous={args.synchronous}")
            engine = report("VolumeManager (TaskFlow)", measure(services, args.n, through_engine))
            plain = report("plain calls (baseline)", measure(services, args.n, plain_calls))
        finally:
            services.stop()
    print(f"engine / baseline time per create: {engine / plain:.2f}x")
    print(f"share of each create inside the flow engine: {(engine - plain) / engine:.0%}")


if __name__ == "__main__":
    main()
