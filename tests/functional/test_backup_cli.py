"""``hearth backup`` from the shell, on a data directory with the real file backend: a
backup with its progress bar, an incremental one, a restore into a new volume and onto the
old one, the refusals, and deletes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import as_json, runner_for

PAGE = 4096


@pytest.fixture
def run(tmp_path: Path) -> Any:
    return runner_for(tmp_path / "data")


def first_page(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(PAGE)


def test_backup_life_cycle_from_the_shell(run: Any) -> None:
    volume = as_json(run("-f", "json", "volume", "create", "--size", "1", "--name", "data"))
    path = Path(run("volume", "path", volume["id"]).stdout.strip())
    with path.open("r+b") as handle:
        handle.write(b"first bytes")

    made = run("backup", "create", "--volume", "data", "--name", "nightly", "--wait")
    assert made.exit_code == 0, made.output
    assert "[##############################]" in made.stderr  # the bar, filled at the end
    full = as_json(run("-f", "json", "backup", "show", "nightly"))
    assert (full["status"], full["incremental"], full["volume_id"]) == (
        "available",
        False,
        volume["id"],
    )
    with path.open("r+b") as handle:
        handle.write(b"later bytes")
    incremental = as_json(
        run("-f", "json", "backup", "create", "--volume", "data", "--incremental")
    )
    assert incremental["incremental"] is True and incremental["parent_id"] == full["id"]
    listed = run("backup", "list", "--volume", "data")
    assert listed.exit_code == 0 and "nightly" in listed.stdout

    refused = run("backup", "delete", "nightly")
    assert refused.exit_code == 1
    assert "depend on it" in refused.stderr

    restored = as_json(run("-f", "json", "backup", "restore", "nightly", "--name", "copy"))
    assert (restored["status"], restored["name"]) == ("available", "copy")
    copy_path = Path(run("volume", "path", restored["id"]).stdout.strip())
    assert first_page(copy_path) == b"first bytes".ljust(PAGE, b"\0")
    onto = run("backup", "restore", "nightly", "--volume", "data")
    assert onto.exit_code == 0, onto.output
    assert first_page(path) == b"first bytes".ljust(PAGE, b"\0")

    too_small = run("backup", "restore", incremental["id"], "--volume", "nope")
    assert too_small.exit_code == 1 and "--volume" in too_small.stderr
    assert run("backup", "delete", incremental["id"], "nightly").exit_code == 0
    assert as_json(run("-f", "json", "backup", "list")) == []
