"""Creates from images through the request layer: the image must exist, be visible and
active, and fit; sizes default to what the image needs. Bad requests change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth import errors
from hearth.context import RequestContext
from hearth.db import images, models, statuses
from hearth.service.facade import Hearth
from tests import images as test_images
from tests.fakes import FakeDriver
from tests.unchanged import Unchanged, rejects, unchanged

__all__ = ["unchanged"]  # fixture, imported for pytest

MiB = 1 << 20
GiB = 1 << 30


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """A qcow2 disk of 1 GiB + 1 MiB holding a few bytes at its start."""
    raw = tmp_path / "start.raw"
    raw.write_bytes(b"bootsector" + bytes(MiB))
    qcow2 = test_images.made_as(raw, "qcow2", tmp_path / "disk.qcow2")
    test_images.qemu_img("resize", "-f", "qcow2", str(qcow2), str(GiB + MiB))
    return qcow2


@pytest.fixture
def image(hearth: Hearth, disk: Path) -> models.Image:
    return hearth.create_image("disk", disk_format="qcow2", file=disk, min_disk=3)


def test_without_a_size_a_volume_from_an_image_gets_what_the_image_needs(
    hearth: Hearth, fake_driver: FakeDriver, tmp_path: Path
) -> None:
    small = tmp_path / "small.raw"
    small.write_bytes(b"bootsector" + bytes(MiB))
    image = hearth.create_image("small", disk_format="raw", file=small)

    volume = hearth.create_volume(image_id="small")

    assert (volume.status, volume.size, volume.bootable) == ("available", 1, True)
    assert volume.image_id == image.id
    assert fake_driver.volumes[volume.id].read(0, 10) == b"bootsector"


def test_min_disk_raises_the_default_size(hearth: Hearth, image: models.Image) -> None:
    assert hearth.create_volume(image_id=image.id).size == 3


@pytest.mark.parametrize("size", [1, 2])
def test_a_size_below_the_virtual_size_or_min_disk_is_refused_naming_size(
    hearth: Hearth, unchanged: Unchanged, image: models.Image, size: int
) -> None:
    error = rejects(
        unchanged,
        lambda: hearth.create_volume(size, image_id=image.id),
        errors.InvalidInput,
        "must be at least 3 GiB",
        "virtual size 2 GiB, min_disk 3 GiB",
    )
    assert error.fields["field"] == "size"


def test_another_projects_private_image_does_not_exist_for_a_create(
    hearth: Hearth, unchanged: Unchanged, image: models.Image, project_b: RequestContext
) -> None:
    rejects(
        unchanged,
        lambda: hearth.create_volume(3, image_id=image.id, context=project_b),
        errors.InvalidReference,
        "'image_id'",
    )


def test_a_public_image_can_be_used_by_any_project(
    hearth: Hearth, disk: Path, project_b: RequestContext
) -> None:
    hearth.create_image("shared", disk_format="qcow2", file=disk, visibility="public")

    volume = hearth.create_volume(image_id="shared", context=project_b)

    assert (volume.status, volume.project_id, volume.size) == ("available", "project-b", 2)


def test_an_image_that_is_not_active_is_refused(
    hearth: Hearth, unchanged: Unchanged, image: models.Image
) -> None:
    with hearth.services.db.transaction() as session:
        images.set_status(session, image.id, statuses.ImageStatus.KILLED)

    rejects(
        unchanged,
        lambda: hearth.create_volume(image_id=image.id),
        errors.SourceNotAvailable,
        "is not available (its status is 'killed')",
    )


def test_a_name_that_several_images_share_must_be_given_as_an_id(
    hearth: Hearth, unchanged: Unchanged, disk: Path, image: models.Image
) -> None:
    hearth.create_image("disk", disk_format="qcow2", file=disk)

    rejects(
        unchanged,
        lambda: hearth.create_volume(image_id="disk"),
        errors.InvalidInput,
        "2 images are named 'disk'; give an id",
    )


def test_an_image_and_another_source_together_are_refused(
    hearth: Hearth, unchanged: Unchanged, image: models.Image
) -> None:
    source = hearth.create_volume(1)

    rejects(
        unchanged,
        lambda: hearth.create_volume(3, image_id=image.id, source_volid=source.id),
        errors.InvalidInput,
        "give only one source",
    )
