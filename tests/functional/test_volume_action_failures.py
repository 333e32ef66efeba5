"""The failure paths of the volume actions that move data, through the library on two real
file backends: what a failed migration, revert or upload leaves (statuses, claims, files,
images, user messages), and reconciliation of work a crash cut short."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth import copying, errors
from hearth.db import images, statuses, user_messages, volumes
from hearth.image import qemu
from hearth.service import migration
from hearth.service.facade import Hearth
from hearth.volume.drivers import file
from tests.conftest import make_settings, open_hearth

BACKENDS = ("b1", "b2")


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Hearth]:
    backends = {name: {"directory": str(tmp_path / name)} for name in BACKENDS}
    opened = open_hearth(make_settings(tmp_path / "data", backends=backends))
    for name in BACKENDS:
        opened.create_volume_type(f"on-{name}", extra_specs={"volume_backend_name": name})
    yield opened
    opened.close()


def write(path: Path, data: bytes) -> None:
    with path.open("r+b") as handle:
        handle.write(data)


def claims(hearth: Hearth) -> dict[str, int]:
    return {b.name: b.allocated_capacity_gb for b in hearth.list_backends()}


def messages_of(hearth: Hearth, volume_id: str) -> list[str]:
    with hearth.services.db.read() as session:
        found = user_messages.find_all(session)
    return [m.message for m in found if m.resource_uuid == volume_id]


def test_a_migration_whose_copy_fails_leaves_the_volume_where_it_was(
    two: Hearth, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = two.create_volume(size=1, volume_type="on-b1")
    write(two.volume_path(volume.id), b"data")

    def full(src_fd: int, dst_fd: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(copying, "sparse_copy", full)
    two.retype_volume(volume.id, "on-b2", "on-demand")

    after = two.get_volume(volume.id)
    assert (after.status, after.host, after.migration_status) == ("available", "b1", "error")
    assert after.volume_type is not None and after.volume_type.name == "on-b1"
    assert claims(two) == {"b1": 1, "b2": 0}
    assert two.volume_path(volume.id).read_bytes()[:4] == b"data"
    assert not list((two.services.settings.backend_directory("b2") / "volumes").iterdir())
    assert not list((two.services.settings.backend_directory("b2") / "tmp").iterdir())
    assert any("migrate volume" in text for text in messages_of(two, volume.id))


def test_a_migration_cut_short_is_copied_again_by_the_restarted_manager(
    two: Hearth, tmp_path: Path
) -> None:
    volume = two.create_volume(size=1, volume_type="on-b1")
    source = two.volume_path(volume.id)
    write(source, b"moved bytes")
    with two.services.db.transaction() as session:  # journalled, never sent: as after a kill
        migration.migrate(session, two.context, volume.id, {"host": "b2"})
    settings = two.services.settings
    two.close()

    reopened = open_hearth(settings)
    try:
        after = reopened.get_volume(volume.id)
        assert (after.status, after.host, after.migration_status) == ("available", "b2", "success")
        assert reopened.volume_path(volume.id).read_bytes()[:11] == b"moved bytes"
        assert not source.exists()
        assert claims(reopened) == {"b1": 0, "b2": 1}
    finally:
        reopened.close()


def test_a_failed_revert_puts_the_volume_in_error_and_keeps_the_snapshot(
    two: Hearth, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = two.create_volume(size=1)
    snapshot = two.create_snapshot(volume.id)

    def broken(self: file.FileDriver, volume: object, snapshot: object) -> None:
        raise errors.BackendError(action="revert the volume")

    monkeypatch.setattr(file.FileDriver, "revert_to_snapshot", broken)
    two.revert_volume(volume.id, snapshot.id)

    assert two.get_volume(volume.id).status == "error"
    assert two.get_snapshot(snapshot.id).status == "available"
    assert any("revert volume" in text for text in messages_of(two, volume.id))


def test_a_failed_upload_removes_the_image_and_gives_the_volume_back(
    two: Hearth, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = two.create_volume(size=1)

    def failing(args: object, **kwargs: object) -> str:
        raise errors.ImageConversionFailed(image_id="x", reason="the tool failed")

    monkeypatch.setattr(qemu, "run", failing)
    _, image = two.upload_volume_to_image(volume.id, {"image_name": "img", "disk_format": "qcow2"})

    assert two.get_volume(volume.id).status == "available"
    with two.services.db.read() as session:
        assert images.find(session, image.id) is None
    assert not list((two.services.settings.image_directory / "tmp").glob("*"))
    assert any("upload volume to image" in text for text in messages_of(two, volume.id))


def test_an_upload_cut_short_gives_the_volume_back_at_restart(two: Hearth) -> None:
    volume = two.create_volume(size=1)
    with two.services.db.transaction() as session:
        volumes.set_status(session, volume.id, statuses.VolumeStatus.UPLOADING)
    settings = two.services.settings
    two.close()

    reopened = open_hearth(settings)
    try:
        assert reopened.get_volume(volume.id).status == "available"
    finally:
        reopened.close()
