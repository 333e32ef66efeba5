"""Capacity under concurrency: claims never promise more than the backends hold.

200 concurrent 1 GiB creates against two file backends with room for 100 GiB together, on
SQLite and on PostgreSQL, through the bus, the scheduler and the managers.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hearth.db import backends, statuses, volumes
from hearth.db.session import Database
from hearth.service.facade import Hearth
from tests.conftest import make_settings, open_hearth


def test_200_concurrent_creates_fill_100_gib_exactly_and_the_rest_fail_cleanly(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(
        tmp_path / "data",
        database={"url": database_url},
        backends={
            name: {"capacity_gb": 50, "thin_provisioning": False} for name in ("east", "west")
        },
        bus={"workers": 16},
    )
    upgrade(database_url)
    hearth = open_hearth(settings)
    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            created = list(pool.map(lambda _: hearth.create_volume(size=1), range(200)))
        check_outcome(hearth, created)
    finally:
        hearth.close()


def upgrade(url: str) -> None:
    database = Database(url)
    try:
        database.upgrade()
    finally:
        database.dispose()


def check_outcome(hearth: Hearth, created: list) -> None:  # type: ignore[type-arg]
    available = [v for v in created if v.status == statuses.VolumeStatus.AVAILABLE]
    failed = [v for v in created if v.status == statuses.VolumeStatus.ERROR]
    assert (len(available), len(failed)) == (100, 100)
    for volume in failed:
        [message] = hearth.list_messages(resource_id=volume.id)
        assert message.detail_code == "no_valid_backend"
        assert message.message.endswith("no backend has room for 1 GiB")
    with hearth.services.db.transaction() as session:
        claimed = {row.name: row.allocated_capacity_gb for row in backends.find_all(session)}
        recounted = {name: backends.recount_allocated(session, name) for name in claimed}
        placed = volumes.find_all(session, statuses=[statuses.VolumeStatus.AVAILABLE])
    on_disk = {name: files_of(hearth, name) for name in claimed}
    assert sum(claimed.values()) == 100
    assert claimed == recounted
    assert claimed == {name: len(ids) for name, ids in on_disk.items()}
    assert {v.id for v in placed} == set().union(*on_disk.values())
    assert all(v.host in ("east", "west") for v in available)


def files_of(hearth: Hearth, backend: str) -> set[str]:
    """Ids of the volumes whose files a backend holds, each exactly 1 GiB."""
    folder = hearth.services.settings.backend_directory(backend) / "volumes"
    found = set()
    for entry in os.scandir(folder):
        assert entry.stat().st_size == 1 << 30
        found.add(entry.name.removeprefix("volume-"))
    return found
