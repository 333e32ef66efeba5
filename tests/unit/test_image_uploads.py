"""The facade's two-step upload (the Image API's): record an image ``queued``, then send
its bytes from a stream; only the owner's queued image takes them."""

from __future__ import annotations

import io

import pytest

from hearth import errors
from hearth.context import RequestContext
from hearth.service.facade import Hearth


def test_a_registered_image_is_queued_until_its_stream_is_uploaded(
    hearth: Hearth, project_a: RequestContext
) -> None:
    queued = hearth.register_image("img", disk_format="raw", context=project_a)

    active = hearth.upload_image(queued.id, io.BytesIO(b"disk"), context=project_a)

    assert (queued.status, queued.size) == ("queued", None)
    assert (active.status, active.size, active.owner) == ("active", 4, "project-a")


def test_another_project_cannot_upload_and_the_image_stays_queued(
    hearth: Hearth, project_a: RequestContext, project_b: RequestContext
) -> None:
    queued = hearth.register_image("img", disk_format="raw", context=project_a)

    with pytest.raises(errors.ImageNotFound):
        hearth.upload_image(queued.id, io.BytesIO(b"theirs"), context=project_b)

    assert hearth.get_image(queued.id, context=project_a).status == "queued"


def test_a_second_upload_is_refused_by_status(hearth: Hearth, project_a: RequestContext) -> None:
    queued = hearth.register_image("img", disk_format="raw", context=project_a)
    hearth.upload_image(queued.id, io.BytesIO(b"first"), context=project_a)

    with pytest.raises(errors.InvalidStatus, match="its status is 'active'"):
        hearth.upload_image(queued.id, io.BytesIO(b"second"), context=project_a)

    assert hearth.get_image(queued.id, context=project_a).size == 5


def test_bad_fields_are_refused_before_anything_is_recorded(
    hearth: Hearth, project_a: RequestContext
) -> None:
    with pytest.raises(errors.InvalidInput, match="'disk_format'"):
        hearth.register_image("img", disk_format="floppy", context=project_a)

    assert hearth.list_images(context=project_a) == []
