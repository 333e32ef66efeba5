"""Reaching a backend's driver: ``Services.driver_for``, the facade's local path, and the one
mapping of OS errors (``errors.from_os_error``) that drivers and the image store use."""

from __future__ import annotations

import errno
import uuid

import pytest

from hearth import config, errors
from hearth.service import wiring
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from hearth.volume.drivers.file import FileDriver
from tests.fakes import FakeDriver

HOST_PATH = "/srv/hearth/backends/local/volumes/volume-1"


def test_driver_for_a_served_backend_is_its_managers_driver(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    assert hearth.services.driver_for("local") is fake_driver


def test_driver_for_an_unserved_backend_is_built_once_and_kept(
    settings: config.Settings,
) -> None:
    services = wiring.build(settings, roles=())
    try:
        first = services.driver_for("local")

        assert isinstance(first, FileDriver)
        assert services.driver_for("local") is first
        assert services.managers == {}
    finally:
        services.stop()


def test_driver_for_an_unserved_backend_honours_a_replacement(
    settings: config.Settings, fake_driver: FakeDriver
) -> None:
    services = wiring.build(settings, roles=(), drivers={"local": fake_driver})
    try:
        assert services.driver_for("local") is fake_driver
    finally:
        services.stop()


def test_driver_for_a_backend_not_configured_is_backend_not_found(hearth: Hearth) -> None:
    with pytest.raises(errors.BackendNotFound):
        hearth.services.driver_for("elsewhere")


def test_the_path_of_a_volume_whose_backend_has_no_local_files_is_not_supported(
    hearth: Hearth,
) -> None:
    volume = hearth.create_volume(size=1)

    with pytest.raises(errors.NotSupportedByBackend) as refused:
        hearth.volume_path(volume.id)

    assert refused.value.status == 400
    assert refused.value.user_message == (
        "Backends of type 'fake' cannot give a local path to a volume."
    )


def test_the_path_of_a_volume_on_the_file_backend_is_its_file(file_hearth: Hearth) -> None:
    volume = file_hearth.create_volume(size=1)

    path = file_hearth.volume_path(volume.id)

    assert path.stat().st_size == base.GiB
    assert volume.id in path.name


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_no_space_is_backend_full(code: int) -> None:
    error = errors.from_os_error(OSError(code, "no room", HOST_PATH), "copy the volume")

    assert type(error) is errors.BackendFull
    assert error.user_message == "The storage backend has no space left to copy the volume."


def test_a_missing_source_is_backend_source_missing_and_not_rescheduled() -> None:
    source_id = str(uuid.uuid4())
    missing = OSError(errno.ENOENT, "No such file or directory", HOST_PATH)

    error = errors.from_os_error(missing, "copy the snapshot", source=("snapshot", source_id))

    assert type(error) is errors.BackendSourceMissing
    assert error.fields == {"kind": "snapshot", "source_id": source_id}
    assert not error.reschedulable


def test_a_missing_file_where_nothing_is_read_is_a_backend_error() -> None:
    missing = OSError(errno.ENOENT, "No such file or directory", HOST_PATH)

    assert type(errors.from_os_error(missing, "list its contents")) is errors.BackendError


@pytest.mark.parametrize("code", [errno.EIO, errno.EACCES, errno.ENOENT, errno.ENOSPC])
def test_messages_name_the_action_and_never_the_path_which_the_detail_keeps(code: int) -> None:
    error = errors.from_os_error(OSError(code, "failed", HOST_PATH), "store the image")

    assert "store the image" in error.user_message
    assert HOST_PATH not in error.user_message
    assert HOST_PATH in (error.detail or "")  # for the log
    assert isinstance(error, errors.BackendError)
