"""Cost of the create-volume flow around the driver: creates/s and latency, and the engine's share.

Runs N raw creates through ``VolumeManager.create_volume`` (TaskFlow engine, fake driver,
SQLite file in WAL mode), then the same six tasks called as plain functions in the same order
(no engine) as the baseline, and prints both, their ratio, and the share of each create spent
inside TaskFlow itself. Last, the statements and commits of one create through the manager
(row insert aside), counted by SQLAlchemy event listeners (``sqlcount``).

    python benchmarks/flow_overhead.py [-n 500] [--synchronous FULL|NORMAL]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskflow import engines, task
from taskflow.patterns import linear_flow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import sqlcount
from hearth import config
from hearth.context import RequestContext
from hearth.db import models, statuses, volumes
from hearth.service import wiring
from hearth.volume import scheduling
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
    spec = scheduling.RequestSpec(volume.id, volume.size)
    manager.create_volume(CONTEXT, volume, spec, allow_reschedule=False)


@functools.cache
def tasks_of(manager: VolumeManager) -> tuple[Any, ...]:
    db, driver = manager.db, manager.driver
    return (
        create_volume.ExtractVolumeRefTask(db, "local"),
        create_volume.OnFailureRescheduleTask(CONTEXT, db, driver, None, False),
        create_volume.ExtractVolumeSpecTask(db),
        create_volume.NotifyVolumeActionTask(db, "create.start"),
        create_volume.CreateVolumeFromSpecTask(manager, db, driver),
        create_volume.CreateVolumeOnFinishTask(db, "create.end"),
    )


def plain_calls(manager: VolumeManager, volume: models.Volume) -> None:
    """The same tasks, same order, called directly: no engine (the baseline)."""
    extract_ref, on_failure, extract_spec, notify, create, finish = tasks_of(manager)
    extract_ref.execute(CONTEXT, volume)
    on_failure.execute()
    spec = extract_spec.execute(CONTEXT, volume, None)
    notify.execute(CONTEXT, volume)
    create.execute(CONTEXT, volume, spec)
    finish.execute(CONTEXT, volume, spec)
    manager.stats_changed()


class _Noop(task.Task):  # type: ignore[misc]
    def execute(self) -> None:
        pass


def bare_taskflow(n: int) -> float:
    """Seconds per load-and-run of a six-task no-op flow with TaskFlow's defaults: how fast
    this machine runs TaskFlow today (FACTS.md measured 8-9 ms)."""
    flow = linear_flow.Flow("bare")
    flow.add(*[_Noop(name=f"noop{i}") for i in range(6)])
    start = time.perf_counter()
    for _ in range(n):
        engines.load(flow).run()
    return (time.perf_counter() - start) / n


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


def count_statements(services: wiring.Services, n: int) -> str:
    """Statements and commits per create through the manager (rows inserted beforehand)."""
    manager = services.managers["local"]
    rows = [new_row(services) for _ in range(n)]
    counts = sqlcount.Counts(services.db)
    with counts.active():
        for volume in rows:
            through_engine(manager, volume)
    return counts.per(n)


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
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="NORMAL")
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
            counts = count_statements(services, 50)
        finally:
            services.stop()
    bare = bare_taskflow(args.n)
    print(
        f"{'bare 6-task TaskFlow flow':<28} {1 / bare:8.1f} flows/s     mean {bare * 1000:6.2f} ms"
    )
    print(f"engine / baseline time per create: {engine / plain:.2f}x")
    print(f"share of each create inside the flow engine: {(engine - plain) / engine:.0%}")
    print(f"a whole create / a bare TaskFlow flow: {engine / bare:.2f}x")
    print(f"per create (manager, raw): {counts}")


if __name__ == "__main__":
    main()
