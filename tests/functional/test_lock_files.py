"""File locks: the lock directory keeps no file for a volume or snapshot once it is gone."""

from __future__ import annotations

from pathlib import Path

from hearth.service.facade import Hearth
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
