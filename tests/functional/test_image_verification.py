"""When a create re-hashes the stored image: at its first use in a process, and whenever the
stored file changed since (``fetch.Seal``); a tampered image is refused either way.

The real file backend and qemu-img, no image cache: every create fetches and converts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth import config
from hearth.image import fetch
from hearth.service.facade import Hearth
from tests import images as test_images
from tests.conftest import make_settings, open_hearth
from tests.images import MiB


@pytest.fixture
def direct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hearth]:
    monkeypatch.setattr(fetch, "SETTLED_NS", 0)  # the upload is fresh: seal it at once
    settings: config.Settings = make_settings(
        tmp_path / "data", backends={"local": {"image_cache": {"enabled": False}}}
    )
    opened = open_hearth(settings)
    yield opened
    opened.close()


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per full hash of a stored image."""
    calls: list[int] = []
    real = fetch.map_for_reading

    def counted(fd: int, size: int) -> Any:
        calls.append(size)
        return real(fd, size)

    monkeypatch.setattr(fetch, "map_for_reading", counted)
    return calls


@pytest.fixture
def image_id(direct: Hearth, tmp_path: Path) -> str:
    raw = test_images.known_raw(tmp_path / "disk.raw")
    return direct.create_image("disk", disk_format="raw", file=raw).id


def stored(hearth: Hearth, image_id: str) -> Path:
    return fetch.stored_file(hearth.services.settings.image_directory, image_id)


def flip_a_byte(path: Path) -> None:
    with path.open("r+b") as data:  # same size, one byte different
        data.seek(11 * MiB)
        old = data.read(1)
        data.seek(11 * MiB)
        data.write(bytes([old[0] ^ 0xFF]))


def refused(hearth: Hearth, image_id: str) -> bool:
    volume = hearth.create_volume(1, image_id=image_id)
    if volume.status != "error":
        return False
    [message] = hearth.list_messages(resource_id=volume.id)
    return bool(message.detail_code == "image_checksum_mismatch")


def test_an_unchanged_stored_image_is_hashed_once_per_process(
    direct: Hearth, image_id: str, hashes: list[int]
) -> None:
    first = direct.create_volume(1, image_id=image_id)
    second = direct.create_volume(1, image_id=image_id)

    assert (first.status, second.status) == ("available", "available")
    assert len(hashes) == 1


def test_a_stored_image_rewritten_in_place_after_a_create_is_refused(
    direct: Hearth, image_id: str, hashes: list[int]
) -> None:
    assert direct.create_volume(1, image_id=image_id).status == "available"
    flip_a_byte(stored(direct, image_id))

    assert refused(direct, image_id)
    assert len(hashes) == 2


def test_a_rewrite_that_puts_the_mtime_back_is_still_refused(direct: Hearth, image_id: str) -> None:
    assert direct.create_volume(1, image_id=image_id).status == "available"
    path = stored(direct, image_id)
    before = path.stat()
    flip_a_byte(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the ctime moves anyway

    assert refused(direct, image_id)


def test_a_stored_image_replaced_by_another_file_is_refused(
    direct: Hearth, image_id: str, tmp_path: Path
) -> None:
    assert direct.create_volume(1, image_id=image_id).status == "available"
    path = stored(direct, image_id)
    copy = tmp_path / "copy"
    copy.write_bytes(path.read_bytes())
    flip_a_byte(copy)
    os.replace(copy, path)

    assert refused(direct, image_id)


def test_a_refused_image_stays_refused(direct: Hearth, image_id: str) -> None:
    assert direct.create_volume(1, image_id=image_id).status == "available"
    flip_a_byte(stored(direct, image_id))
    assert refused(direct, image_id)

    assert refused(direct, image_id)  # a failed hash seals nothing


def test_a_new_process_hashes_again(
    direct: Hearth, image_id: str, hashes: list[int], tmp_path: Path
) -> None:
    assert direct.create_volume(1, image_id=image_id).status == "available"
    settings = direct.services.settings
    direct.close()
    reopened = open_hearth(settings)
    try:
        assert reopened.create_volume(1, image_id=image_id).status == "available"
    finally:
        reopened.close()

    assert len(hashes) == 2


def test_an_image_changed_moments_ago_is_not_sealed(
    direct: Hearth, image_id: str, hashes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "SETTLED_NS", 3600 * 10**9)
    direct.create_volume(1, image_id=image_id)
    direct.create_volume(1, image_id=image_id)

    assert len(hashes) == 2
