"""The ``hearth`` command on a data directory with the real file backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests import backups
from tests.cli_runner import as_json, runner_for
from tests.conftest import offline_hearth

PAGE = 4096


def head_and_tail(path: Path) -> tuple[bytes, bytes]:
    """The first and the last page of a volume file: the bytes written through the shell, and
    a sample of the rest, which must read as zeros (reading all of a 1-2 GiB file is slow)."""
    with path.open("rb") as handle:
        head = handle.read(PAGE)
        handle.seek(-PAGE, os.SEEK_END)
        return head, handle.read(PAGE)


@pytest.fixture
def run(tmp_path: Path) -> Any:
    return runner_for(tmp_path / "data")


def test_volume_life_cycle_from_the_shell(run: Any) -> None:
    volume = as_json(run("--format", "json", "volume", "create", "--size", "1", "--name", "v1"))
    assert (volume["status"], volume["size"], volume["name"]) == ("available", 1, "v1")
    path = Path(run("volume", "path", volume["id"]).stdout.strip())
    with path.open("r+b") as handle:
        handle.write(b"shell bytes")

    snap = as_json(run("--format", "json", "snapshot", "create", "--volume", volume["id"]))
    copy = as_json(
        run("--format", "json", "volume", "create", "--snapshot", snap["id"], "--size", "2")
    )
    clone = as_json(run("--format", "json", "volume", "create", "--source-volume", volume["id"]))

    for made in (copy, clone):
        made_path = Path(run("volume", "path", made["id"]).stdout.strip())
        assert head_and_tail(made_path) == (b"shell bytes".ljust(PAGE, b"\0"), bytes(PAGE))
    assert Path(run("volume", "path", copy["id"]).stdout.strip()).stat().st_size == 2 << 30
    listed = run("volume", "list")
    assert listed.exit_code == 0
    assert "v1" in listed.stdout
    assert len(as_json(run("--format", "json", "volume", "list"))) == 3

    assert run("snapshot", "delete", snap["id"]).exit_code == 0
    assert run("volume", "delete", volume["id"], copy["id"], clone["id"]).exit_code == 0
    assert as_json(run("--format", "json", "volume", "list")) == []
    assert not path.exists()


def test_bad_input_prints_one_line_naming_the_problem_and_exits_1(run: Any) -> None:
    result = run("volume", "create", "--size", "0")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Invalid value for '--size': must be between 1 and 16384 GiB, got 0\n"
    )
    assert as_json(run("--format", "json", "volume", "list")) == []


def test_deleting_a_volume_with_snapshots_is_refused(run: Any) -> None:
    volume = as_json(run("--format", "json", "volume", "create", "--size", "1"))
    run("snapshot", "create", "--volume", volume["id"])

    result = run("volume", "delete", volume["id"])

    assert result.exit_code == 1
    assert "still has 1 snapshot(s)" in result.stderr
    assert as_json(run("--format", "json", "volume", "show", volume["id"]))["status"] == (
        "available"
    )


def test_types_and_messages_and_backends_are_listed(run: Any) -> None:
    created = as_json(
        run(
            "--format", "json", "type", "create", "local", "--property", "volume_backend_name=local"
        )
    )
    assert created["extra_specs"] == {"volume_backend_name": "local"}
    run("type", "create", "gold", "--property", "tier=gold")
    names = [t["name"] for t in as_json(run("--format", "json", "type", "list"))]
    assert names == ["__DEFAULT__", "gold", "local"]
    volume = as_json(run("--format", "json", "volume", "create", "--size", "1", "--type", "local"))
    assert volume["volume_type"] == "local"
    assert as_json(run("--format", "json", "message", "list")) == []

    failed = run("volume", "create", "--size", "1", "--type", "gold")

    assert failed.exit_code == 1
    assert failed.stderr == (
        "Error: Failed to create volume: "
        "No backend can take the volume: no backend matches volume type 'gold'\n"
    )
    [message] = as_json(run("--format", "json", "message", "list"))
    assert message["detail_code"] == "no_valid_backend"
    [backend] = as_json(run("--format", "json", "backend", "list"))
    assert backend["name"] == "local"
    assert backend["clone_mode"] in ("reflink", "copy")


def test_a_non_admin_project_sees_only_its_own_volumes(run: Any) -> None:
    mine = as_json(run("--project", "p1", "--format", "json", "volume", "create", "--size", "1"))
    assert as_json(run("--project", "p2", "--format", "json", "volume", "list")) == []

    result = run("--project", "p2", "volume", "show", mine["id"])

    assert result.exit_code == 1
    assert f"Volume {mine['id']} could not be found." in result.stderr


def test_a_malformed_property_is_a_usage_error(run: Any) -> None:
    result = run("volume", "create", "--size", "1", "--property", "novalue")
    assert result.exit_code == 2
    assert "is not KEY=VALUE" in result.output


def test_db_upgrade_reports_the_database(run: Any) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert "is current" in result.stdout


def test_a_volume_is_created_from_a_backup_named_in_the_shell(run: Any, tmp_path: Path) -> None:
    source = as_json(run("--format", "json", "volume", "create", "--size", "1", "--name", "src"))
    path = Path(run("volume", "path", source["id"]).stdout.strip())
    with path.open("r+b") as handle:
        handle.write(b"backed up bytes")
        handle.seek(-PAGE, os.SEEK_END)
        handle.write(b"E" * PAGE)
    with offline_hearth(tmp_path / "data") as hearth:
        backup = backups.backed_up(hearth, path, name="nightly", volume_id=source["id"])

    restored = as_json(run("--format", "json", "volume", "create", "--backup", "nightly"))

    assert (restored["status"], restored["size"]) == ("available", 1)
    assert restored["backup_id"] == backup.id
    copy = Path(run("volume", "path", restored["id"]).stdout.strip())
    assert head_and_tail(copy) == (b"backed up bytes" + bytes(PAGE - 15), b"E" * PAGE)
    by_id = as_json(run("--format", "json", "volume", "create", "--backup", backup.id))
    assert by_id["status"] == "available"
    missing = run("volume", "create", "--backup", "weekly")
    assert missing.exit_code == 1
    assert "Invalid value for '--backup': Backup weekly does not exist." in missing.stderr
