"""The backup repository contract (``hearth.backup.drivers.base``), checked on every driver.

One suite of the five primitives, parametrized over the repositories: the directory
repository on the temporary directory now; an object-store repository joins the list.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hearth import errors
from hearth.backup.drivers.base import BackupRepository
from hearth.backup.drivers.posix import PosixRepository

KEY = "0123456789abcdef" * 4
MAKERS: dict[str, Callable[[Path], BackupRepository]] = {
    "posix": lambda tmp_path: PosixRepository(tmp_path / "repository"),
}


@pytest.fixture(params=sorted(MAKERS))
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> BackupRepository:
    return MAKERS[request.param](tmp_path)


def test_an_object_put_once_reads_back_whole_and_a_second_put_keeps_the_first(
    repository: BackupRepository,
) -> None:
    assert repository.put("chunk", KEY, b"first")
    assert not repository.put("chunk", KEY, b"second")
    assert repository.get("chunk", KEY) == b"first"
    assert repository.exists("chunk", KEY)


def test_a_missing_object_is_none_not_an_error(repository: BackupRepository) -> None:
    assert repository.get("manifest", "absent") is None
    assert not repository.exists("chunk", KEY)


def test_the_two_kinds_have_separate_keys(repository: BackupRepository) -> None:
    repository.put("manifest", "backup-1", b"{}")
    repository.put("chunk", KEY, b"data")
    assert list(repository.keys("manifest")) == ["backup-1"]
    assert list(repository.keys("chunk")) == [KEY]
    assert repository.get("manifest", KEY) is None


def test_delete_removes_an_object_and_accepts_one_already_gone(
    repository: BackupRepository,
) -> None:
    repository.put("chunk", KEY, b"data")
    repository.delete("chunk", KEY)
    repository.delete("chunk", KEY)
    assert not repository.exists("chunk", KEY)
    assert list(repository.keys("chunk")) == []
    assert repository.put("chunk", KEY, b"again")


@pytest.mark.parametrize("key", ["../escape", "a/b", "", "UPPER", "x" * 200])
def test_keys_that_could_leave_the_store_are_refused(
    repository: BackupRepository, key: str
) -> None:
    with pytest.raises(errors.InvalidInput):
        repository.put("manifest", key, b"{}")
