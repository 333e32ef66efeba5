"""Inspection and conversion of real images made by qemu-img (``hearth.image``).

Inspection must name the real format and refuse the hostile set on its own, before any
``qemu-img`` runs; conversion must reproduce the disk's bytes exactly, follow its
progress, run under limits, and never be given a file inspection would refuse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth import errors
from hearth.image import convert, inspect, qemu
from tests import images
from tests.images import MiB, qemu_img_calls

__all__ = ["qemu_img_calls"]  # fixture, imported for pytest

LIMITS = qemu.Limits(cpu_seconds=30, address_space_bytes=1 << 30)
FORMATS = [
    ("raw", (), "raw"),
    ("qcow2", (), "qcow2"),
    ("qcow2", ("-c",), "qcow2"),
    ("vmdk", ("-o", "subformat=streamOptimized"), "vmdk"),
    ("vmdk", ("-o", "subformat=monolithicSparse"), "vmdk"),
    ("vhdx", (), "vhdx"),
    ("vpc", (), "vhd"),
    ("vdi", (), "vdi"),
]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return images.known_raw(tmp_path / "disk.raw")


def made(raw: Path, fmt: str, options: tuple[str, ...]) -> Path:
    if fmt == "raw":
        return raw
    return images.made_as(raw, fmt, raw.with_name(f"disk-{len(options)}.{fmt}"), *options)


@pytest.mark.parametrize(("fmt", "options", "declared"), FORMATS)
def test_inspection_names_the_format_qemu_img_must_be_told_and_the_virtual_size(
    raw: Path, fmt: str, options: tuple[str, ...], declared: str
) -> None:
    found = inspect.inspect(made(raw, fmt, options), declared, "image-1")

    assert found.format == fmt
    assert found.virtual_size >= images.VIRTUAL_SIZE  # vpc rounds up to its geometry
    assert found.virtual_size < images.VIRTUAL_SIZE + MiB


@pytest.mark.parametrize(("fmt", "options", "declared"), FORMATS)
def test_conversion_to_raw_reproduces_the_disk_byte_for_byte(
    raw: Path, tmp_path: Path, fmt: str, options: tuple[str, ...], declared: str
) -> None:
    image = made(raw, fmt, options)
    found = inspect.inspect(image, declared, "image-1")
    target = tmp_path / "volume"
    with target.open("wb") as volume:
        volume.truncate(128 * MiB)
    seen: list[int] = []
    converter = convert.Converter(concurrency=1, info_limits=LIMITS)

    facts = converter.info(image, found.format, "image-1")
    converter.to_raw(
        image,
        found.format,
        convert.Target.file(target),
        image_id="image-1",
        virtual_size=facts.virtual_size,
        on_progress=seen.append,
    )

    assert facts.virtual_size == found.virtual_size
    assert images.holds_image(target, raw, 128 * MiB)
    assert seen and seen[-1] == facts.virtual_size
    assert seen == sorted(seen)


@pytest.mark.parametrize("case", sorted(images.HOSTILE))
def test_inspection_refuses_each_hostile_image_without_running_qemu_img(
    tmp_path: Path, qemu_img_calls: images.QemuImgCalls, case: str
) -> None:
    build, declared, error, fragment = images.HOSTILE[case]
    hostile = build(tmp_path)

    with pytest.raises(error) as caught:
        inspect.inspect(hostile, declared, "image-1")

    assert fragment in caught.value.user_message
    assert str(tmp_path) not in caught.value.user_message
    assert qemu_img_calls.all() == []


def test_qemu_img_info_refuses_a_backing_file_even_if_inspection_was_skipped(
    tmp_path: Path,
) -> None:
    hostile = images.with_backing_file(tmp_path / "backed.qcow2")
    converter = convert.Converter(concurrency=1, info_limits=LIMITS)

    with pytest.raises(errors.ImageUnsafe, match="backing file"):
        converter.info(hostile, "qcow2", "image-1")


def test_qemu_img_info_runs_under_its_resource_limits(raw: Path) -> None:
    image = made(raw, "qcow2", ())
    starved = convert.Converter(
        concurrency=1, info_limits=qemu.Limits(cpu_seconds=1, address_space_bytes=16 * MiB)
    )

    with pytest.raises(errors.ImageConversionFailed) as caught:
        starved.info(image, "qcow2", "image-1")

    assert "exceeded its resource limits" in caught.value.user_message


def test_a_conversion_failure_names_no_path(raw: Path, tmp_path: Path) -> None:
    corrupt = bytearray(made(raw, "qcow2", ()).read_bytes())
    corrupt[20:24] = (99).to_bytes(4, "big")  # cluster_bits: no such cluster size
    broken = tmp_path / "broken.qcow2"
    broken.write_bytes(bytes(corrupt))
    target = tmp_path / "volume"
    with target.open("wb") as volume:
        volume.truncate(128 * MiB)
    converter = convert.Converter(concurrency=1, info_limits=LIMITS)

    with pytest.raises(errors.ImageConversionFailed) as caught:
        converter.to_raw(
            broken,
            "qcow2",
            convert.Target.file(target),
            image_id="image-1",
            virtual_size=images.VIRTUAL_SIZE,
        )

    assert caught.value.user_message == (
        "Image image-1 could not be converted: the image is corrupt or not supported."
    )
    assert str(tmp_path) in (caught.value.detail or "")  # the log keeps the tool's words


def test_a_conversion_without_room_for_the_whole_disk_does_not_start(
    raw: Path, tmp_path: Path, qemu_img_calls: images.QemuImgCalls
) -> None:
    converter = convert.Converter(concurrency=1, info_limits=LIMITS)
    target = tmp_path / "volume"
    target.write_bytes(b"")

    with pytest.raises(errors.BackendFull):
        converter.to_raw(
            raw,
            "raw",
            convert.Target.file(target),
            image_id="image-1",
            virtual_size=1 << 60,  # an exabyte
        )

    assert qemu_img_calls.count("convert") == 0
