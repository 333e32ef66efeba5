"""Volumes from images, end to end on the file backend with the real qemu-img.

Each image holds known data; a volume made from it must hold exactly those bytes, then
zeros. Failures must be refused by their class: hostile images before qemu-img ever runs,
with a user message, nothing left on the backend, never rescheduled; a fetch that fails
for I/O reasons is rescheduled.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth import config, errors
from hearth.db import images
from hearth.image import convert, fetch
from hearth.service.facade import Hearth
from tests import images as test_images
from tests.conftest import Sent, make_settings, open_hearth
from tests.create_flow import RecordingScheduler, creating_volume, retry_record, run_flow
from tests.images import GiB, MiB, http_files, qemu_img_calls

__all__ = ["http_files", "qemu_img_calls"]  # fixtures, imported for pytest

FORMATS = [
    ("raw", ()),
    ("qcow2", ()),
    ("qcow2", ("-c",)),
    ("vmdk", ("-o", "subformat=streamOptimized")),
    ("vhdx", ()),
]


@pytest.fixture
def direct_settings(tmp_path: Path) -> config.Settings:
    """Settings whose backend has no image cache: every create downloads and converts."""
    return make_settings(tmp_path / "data", backends={"local": {"image_cache": {"enabled": False}}})


@pytest.fixture
def direct(direct_settings: config.Settings) -> Iterator[Hearth]:
    opened = open_hearth(direct_settings)
    yield opened
    opened.close()


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return test_images.known_raw(tmp_path / "disk.raw")


def image_of(raw: Path, fmt: str, options: tuple[str, ...] = ()) -> Path:
    if fmt == "raw":
        return raw
    return test_images.made_as(raw, fmt, raw.with_name(f"disk-{len(options)}.{fmt}"), *options)


def backend_files(hearth: Hearth) -> list[str]:
    """Every file of the backend (volumes, snapshots, temporary files)."""
    root = hearth.services.settings.backend_directory("local")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def only_message(hearth: Hearth, volume_id: str) -> Any:
    [message] = hearth.list_messages(resource_id=volume_id)
    return message


@pytest.mark.parametrize(("fmt", "options"), FORMATS)
def test_a_volume_from_an_image_holds_the_images_bytes_then_zeros(
    direct: Hearth, raw: Path, fmt: str, options: tuple[str, ...]
) -> None:
    image = direct.create_image("disk", disk_format=fmt, file=image_of(raw, fmt, options))

    volume = direct.create_volume(image_id=image.id)

    assert (volume.status, volume.size, volume.bootable) == ("available", 1, True)
    assert test_images.holds_image(direct.volume_path(volume.id), raw, GiB)
    assert volume.volume_image_metadata == {
        "image_id": image.id,
        "image_name": "disk",
        "checksum": image.checksum,
        "container_format": "bare",
        "disk_format": fmt,
        "min_disk": 0,
        "min_ram": 0,
        "size": image.size,
    }
    assert volume.progress is None  # progress is for creates under way


def test_image_properties_reach_the_volume_and_its_snapshots_and_clones_carry_them(
    direct: Hearth, raw: Path
) -> None:
    properties = {"os_distro": "cirros", "hw_scsi_model": "virtio-scsi", "owner": "forged"}
    image = direct.create_image("disk", disk_format="raw", file=raw, properties=properties)

    volume = direct.create_volume(image_id=image.id)
    snapshot = direct.create_snapshot(volume.id)
    from_snapshot = direct.create_volume(snapshot_id=snapshot.id)
    clone = direct.create_volume(source_volid=volume.id)

    assert volume.volume_image_metadata is not None
    assert volume.volume_image_metadata["os_distro"] == "cirros"
    assert volume.volume_image_metadata["hw_scsi_model"] == "virtio-scsi"
    assert "owner" not in volume.volume_image_metadata  # an image attribute's name
    assert volume.volume_image_metadata["image_id"] == image.id
    for copy in (from_snapshot, clone):
        assert (copy.status, copy.bootable) == ("available", True)
        assert copy.volume_image_metadata == volume.volume_image_metadata
    ends = Sent(direct).received("volume.create.end")
    assert {n.payload["volume_id"]: n.payload["glance_metadata"] for n in ends} == {
        made.id: volume.volume_image_metadata for made in (volume, from_snapshot, clone)
    }


def test_a_volume_larger_than_the_image_reads_zeros_after_it(direct: Hearth, raw: Path) -> None:
    image = direct.create_image("disk", disk_format="qcow2", file=image_of(raw, "qcow2"))

    volume = direct.create_volume(3, image_id="disk")

    assert volume.size == 3
    assert test_images.holds_image(direct.volume_path(volume.id), raw, 3 * GiB)
    assert direct.get_volume(volume.id).image_id == image.id


def test_a_volume_from_an_image_uploaded_from_a_url_holds_its_bytes(
    direct: Hearth, raw: Path, http_files: tuple[Path, str]
) -> None:
    root, base_url = http_files
    (root / "disk.vhdx").write_bytes(image_of(raw, "vhdx").read_bytes())
    direct.create_image("web", disk_format="vhdx", url=f"{base_url}/disk.vhdx")

    volume = direct.create_volume(image_id="web")

    assert volume.status == "available"
    assert test_images.holds_image(direct.volume_path(volume.id), raw, GiB)


def test_a_size_below_the_images_virtual_size_is_refused_before_any_row(
    direct: Hearth, tmp_path: Path
) -> None:
    big = test_images.empty_qcow2(tmp_path / "big.qcow2", "1025M")
    direct.create_image("big", disk_format="qcow2", file=big, min_disk=1)

    with pytest.raises(errors.InvalidInput) as caught:
        direct.create_volume(1, image_id="big")

    assert caught.value.fields["field"] == "size"
    assert "must be at least 2 GiB" in caught.value.user_message
    assert direct.list_volumes() == []
    assert direct.create_volume(image_id="big").size == 2  # the default fits


def test_the_volume_is_downloading_with_progress_while_the_image_converts(
    direct: Hearth, raw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = direct.create_image("disk", disk_format="qcow2", file=image_of(raw, "qcow2"))
    seen: list[tuple[str, dict[str, Any] | None]] = []
    real = convert.Converter.to_raw

    def watched(self: convert.Converter, *args: Any, **kwargs: Any) -> None:
        [row] = direct.list_volumes()
        seen.append((row.status, row.progress))
        real(self, *args, **kwargs)

    monkeypatch.setattr(convert.Converter, "to_raw", watched)

    direct.create_volume(image_id=image.id)

    [(status, progress)] = seen
    assert status == "downloading"
    assert progress is not None
    assert progress["phase"] == "inspect"
    assert progress["total"] == image.size


@pytest.mark.parametrize("case", sorted(test_images.HOSTILE))
def test_a_hostile_image_in_the_store_is_refused_at_create_before_qemu_img_runs(
    direct: Hearth, tmp_path: Path, qemu_img_calls: Any, case: str
) -> None:
    build, declared, error, fragment = test_images.HOSTILE[case]
    image_id = test_images.plant(direct, build(tmp_path), declared)
    volume = creating_volume(direct, image_id=image_id)
    scheduler = RecordingScheduler()

    with pytest.raises(error):
        run_flow(direct, volume, scheduler=scheduler, retry=retry_record())

    assert qemu_img_calls.all() == []
    assert scheduler.casts == []  # terminal: never rescheduled
    row = direct.get_volume(volume.id)
    assert (row.status, row.volume_image_metadata, row.bootable) == ("error", None, False)
    message = only_message(direct, volume.id)
    assert message.detail_code == error.code
    assert fragment in message.message
    assert str(tmp_path) not in message.message
    assert backend_files(direct) == []


def test_an_image_whose_real_disk_is_larger_than_the_volume_fails_before_qemu_img_runs(
    direct: Hearth, tmp_path: Path, qemu_img_calls: Any
) -> None:
    big = test_images.empty_qcow2(tmp_path / "big.qcow2", "2G")
    image_id = test_images.plant(direct, big, "qcow2", virtual_size=MiB)  # metadata lies
    volume = creating_volume(direct, image_id=image_id, size=1)
    scheduler = RecordingScheduler()

    with pytest.raises(errors.ImageTooBig):
        run_flow(direct, volume, scheduler=scheduler, retry=retry_record())

    assert qemu_img_calls.all() == []
    assert scheduler.casts == []
    assert only_message(direct, volume.id).message == (
        f"Failed to create volume: Image {image_id} is too big: "
        "it needs 2 GiB and the volume has 1 GiB."
    )
    assert backend_files(direct) == []


def test_an_image_whose_metadata_is_larger_than_the_volume_is_not_even_fetched(
    direct: Hearth, raw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = direct.create_image("disk", disk_format="raw", file=raw)
    with direct.services.db.transaction() as session:
        images.update(session, image.id, virtual_size=5 * GiB)
    fetches: list[str] = []
    monkeypatch.setattr(fetch.LocalFetcher, "fetch", lambda *a: fetches.append("x"))
    volume = creating_volume(direct, image_id=image.id, size=1)

    with pytest.raises(errors.ImageTooBig):
        run_flow(direct, volume)

    assert fetches == []
    assert only_message(direct, volume.id).detail_code == "image_too_big"


def test_a_stored_image_changed_since_upload_fails_verification_and_leaves_nothing(
    direct: Hearth, raw: Path
) -> None:
    image = direct.create_image("disk", disk_format="raw", file=raw)
    stored = fetch.stored_file(direct.services.settings.image_directory, image.id)
    with stored.open("r+b") as data:  # same size, one byte different
        data.seek(11 * MiB)
        data.write(b"\xff")
    volume = creating_volume(direct, image_id=image.id)
    scheduler = RecordingScheduler()

    with pytest.raises(errors.ImageChecksumMismatch):
        run_flow(direct, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    assert only_message(direct, volume.id).detail_code == "image_checksum_mismatch"
    assert direct.get_volume(volume.id).status == "error"
    assert backend_files(direct) == []


def test_an_io_error_while_reading_the_image_is_rescheduled(
    direct: Hearth, raw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = direct.create_image("disk", disk_format="raw", file=raw)

    def failing_map(fd: int, size: int) -> Any:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(fetch, "map_for_reading", failing_map)  # Hearth's reads only
    volume = creating_volume(direct, image_id=image.id)
    scheduler = RecordingScheduler()

    with pytest.raises(errors.ImageFetchFailed):
        run_flow(direct, volume, scheduler=scheduler, retry=retry_record())

    [cast] = scheduler.casts
    assert cast["filters"]["retry"]["exc_code"] == "image_fetch_failed"
    row = direct.get_volume(volume.id)
    assert (row.status, row.host, row.progress) == ("creating", None, None)
    assert backend_files(direct) == []


def test_a_missing_image_file_is_a_terminal_error(direct: Hearth, raw: Path) -> None:
    image = direct.create_image("disk", disk_format="raw", file=raw)
    os.unlink(fetch.stored_file(direct.services.settings.image_directory, image.id))
    volume = creating_volume(direct, image_id=image.id)
    scheduler = RecordingScheduler()

    with pytest.raises(errors.ImageNotAvailable):
        run_flow(direct, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    assert "its data is missing" in only_message(direct, volume.id).message
