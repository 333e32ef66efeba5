"""Costs that must not grow with the number of volumes: creates, capacity reports, lists.

For each size (``--sizes``, default 0 and 50,000) a fresh deployment (SQLite file, or
PostgreSQL with ``--postgres``; the file backend) is seeded with that many ``available``
1 GiB volumes of one project, all on backend ``local``: rows by bulk inserts, and on the
file backend one sparse file per volume (``--no-files`` skips them, e.g. at 1,000,000).
Then, measured in one process through the library facade and the ASGI app in memory:

- creates at concurrency 1 (``Hearth.create_volume(1)``, request to ``available``):
  creates/s and p99;
- the capacity report of the backend after a change (``report_stats_quietly``), median
  of 20; and once, the full report that reads the driver's statistics (start-up, every
  ``FULL_REPORT_INTERVAL``), for reference;
- ``GET /v3/volumes/detail?limit=1000`` as the seeded project, median of 10, and the next
  page through its ``marker``.

Printed per size, and as ratios to the empty database (targets: creates within 10%, the
report independent of the number of volumes); a list's ratio is to the smallest size whose
list filled its page of 1,000 (default sizes 0, 10,000, 50,000; target: at most 2x).

    python benchmarks/scale.py [--sizes 0,10000,50000] [--creates 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient  # in memory: the app, no network

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config
from hearth.api import app as api_app
from hearth.context import RequestContext
from hearth.db import models
from hearth.service.facade import Hearth

PROJECT = "bench"
HEADERS = {"X-Auth-Token": f"bench:{PROJECT}"}
GiB = 1 << 30
BATCH = 10_000
CONTEXT = RequestContext(user_id=PROJECT, project_id=PROJECT)


def seed(hearth: Hearth, count: int, files: bool) -> float:
    """Insert ``count`` available volumes on ``local`` (and their files); seconds taken."""
    started = time.perf_counter()
    engine = hearth.services.db.engine
    directory = hearth.services.settings.backend_directory("local") / "volumes"
    base = models.utcnow() - timedelta(days=1)
    done = 0
    while done < count:
        rows = []
        for i in range(done, min(count, done + BATCH)):
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "name": f"seed-{i}",
                    "project_id": PROJECT,
                    "user_id": PROJECT,
                    "size": 1,
                    "status": "available",
                    "host": "local",
                    "availability_zone": "nova",
                    "bootable": False,
                    "metadata": {},
                    "backends_tried": [],
                    "reschedule_count": 0,
                    "create_resumes": 0,
                    "created_at": base + timedelta(microseconds=i),
                    "create_step": "made",
                }
            )
        with engine.begin() as connection:
            connection.execute(sa.insert(models.Volume.__table__), rows)
            connection.execute(
                sa.update(models.Backend.__table__)
                .where(models.Backend.__table__.c.name == "local")
                .values(
                    allocated_capacity_gb=models.Backend.__table__.c.allocated_capacity_gb
                    + len(rows)
                )
            )
        if files:
            for row in rows:
                fd = os.open(directory / f"volume-{row['id']}", os.O_WRONLY | os.O_CREAT, 0o600)
                os.ftruncate(fd, GiB)
                os.close(fd)
        done += len(rows)
    return time.perf_counter() - started


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(hearth: Hearth, creates: int) -> dict[str, float]:
    manager = hearth.services.managers["local"]
    latencies = []
    for _ in range(creates):
        latencies.append(timed(lambda: _check(hearth.create_volume(1))))
    latencies.sort()
    reports = []
    for _ in range(20):
        time.sleep(0.2)  # a report still in flight (after the last create) would skip this one
        reports.append(timed(manager.report_stats_quietly))
    full = timed(manager.report_stats)
    with TestClient(api_app.build_app(hearth)) as client:
        listing: list[float] = []
        for _ in range(10):
            started = time.perf_counter()
            page = client.get("/v3/volumes/detail?limit=1000", headers=HEADERS)
            listing.append(time.perf_counter() - started)
            assert page.status_code == 200, page.text
        shown = page.json()["volumes"]
        following = timed(
            lambda: client.get(
                f"/v3/volumes/detail?limit=1000&marker={shown[-1]['id']}", headers=HEADERS
            )
        )
    return {
        "listed": float(len(shown)),
        "creates/s": len(latencies) / sum(latencies),
        "p99 ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "report ms": statistics.median(reports) * 1000,
        "full report ms": full * 1000,
        "list ms": statistics.median(listing) * 1000,
        "next page ms": following * 1000,
    }


def _check(volume: Any) -> None:
    assert volume.status == "available", volume.status


def run_size(count: int, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hearth-scale-") as tmp:
        overrides: dict[str, Any] = {
            "notifications": {"drivers": []},
            "backends": {"local": {"image_cache": {"enabled": False}, "capacity_gb": 1 << 22}},
        }
        if args.postgres:
            url = sa.make_url(args.postgres).set(database=f"scale_{uuid.uuid4().hex[:10]}")
            overrides["database"] = {"url": url.render_as_string(hide_password=False)}
        settings = config.load(data_dir=tmp, environ={}, overrides=overrides)
        if args.postgres:
            from hearth.db.session import Database

            Database(settings.database_url).create_database()
        with Hearth.open(settings=settings, context=CONTEXT) as hearth:
            seconds = seed(hearth, count, files=not args.no_files)
            hearth.create_volume(1)  # warm-up: imports, pools, caches
            print(f"{count} volumes seeded in {seconds:.1f} s", flush=True)
            return measure(hearth, args.creates)


LISTS = ("list ms", "next page ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,50000")
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is made)")
    parser.add_argument("--no-files", action="store_true", help="rows only, no volume files")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: run_size(size, args) for size in sizes}
    empty = results[sizes[0]]
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{where}, file backend, creates at concurrency 1 ({args.creates} per size)")
    for size, figures in results.items():
        shown = "  ".join(f"{key} {value:8.2f}" for key, value in figures.items())
        print(f"{size:>9} volumes: {shown}")
    # a list is compared with the smallest size that filled a page (the empty database
    # lists only the creates made here)
    full = next((results[s] for s in sizes if results[s]["listed"] >= 1000), empty)
    for size, figures in results.items():
        if size == sizes[0]:
            continue
        ratios = "  ".join(
            f"{key} {value / (full if key in LISTS else empty)[key]:.2f}x"
            for key, value in figures.items()
            if key != "listed"
        )
        print(f"{size:>9} / {sizes[0]} volumes: {ratios}")


if __name__ == "__main__":
    main()
