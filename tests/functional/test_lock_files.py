"""File locks: the lock directory keeps no file for a volume, a snapshot or an image-volume
cache entry once it is gone."""

from __future__ import annotations

from pathlib import Path

from hearth.db import models
from hearth.image import cache
from hearth.service.facade import Hearth
from tests import images as test_images
from tests.conftest import make_settings, open_hearth


def lock_files(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "locks").iterdir() if p.is_file()}


def test_deletes_remove_the_lock_files_of_what_they_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    hearth: Hearth = open_hearth(make_settings(data_dir))
    try:
        before = lock_files(data_dir)
        source = hearth.create_volume(size=1, name="source")
        snapshot = hearth.create_snapshot(source.id)
        from_snapshot = hearth.create_volume(size=1, snapshot_id=snapshot.id)
        clone = hearth.create_volume(size=1, source_volid=source.id)
        made = lock_files(data_dir) - before
        assert f"{source.id}-delete_volume" in made  # the clone held it
        assert f"{snapshot.id}-delete_snapshot" in made  # the create from it held it

        for volume in (clone, from_snapshot):
            hearth.delete_volume(volume.id)
        hearth.delete_snapshot(snapshot.id)
        hearth.delete_volume(source.id)

        assert hearth.list_volumes() == []
        assert lock_files(data_dir) == before
    finally:
        hearth.close()


def test_image_cache_lock_files_go_with_the_last_entry_of_their_image(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = make_settings(data_dir, backends={"local": {"image_cache": {"max_count": 1}}})
    hearth: Hearth = open_hearth(settings)
    try:
        raw = test_images.known_raw(tmp_path / "disk.raw")
        first, second, third = (upload(hearth, raw, name) for name in ("one", "two", "three"))
        before = lock_files(data_dir)

        hearth.create_volume(size=1, image_id=first.id)
        assert lock_files(data_dir) - before == {cache.entry_lock("local", first.id)}

        hearth.create_volume(size=1, image_id=second.id)  # evicts the first's entry (LRU)
        assert [e.image_id for e in hearth.list_image_cache()] == [second.id]
        assert lock_files(data_dir) - before == {cache.entry_lock("local", second.id)}

        hearth.create_volume(size=1, image_id=third.id)
        hearth.delete_image(third.id)  # evicts its entry
        assert hearth.list_image_cache() == []
        assert lock_files(data_dir) == before

        hearth.create_volume(size=1, image_id=second.id)  # the image is cached again
        assert lock_files(data_dir) - before == {cache.entry_lock("local", second.id)}
        assert hearth.clear_image_cache() == 1
        assert lock_files(data_dir) == before
    finally:
        hearth.close()


def upload(hearth: Hearth, raw: Path, name: str) -> models.Image:
    qcow2 = test_images.made_as(raw, "qcow2", raw.with_name(f"{name}.qcow2"))
    return hearth.create_image(name, disk_format="qcow2", file=qcow2)
