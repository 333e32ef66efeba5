"""The image repositories (``images``, ``image_cache``) on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hearth.db import image_cache, images, models, volumes
from hearth.db.session import Database
from hearth.db.statuses import CacheEntryStatus, ImageStatus, VolumeStatus

READY = CacheEntryStatus.READY


def new_image(database: Database, **fields: Any) -> str:
    values: dict[str, Any] = {
        "name": "disk",
        "owner": "project-a",
        "visibility": images.PRIVATE,
        "disk_format": "qcow2",
        "container_format": "bare",
        "status": ImageStatus.ACTIVE,
        **fields,
    }
    with database.transaction() as session:
        return images.create(session, **values).id


def new_entry(database: Database, **fields: Any) -> str:
    values: dict[str, Any] = {
        "host": "local",
        "image_id": "image-1",
        "image_checksum": "abc",
        "image_updated_at": models.utcnow(),
        "size": 1,
        "status": READY,
        **fields,
    }
    with database.transaction() as session:
        return image_cache.create(session, **values).id


def in_use_of(session: Any, entry_id: str) -> int:
    entry = image_cache.find(session, entry_id)
    assert entry is not None
    return entry.in_use


def test_a_project_finds_its_own_and_public_images_but_not_others_private_ones(
    database: Database,
) -> None:
    own = new_image(database)
    public = new_image(database, owner="project-b", visibility=images.PUBLIC)
    hidden = new_image(database, owner="project-b")

    with database.transaction() as session:
        seen = {i.id for i in images.find_all(session, project_id="project-a")}
        assert seen == {own, public}
        assert images.find(session, hidden, project_id="project-a") is None
        assert images.find(session, hidden) is not None  # admins see everything
        assert images.get_for_update(session, public, project_id="project-a").id == public


def test_an_image_row_keeps_its_hashes_sizes_and_properties(database: Database) -> None:
    image_id = new_image(
        database,
        size=10,
        checksum="m" * 32,
        os_hash_algo="sha256",
        os_hash_value="s" * 64,
        virtual_size=3 << 40,
        properties={"os": "linux"},
    )

    with database.transaction() as session:
        row = images.get(session, image_id)
    assert (row.size, row.virtual_size, row.properties) == (10, 3 << 40, {"os": "linux"})
    assert (row.checksum, row.os_hash_value) == ("m" * 32, "s" * 64)
    assert (row.min_disk, row.min_ram) == (0, 0)


def test_volumes_being_created_from_an_image_are_counted(database: Database) -> None:
    image_id = new_image(database)
    for status in (VolumeStatus.CREATING, VolumeStatus.DOWNLOADING, VolumeStatus.AVAILABLE):
        with database.transaction() as session:
            volumes.create(
                session,
                project_id="project-a",
                user_id="alice",
                size=1,
                status=status,
                availability_zone="nova",
                image_id=image_id,
            )

    with database.transaction() as session:
        assert images.count_creating_volumes(session, image_id) == 2


def test_a_ready_entry_is_taken_by_each_clone_and_given_back(database: Database) -> None:
    entry_id = new_entry(database)

    with database.transaction() as session:
        assert image_cache.take(session, entry_id) is True
        assert image_cache.take(session, entry_id) is True
    with database.transaction() as session:
        image_cache.give_back(session, entry_id)
    with database.transaction() as session:
        assert in_use_of(session, entry_id) == 1


def test_an_entry_in_use_cannot_be_evicted_and_an_evicting_one_cannot_be_taken(
    database: Database,
) -> None:
    entry_id = new_entry(database)
    with database.transaction() as session:
        image_cache.take(session, entry_id)
        assert image_cache.begin_eviction(session, entry_id) is False
        image_cache.give_back(session, entry_id)
        assert image_cache.begin_eviction(session, entry_id) is True
        assert image_cache.take(session, entry_id) is False


def test_concurrent_takes_and_an_eviction_never_both_win(database: Database) -> None:
    for _ in range(10):
        entry_id = new_entry(database)

        def take(entry: str = entry_id) -> bool:
            with database.transaction() as session:
                return image_cache.take(session, entry)

        def evict(entry: str = entry_id) -> bool:
            with database.transaction() as session:
                return image_cache.begin_eviction(session, entry)

        with ThreadPoolExecutor(4) as pool:
            takes = [pool.submit(take) for _ in range(3)]
            eviction = pool.submit(evict)
            taken = [t.result() for t in takes]
        with database.transaction() as session:
            in_use = in_use_of(session, entry_id)
        assert not (eviction.result() and any(taken))
        assert in_use == sum(taken)


def test_entries_are_listed_least_recently_used_first_and_released_at_restart(
    database: Database,
) -> None:
    older = new_entry(database)
    newer = new_entry(database)
    with database.transaction() as session:
        image_cache.take(session, older)  # now the most recently used

    with database.transaction() as session:
        assert [e.id for e in image_cache.find_all(session, host="local")] == [newer, older]
        image_cache.release_all(session, "local")
    with database.transaction() as session:
        assert in_use_of(session, older) == 0
