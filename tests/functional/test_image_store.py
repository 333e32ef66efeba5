"""The image store through the library facade: uploads from files and URLs, refusals that
store nothing, visibility between projects, deletes, and uploads that died (taken up only
when their upload lock is free: their process is gone)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hearth import config, coordination, errors
from hearth.context import RequestContext
from hearth.db import images, statuses
from hearth.image import fetch
from hearth.service.facade import Hearth
from tests import images as test_images
from tests.conftest import make_settings, open_hearth
from tests.create_flow import creating_volume
from tests.images import http_files, qemu_img_calls

__all__ = ["http_files", "qemu_img_calls"]  # fixtures, imported for pytest

MiB = 1 << 20


def stored_files(hearth: Hearth) -> list[str]:
    """What the image directory holds (uploads in progress included)."""
    directory = hearth.services.settings.image_directory
    if not directory.exists():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def image_rows(hearth: Hearth) -> list[str]:
    with hearth.services.db.transaction() as session:
        return [row.id for row in images.find_all(session)]


@pytest.fixture
def qcow2(tmp_path: Path) -> Path:
    raw = test_images.known_raw(tmp_path / "disk.raw")
    return test_images.made_as(raw, "qcow2", tmp_path / "disk.qcow2")


def test_an_image_from_a_file_is_active_with_its_size_hashes_and_virtual_size(
    hearth: Hearth, qcow2: Path
) -> None:
    data = qcow2.read_bytes()

    image = hearth.create_image(
        "disk", disk_format="qcow2", file=qcow2, min_disk=2, properties={"os": "linux"}
    )

    assert image.status == "active"
    assert (image.size, image.virtual_size) == (len(data), 32 * MiB)
    assert image.checksum == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert (image.os_hash_algo, image.os_hash_value) == ("sha256", hashlib.sha256(data).hexdigest())
    assert (image.min_disk, image.properties, image.owner) == (2, {"os": "linux"}, "admin")
    stored = fetch.stored_file(hearth.services.settings.image_directory, image.id)
    assert stored.read_bytes() == data
    assert stored_files(hearth) == [stored.name]


def test_an_image_from_an_http_url_is_streamed_into_the_store(
    hearth: Hearth, qcow2: Path, http_files: tuple[Path, str]
) -> None:
    root, base_url = http_files
    (root / "disk.qcow2").write_bytes(qcow2.read_bytes())

    image = hearth.create_image("web", disk_format="qcow2", url=f"{base_url}/disk.qcow2")

    assert image.status == "active"
    assert image.os_hash_value == hashlib.sha256(qcow2.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("url", "error", "fragment"),
    [
        ("/missing.qcow2", errors.InvalidInput, "Invalid value for 'url': the server answered 404"),
        ("file:///etc/passwd", errors.InvalidInput, "must be an http:// or https:// URL"),
        ("http://127.0.0.1:9/nothing", errors.ImageFetchFailed, "try again later"),
    ],
)
def test_a_url_that_cannot_be_read_stores_nothing(
    hearth: Hearth, http_files: tuple[Path, str], url: str, error: type[Exception], fragment: str
) -> None:
    full = http_files[1] + url if url.startswith("/") else url

    with pytest.raises(error) as caught:
        hearth.create_image("web", disk_format="qcow2", url=full)

    assert fragment in str(caught.value)
    assert image_rows(hearth) == []
    assert stored_files(hearth) == []


@pytest.mark.parametrize("case", sorted(test_images.HOSTILE))
def test_a_hostile_upload_is_refused_and_nothing_is_stored_nor_given_to_qemu_img(
    hearth: Hearth, tmp_path: Path, qemu_img_calls: Any, case: str
) -> None:
    build, declared, error, fragment = test_images.HOSTILE[case]
    hostile = build(tmp_path)

    with pytest.raises(error) as caught:
        hearth.create_image("hostile", disk_format=declared, file=hostile)

    assert fragment in caught.value.user_message
    assert str(tmp_path) not in caught.value.user_message
    assert image_rows(hearth) == []
    assert stored_files(hearth) == []
    assert qemu_img_calls.all() == []


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_stored(
    hearth: Hearth, qcow2: Path
) -> None:
    assert hearth.services.image_store is not None
    hearth.services.image_store.max_image_bytes = MiB

    with pytest.raises(errors.ImageTooBig, match="uploads are limited"):
        hearth.create_image("big", disk_format="qcow2", file=qcow2)

    assert image_rows(hearth) == []
    assert stored_files(hearth) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"disk_format": "ova"}, "disk_format"),
        ({"container_format": "ovf"}, "container_format"),
        ({"min_disk": -1}, "min_disk"),
        ({"min_ram": "lots"}, "min_ram"),
        ({"visibility": "shared"}, "visibility"),
        ({"properties": {"k": 1}}, "properties"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_upload_fields_are_refused_by_name_and_nothing_is_stored(
    hearth: Hearth, qcow2: Path, fields: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"name": "disk", "disk_format": "qcow2", "file": qcow2, **fields}
    name = values.pop("name")

    with pytest.raises(errors.InvalidInput) as caught:
        hearth.create_image(name, **values)

    assert caught.value.fields["field"] == field
    assert image_rows(hearth) == []


def test_a_project_sees_its_own_and_public_images_only(
    hearth: Hearth, qcow2: Path, project_a: RequestContext, project_b: RequestContext
) -> None:
    private = hearth.create_image("mine", disk_format="qcow2", file=qcow2, context=project_a)
    public = hearth.create_image("shared", disk_format="qcow2", file=qcow2, visibility="public")

    assert [i.id for i in hearth.list_images(context=project_b)] == [public.id]
    assert {i.id for i in hearth.list_images(context=project_a)} == {private.id, public.id}
    assert hearth.get_image("shared", context=project_b).id == public.id
    with pytest.raises(errors.ImageNotFound):
        hearth.get_image(private.id, context=project_b)
    with pytest.raises(errors.ImageNotFound):  # visible is not deletable
        hearth.delete_image(public.id, context=project_b)
    with pytest.raises(errors.InvalidInput, match="only admins may publish"):
        hearth.create_image(
            "x", disk_format="qcow2", file=qcow2, visibility="public", context=project_a
        )


def test_deleting_an_image_removes_its_row_and_its_bytes(hearth: Hearth, qcow2: Path) -> None:
    image = hearth.create_image("disk", disk_format="qcow2", file=qcow2)

    hearth.delete_image("disk")

    assert image_rows(hearth) == []
    assert stored_files(hearth) == []
    with pytest.raises(errors.ImageNotFound):
        hearth.get_image(image.id)


def test_an_image_cannot_be_deleted_while_a_volume_is_being_created_from_it(
    hearth: Hearth, qcow2: Path
) -> None:
    image = hearth.create_image("disk", disk_format="qcow2", file=qcow2)
    creating_volume(hearth, image_id=image.id)

    with pytest.raises(errors.ImageInUse) as caught:
        hearth.delete_image(image.id)

    assert caught.value.status == 409
    assert hearth.get_image(image.id).status == "active"
    assert len(stored_files(hearth)) == 1


def test_an_upload_that_died_with_its_process_is_killed_at_the_next_start(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    first = open_hearth(settings)
    with first.services.db.transaction() as session:
        dead = images.create(
            session,
            name="half",
            owner="admin",
            visibility="private",
            disk_format="raw",
            container_format="bare",
            status=statuses.ImageStatus.SAVING,
        )
    (settings.image_directory / "tmp" / f"{dead.id}.part").write_bytes(b"half an upload")
    first.close()

    second = open_hearth(settings)
    try:
        assert second.get_image(dead.id).status == "killed"
        assert stored_files(second) == []
    finally:
        second.close()


def saving_image(hearth: Hearth, partial: bytes = b"half an upload") -> str:
    """An image row ``saving`` with a partial file in ``tmp/``, as an upload in progress."""
    with hearth.services.db.transaction() as session:
        row = images.create(
            session,
            name="half",
            owner="admin",
            visibility="private",
            disk_format="raw",
            container_format="bare",
            status=statuses.ImageStatus.SAVING,
        )
    (hearth.services.settings.image_directory / "tmp" / f"{row.id}.part").write_bytes(partial)
    return row.id


def hold_in_a_process(settings: config.Settings, lock: str) -> subprocess.Popen[str]:
    """Another process holding ``lock`` (as an upload in it would) until it is killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from hearth import coordination\n"
            "locks = coordination.Locks(sys.argv[1]); locks.start()\n"
            "held = locks.try_acquire(sys.argv[2])\n"
            "assert held is not None\n"
            "print('held', flush=True); time.sleep(600)\n",
            settings.lock_url,
            lock,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_an_upload_running_in_another_process_is_left_alone_until_that_process_dies(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    first = open_hearth(settings)
    running = saving_image(first)
    first.close()
    holder = hold_in_a_process(settings, coordination.image_upload_lock(running))
    try:
        second = open_hearth(settings)
        try:
            assert second.get_image(running).status == "saving"
            assert stored_files(second) == [f"tmp/{running}.part"]
        finally:
            second.close()
    finally:
        holder.kill()
        holder.communicate()

    third = open_hearth(settings)  # the lock died with its process: the upload is dead
    try:
        assert third.get_image(running).status == "killed"
        assert stored_files(third) == []
    finally:
        third.close()


def test_a_partial_file_is_removed_only_when_its_upload_lock_is_free(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    first = open_hearth(settings)
    directory = settings.image_directory / "tmp"
    (directory / "running.part").write_bytes(b"live")
    (directory / "dead.part").write_bytes(b"dead")
    (directory / "not-an-upload").write_bytes(b"someone else's")
    with first.services.locks.hold(coordination.image_upload_lock("running")):
        assert first.services.image_store is not None
        first.services.image_store.recover()
        assert stored_files(first) == ["tmp/not-an-upload", "tmp/running.part"]
    first.close()


def test_a_read_only_open_takes_up_no_upload(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    first = open_hearth(settings)
    dead = saving_image(first)
    first.close()

    with Hearth.open(settings=settings, serve=False) as reader:
        assert reader.get_image(dead).status == "saving"
        assert stored_files(reader) == [f"tmp/{dead}.part"]
        # and no reconciliation: only managers and the scheduler run it, at start and on
        # the ticker, and a read-only open has none of them
        assert reader.services.managers == {} and reader.services.scheduler is None
        assert reader.services._ticker is None


def test_an_image_being_uploaded_refuses_a_second_upload_and_keeps_the_first(
    hearth: Hearth, qcow2: Path
) -> None:
    row = hearth.register_image("twice", disk_format="qcow2")
    lock = coordination.image_upload_lock(row.id)
    with (
        hearth.services.locks.hold(lock),  # the first upload, under way
        qcow2.open("rb") as body,
        pytest.raises(errors.InvalidStatus) as caught,
    ):
        hearth.upload_image(row.id, body)
    assert caught.value.status == 409
    assert hearth.get_image(row.id).status == "queued"


def test_an_upload_leaves_no_lock_file_behind(hearth: Hearth, qcow2: Path) -> None:
    image = hearth.create_image("cirros", file=str(qcow2), disk_format="qcow2")
    locks = hearth.services.settings.data_dir / "locks"
    assert not [p.name for p in locks.iterdir() if image.id in p.name]
