"""The ``hearth`` command as people used to the OpenStack client type it: ``-f json`` after
the command, ``--version``, volumes, snapshots and types by name, admin-only commands
refused for a project, errors that name the option, a new data directory announced."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hearth import cli, config
from tests.cli_runner import as_json, runner_for


@pytest.fixture
def run(tmp_path: Path) -> Any:
    return runner_for(tmp_path / "data")


def test_the_version_is_the_installed_package_version() -> None:
    result = CliRunner().invoke(cli.cli, ["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"hearth {metadata.version('hearth')}\n"


@pytest.mark.parametrize("flag", [["-f", "json"], ["--format", "json"]])
def test_the_format_is_accepted_after_the_command(run: Any, flag: list[str]) -> None:
    made = as_json(run("volume", "create", "--size", "1", "--name", "v", *flag))
    assert made["name"] == "v"
    assert [v["id"] for v in as_json(run("volume", "list", *flag))] == [made["id"]]
    assert as_json(run("volume", "show", made["id"], *flag))["id"] == made["id"]
    assert as_json(run("type", "list", *flag))[0]["name"] == "__DEFAULT__"


def test_the_format_given_later_wins(run: Any) -> None:
    run("volume", "create", "--size", "1")

    table = run("--format", "json", "volume", "list", "-f", "table")
    json_after_table = run("-f", "table", "volume", "list", "--format", "json")

    assert table.stdout.startswith("id ")
    assert len(as_json(json_after_table)) == 1


def test_volumes_and_snapshots_are_found_by_a_unique_name_in_every_command(run: Any) -> None:
    first = as_json(run("volume", "create", "--size", "1", "--name", "first", "-f", "json"))
    snap = as_json(run("snapshot", "create", "--volume", "first", "--name", "s1", "-f", "json"))
    assert snap["volume_id"] == first["id"]
    from_snap = as_json(run("volume", "create", "--snapshot", "s1", "--name", "two", "-f", "json"))
    clone = as_json(run("volume", "create", "--source-volume", "first", "-f", "json"))

    assert (from_snap["snapshot_id"], clone["source_volid"]) == (snap["id"], first["id"])
    assert as_json(run("volume", "show", "first", "-f", "json"))["id"] == first["id"]
    assert as_json(run("snapshot", "show", "s1", "-f", "json"))["id"] == snap["id"]
    assert [
        s["id"] for s in as_json(run("snapshot", "list", "--volume", "first", "-f", "json"))
    ] == [snap["id"]]
    path = run("volume", "path", "two").stdout.strip()
    assert path.endswith(f"volume-{from_snap['id']}")
    assert as_json(run("volume", "extend", "two", "2", "-f", "json"))["size"] == 2
    assert run("snapshot", "delete", "s1").exit_code == 0
    assert run("volume", "delete", "two", "first", clone["id"]).exit_code == 0
    assert as_json(run("volume", "list", "-f", "json")) == []


def test_a_shared_name_is_refused_listing_the_ids(run: Any) -> None:
    ids = sorted(
        as_json(run("volume", "create", "--size", "1", "--name", "twin", "-f", "json"))["id"]
        for _ in range(2)
    )

    shown = run("volume", "show", "twin")
    snapped = run("snapshot", "create", "--volume", "twin")

    assert shown.exit_code == snapped.exit_code == 1
    listed = ", ".join(v["id"] for v in as_json(run("volume", "list", "-f", "json")))
    assert sorted(listed.split(", ")) == ids
    assert shown.stderr == f"Error: 2 volumes are named 'twin'; give an id: {listed}.\n"
    assert snapped.stderr == (
        f"Error: --volume: 2 volumes are named 'twin'; give an id: {listed}.\n"
    )
    assert as_json(run("snapshot", "list", "-f", "json")) == []


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ("--snapshot", "Snapshot"),
        ("--source-volume", "Volume"),
        ("--image", "Image"),
        ("--type", "Volume type"),
    ],
)
def test_a_create_from_nothing_of_that_name_names_the_option(
    run: Any, option: str, kind: str
) -> None:
    result = run("volume", "create", "--size", "1", option, "nothing")

    assert result.exit_code == 1
    assert result.stderr == f"Error: Invalid value for '{option}': {kind} nothing does not exist.\n"
    assert as_json(run("volume", "list", "-f", "json")) == []


def test_a_missing_volume_is_not_found_by_id_or_name(run: Any) -> None:
    result = run("volume", "show", "nothing")

    assert result.exit_code == 1
    assert result.stderr == "Error: Volume nothing could not be found.\n"


def test_volume_types_are_found_by_name(run: Any) -> None:
    made = as_json(run("type", "create", "gold", "--property", "tier=gold", "-f", "json"))

    changed = as_json(
        run("type", "set", "gold", "--property", "volume_backend_name=local", "-f", "json")
    )

    assert changed["extra_specs"] == {"tier": "gold", "volume_backend_name": "local"}
    assert as_json(run("type", "show", made["id"], "-f", "json"))["name"] == "gold"
    result = run("volume", "create", "--size", "1", "--type", "gold", "-f", "json")
    assert result.exit_code == 1  # placed by type: no backend has the capability tier=gold
    volume = as_json(run("volume", "list", "-f", "json"))[0]
    assert volume["volume_type"] == "gold"
    assert run("volume", "delete", volume["id"]).exit_code == 0
    assert run("type", "delete", "gold").exit_code == 0
    assert [t["name"] for t in as_json(run("type", "list", "-f", "json"))] == ["__DEFAULT__"]


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["backend", "audit", "--fix"], "backend audit --fix"),
        (["type", "create", "gold"], "type create"),
        (["type", "delete", "__DEFAULT__"], "type delete"),
        (["type", "set", "__DEFAULT__", "--property", "a=b"], "type set"),
    ],
)
def test_a_project_member_cannot_run_admin_commands(
    tmp_path: Path, command: list[str], shown: str
) -> None:
    data_dir = tmp_path / "data"
    runner = CliRunner()

    result = runner.invoke(cli.cli, ["--data-dir", str(data_dir), "--project", "p1", *command])

    assert result.exit_code == 1
    assert result.stderr == f"Error: Only administrators may run `hearth {shown}`.\n"
    assert not data_dir.exists()  # refused before anything ran


def test_a_project_member_may_audit_without_fixing(run: Any) -> None:
    run("volume", "create", "--size", "1")  # the backend has started once

    result = run("--project", "p1", "backend", "audit", "-f", "json")

    assert result.exit_code == 0
    assert as_json(result) == []


def test_a_new_data_directory_is_announced_once(tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "fresh"

    first = runner.invoke(cli.cli, ["--data-dir", str(data_dir), "volume", "list"])
    second = runner.invoke(cli.cli, ["--data-dir", str(data_dir), "volume", "list"])

    assert first.exit_code == second.exit_code == 0
    assert first.stderr == f"Creating a new Hearth data directory at {data_dir}\n"
    assert second.stderr == ""


def test_a_new_data_directory_in_the_working_directory_is_named_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEARTH_DATA_DIR", raising=False)
    monkeypatch.delenv("HEARTH_CONFIG", raising=False)
    monkeypatch.delenv("HEARTH_DATABASE_URL", raising=False)

    result = CliRunner().invoke(cli.cli, ["volume", "list"])

    assert result.exit_code == 0
    assert result.stderr == f"Creating a new Hearth data directory at {tmp_path / 'hearth-data'}\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:guest@127.0.0.1:5672//", "amqp://guest:***@127.0.0.1:5672//"),
        ("redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        (
            "postgresql+psycopg://hearth:p%40ss@db/hearth",
            "postgresql+psycopg://hearth:***@db/hearth",
        ),
        ("https://user:token@example.org/disk.img", "https://user:***@example.org/disk.img"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
        ("memory://", "memory://"),
        ("http://user@example.org/x", "http://user@example.org/x"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url: str, shown: str) -> None:
    assert config.mask_url(url) == shown
