"""The image-volume cache on the file backend, with the real qemu-img.

What a user and an operator check: a second create from an image is a clone, not a
conversion; the cache stays within its limits without ever evicting an entry under a
clone; a changed image is never served from an old entry; a population that died is never
served; many creates from one new image fetch and convert it exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from hearth import config, errors
from hearth.db import image_cache, images, models, statuses
from hearth.image import cache, fetch, info, progress
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from tests import images as test_images
from tests.conftest import make_settings, open_hearth
from tests.fakes import BlockingCloneDriver
from tests.images import GiB, qemu_img_calls

__all__ = ["qemu_img_calls"]  # fixture, imported for pytest


def open_with_cache(tmp_path: Path, **cache_settings: Any) -> Hearth:
    settings = make_settings(tmp_path / "data", backends={"local": {"image_cache": cache_settings}})
    return open_hearth(settings)


@pytest.fixture
def hearth_cached(tmp_path: Path) -> Iterator[Hearth]:
    """Hearth on the file backend with the image cache as configured by default."""
    opened = open_with_cache(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return test_images.known_raw(tmp_path / "disk.raw")


def upload(hearth: Hearth, raw: Path, name: str) -> models.Image:
    qcow2 = test_images.made_as(raw, "qcow2", raw.with_name(f"{name}.qcow2"))
    return hearth.create_image(name, disk_format="qcow2", file=qcow2)


def events(hearth: Hearth, suffix: str) -> list[str]:
    """Image ids of the ``image_volume_cache.<suffix>`` notifications delivered so far."""
    assert hearth.services.memory_notifications is not None
    received = hearth.services.memory_notifications.received(f"image_volume_cache.{suffix}")
    return [n.payload["image_id"] for n in received]


def entries(hearth: Hearth) -> list[tuple[str, str, int]]:
    """(image id, status, clones in progress) of every cache entry, least recently used first."""
    return [(e.image_id, e.status, e.in_use) for e in hearth.list_image_cache()]


def entry_volume(hearth: Hearth, entry_id: str) -> Path:
    manager = hearth.services.managers["local"]
    return manager.driver.local_path(base.VolumeRef(entry_id, 0))


class CountingFetches:
    """Wraps the fetcher every manager uses and counts its fetches."""

    def __init__(self, hearth: Hearth, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        real = fetch.LocalFetcher.fetch

        def counted(
            fetcher: fetch.LocalFetcher, image: info.ImageInfo, report: progress.Throttle
        ) -> AbstractContextManager[fetch.Fetched]:
            with self._lock:
                self.count += 1
            return real(fetcher, image, report)

        monkeypatch.setattr(fetch.LocalFetcher, "fetch", counted)


def test_a_miss_converts_once_and_a_hit_clones_without_converting(
    hearth_cached: Hearth, raw: Path, qemu_img_calls: test_images.QemuImgCalls
) -> None:
    image = upload(hearth_cached, raw, "disk")

    first = hearth_cached.create_volume(image_id=image.id)
    second = hearth_cached.create_volume(2, image_id=image.id)

    assert qemu_img_calls.count("convert") == 1
    assert (events(hearth_cached, "miss"), events(hearth_cached, "hit")) == ([image.id], [image.id])
    for volume, size in ((first, 1), (second, 2)):
        assert volume.status == "available"
        assert volume.volume_image_metadata is not None
        path = hearth_cached.volume_path(volume.id)
        assert test_images.holds_image(path, raw, size * GiB)
    assert entries(hearth_cached) == [(image.id, "ready", 0)]
    assert {v.id for v in hearth_cached.list_volumes()} == {first.id, second.id}


def test_entries_beyond_the_maximum_count_are_evicted_least_recently_used_first(
    tmp_path: Path, raw: Path
) -> None:
    hearth = open_with_cache(tmp_path, max_count=2)
    try:
        first, second, third = (upload(hearth, raw, name) for name in ("a", "b", "c"))
        for image in (first, second, first, third):  # the second is now least recent
            hearth.create_volume(image_id=image.id)

        assert [e[0] for e in entries(hearth)] == [first.id, third.id]
        assert events(hearth, "evict") == [second.id]
    finally:
        hearth.close()


def test_entries_beyond_the_maximum_size_are_evicted_and_their_volumes_deleted(
    tmp_path: Path, raw: Path
) -> None:
    hearth = open_with_cache(tmp_path, max_size_gb=2)
    try:
        first, second, third = (upload(hearth, raw, name) for name in ("a", "b", "c"))
        hearth.create_volume(image_id=first.id)
        [evicted] = hearth.list_image_cache()
        hearth.create_volume(image_id=second.id)
        hearth.create_volume(image_id=third.id)

        assert [e[0] for e in entries(hearth)] == [second.id, third.id]
        assert events(hearth, "evict") == [first.id]
        assert not entry_volume(hearth, evicted.id).exists()
    finally:
        hearth.close()


def test_an_entry_being_cloned_is_never_evicted(tmp_path: Path, raw: Path) -> None:
    hearth = open_with_cache(tmp_path, max_count=1)
    try:
        first, second = upload(hearth, raw, "a"), upload(hearth, raw, "b")
        hearth.create_volume(image_id=first.id)
        image_cache_of_local = hearth.services.managers["local"].image_volume_cache
        assert image_cache_of_local is not None
        first_info = image_info(hearth, first.id)

        with image_cache_of_local.entry_for(first_info, fill=failing_fill):  # a clone runs
            hearth.create_volume(image_id=second.id)
            assert entries(hearth) == [(first.id, "ready", 1), (second.id, "ready", 0)]
            assert hearth.clear_image_cache() == 1  # only the one not in use

        assert entries(hearth) == [(first.id, "ready", 0)]
    finally:
        hearth.close()


def image_info(hearth: Hearth, image_id: str) -> info.ImageInfo:
    with hearth.services.db.transaction() as session:
        return info.from_row(images.get(session, image_id))


def failing_fill(entry: cache.EntryRef) -> None:
    raise AssertionError("the entry exists: nothing should be filled")


def test_an_entry_of_an_image_that_changed_is_never_served_and_is_rebuilt(
    hearth_cached: Hearth, raw: Path, qemu_img_calls: test_images.QemuImgCalls
) -> None:
    image = upload(hearth_cached, raw, "disk")
    hearth_cached.create_volume(image_id=image.id)
    [old] = hearth_cached.list_image_cache()
    with hearth_cached.services.db.transaction() as session:
        images.update(session, image.id, min_ram=512)  # a new updated_at

    volume = hearth_cached.create_volume(image_id=image.id)

    assert qemu_img_calls.count("convert") == 2
    assert events(hearth_cached, "hit") == []
    [new] = hearth_cached.list_image_cache()
    assert new.id != old.id
    assert not entry_volume(hearth_cached, old.id).exists()
    assert test_images.holds_image(hearth_cached.volume_path(volume.id), raw, GiB)


def plant_populating_entry(hearth: Hearth, image: models.Image) -> str:
    """An entry a create died populating, with a complete volume even: never to be served."""
    with hearth.services.db.transaction() as session:
        entry = image_cache.create(
            session,
            host="local",
            image_id=image.id,
            image_checksum=image.os_hash_value,
            image_updated_at=image.updated_at,
            size=1,
            status=statuses.CacheEntryStatus.POPULATING,
        )
    hearth.services.managers["local"].driver.create_volume(base.VolumeRef(entry.id, 1))
    return entry.id


def test_an_entry_whose_population_died_is_discarded_and_rebuilt_on_next_use(
    hearth_cached: Hearth, raw: Path, qemu_img_calls: test_images.QemuImgCalls
) -> None:
    image = upload(hearth_cached, raw, "disk")
    dead = plant_populating_entry(hearth_cached, image)

    volume = hearth_cached.create_volume(image_id=image.id)

    assert qemu_img_calls.count("convert") == 1
    assert test_images.holds_image(hearth_cached.volume_path(volume.id), raw, GiB)
    [entry] = hearth_cached.list_image_cache()
    assert (entry.id != dead, entry.status) == (True, "ready")
    assert not entry_volume(hearth_cached, dead).exists()


def test_an_entry_whose_population_died_is_discarded_at_start_up(tmp_path: Path, raw: Path) -> None:
    settings = make_settings(tmp_path / "data")
    first = open_hearth(settings)
    dead = plant_populating_entry(first, upload(first, raw, "disk"))
    first.close()

    second = open_hearth(settings)
    try:
        assert second.list_image_cache() == []
        assert not entry_volume(second, dead).exists()
    finally:
        second.close()


def test_twenty_concurrent_creates_from_a_new_image_fetch_and_convert_it_once(
    hearth_cached: Hearth,
    raw: Path,
    qemu_img_calls: test_images.QemuImgCalls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = upload(hearth_cached, raw, "disk")
    fetches = CountingFetches(hearth_cached, monkeypatch)
    made: list[models.Volume] = []
    start = threading.Barrier(20)

    def create() -> None:
        start.wait()
        made.append(hearth_cached.create_volume(image_id=image.id))

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (fetches.count, qemu_img_calls.count("convert")) == (1, 1)
    assert [v.status for v in made] == ["available"] * 20
    assert len(events(hearth_cached, "miss")) == 1
    assert len(events(hearth_cached, "hit")) == 19
    for volume in made:
        assert test_images.holds_image(hearth_cached.volume_path(volume.id), raw, GiB)
    assert entries(hearth_cached) == [(image.id, "ready", 0)]


class FailingClones:
    """Makes the backend's next clones of an entry fail after they wrote part of the volume
    (``left``: what each failed clone left behind)."""

    def __init__(self, hearth: Hearth, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
        driver = hearth.services.managers["local"].driver
        real = driver.create_cloned_volume
        self.left: list[bool] = []
        self.times = times

        def clone(volume: base.VolumeRef, src_vref: base.VolumeRef) -> base.ModelUpdate | None:
            if self.times == 0:
                return real(volume, src_vref)
            self.times -= 1
            real(volume, src_vref)  # a clone that got as far as making the volume
            self.left.append(driver.local_path(volume).exists())
            raise errors.BackendError(action="clone the volume", detail="injected")

        monkeypatch.setattr(driver, "create_cloned_volume", clone)


@pytest.mark.parametrize("failing_create", ["miss", "hit"])
def test_a_failed_clone_of_an_entry_falls_back_to_fetching_and_converting_the_image(
    hearth_cached: Hearth,
    raw: Path,
    qemu_img_calls: test_images.QemuImgCalls,
    monkeypatch: pytest.MonkeyPatch,
    failing_create: str,
) -> None:
    image = upload(hearth_cached, raw, "disk")
    made = []
    if failing_create == "hit":
        made.append(hearth_cached.create_volume(image_id=image.id).id)  # makes the entry
    failing = FailingClones(hearth_cached, monkeypatch, times=1)

    volume = hearth_cached.create_volume(image_id=image.id)

    assert failing.left == [True]
    assert (volume.status, volume.reschedule_count) == ("available", 0)
    assert test_images.holds_image(hearth_cached.volume_path(volume.id), raw, GiB)
    assert volume.volume_image_metadata is not None
    assert volume.volume_image_metadata["image_id"] == image.id
    assert hearth_cached.list_messages(resource_id=volume.id) == []
    assert qemu_img_calls.count("convert") == 2  # the entry's, then the fallback's
    assert events(hearth_cached, "evict") == [image.id]  # the entry may be what is broken
    assert hearth_cached.list_image_cache() == []
    backend = hearth_cached.services.managers["local"].driver
    assert backend.list_volumes() == sorted([*made, volume.id])  # the entry's volume is gone

    again = hearth_cached.create_volume(image_id=image.id)  # a miss: the cache is rebuilt

    assert again.status == "available"
    assert events(hearth_cached, "miss") == [image.id, image.id]
    assert entries(hearth_cached) == [(image.id, "ready", 0)]


def test_an_image_larger_than_the_cache_bypasses_it(
    tmp_path: Path, qemu_img_calls: test_images.QemuImgCalls
) -> None:
    hearth = open_with_cache(tmp_path, max_size_gb=1)
    try:
        big = test_images.empty_qcow2(tmp_path / "big.qcow2", "1025M")
        image = hearth.create_image("big", disk_format="qcow2", file=big)
        for _ in range(2):
            assert hearth.create_volume(image_id=image.id).status == "available"

        assert hearth.list_image_cache() == []
        assert qemu_img_calls.count("convert") == 2
    finally:
        hearth.close()


def test_clearing_the_cache_and_deleting_an_image_remove_entries_and_their_volumes(
    hearth_cached: Hearth, raw: Path
) -> None:
    first, second = upload(hearth_cached, raw, "a"), upload(hearth_cached, raw, "b")
    for image in (first, second):
        hearth_cached.create_volume(image_id=image.id)
    by_image = {e.image_id: e.id for e in hearth_cached.list_image_cache()}

    hearth_cached.delete_image(first.id)
    assert entries(hearth_cached) == [(second.id, "ready", 0)]
    assert hearth_cached.clear_image_cache("local") == 1

    assert hearth_cached.list_image_cache() == []
    for entry_id in by_image.values():
        assert not entry_volume(hearth_cached, entry_id).exists()


def test_the_cache_settings_are_per_backend_and_on_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")

    assert settings.backends["local"].image_cache == config.ImageCacheSettings(
        enabled=True, max_size_gb=0, max_count=0
    )


def shown_progress(hearth: Hearth) -> tuple[str, Any]:
    """The only volume's status and progress, once its clone phase is shown (a thread
    writes it; wait for it rather than race it)."""
    for _ in range(1000):
        [volume] = hearth.list_volumes()
        if volume.progress and volume.progress["phase"] == "clone":
            break
        threading.Event().wait(0.01)
    return volume.status, volume.progress


def test_a_clone_from_the_cache_shows_its_phase_while_it_lasts(
    tmp_path: Path, raw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "DEFAULT_INTERVAL", 0.0)  # "slow" from the start
    driver = BlockingCloneDriver()
    hearth = open_hearth(make_settings(tmp_path / "data"), {"local": driver})
    try:
        image = upload(hearth, raw, "disk")
        created: list[models.Volume] = []
        worker = threading.Thread(
            target=lambda: created.append(hearth.create_volume(image_id=image.id))
        )
        worker.start()
        assert driver.cloning.wait(10)
        seen = shown_progress(hearth)
        driver.finish.set()
        worker.join(10)

        # this create made the entry (it downloaded) and now clones it
        assert seen == ("downloading", {"phase": "clone", "done": 0, "total": GiB})
        assert (created[0].status, created[0].progress) == ("available", None)
    finally:
        hearth.close()
