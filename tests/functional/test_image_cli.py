"""Images from the shell: upload, list, show, create a volume with a progress bar, the
cache, delete; refusals print one line and exit 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import images as test_images
from tests.cli_runner import as_json, runner_for
from tests.images import GiB


@pytest.fixture
def run(tmp_path: Path) -> Any:
    return runner_for(tmp_path / "data")


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return test_images.known_raw(tmp_path / "disk.raw")


def upload(run: Any, path: Path, disk_format: str, name: str, *options: str) -> Any:
    command = ["image", "create", "--file", str(path), "--disk-format", disk_format, *options]
    return as_json(run("--format", "json", *command, name))


def test_an_image_becomes_volumes_from_the_shell(run: Any, raw: Path) -> None:
    qcow2 = test_images.made_as(raw, "qcow2", raw.with_name("disk.qcow2"))
    image = upload(run, qcow2, "qcow2", "cirros", "--min-disk", "1", "--property", "os=linux")
    assert (image["status"], image["disk_format"], image["properties"]) == (
        "active",
        "qcow2",
        {"os": "linux"},
    )
    assert [i["name"] for i in as_json(run("--format", "json", "image", "list"))] == ["cirros"]
    assert as_json(run("--format", "json", "image", "show", "cirros"))["id"] == image["id"]

    created = run("--format", "json", "volume", "create", "--image", "cirros", "--wait")

    volume = as_json(created)
    assert "[" + "#" * 30 + "] available" in created.stderr
    assert (volume["status"], volume["bootable"], volume["image_id"]) == (
        "available",
        True,
        image["id"],
    )
    assert volume["image_metadata"]["image_name"] == "cirros"
    path = Path(run("volume", "path", volume["id"]).stdout.strip())
    assert test_images.holds_image(path, raw, GiB)
    shown = run("volume", "show", volume["id"])
    assert "image_metadata" in shown.stdout and "cirros" in shown.stdout


def test_the_image_cache_is_listed_and_cleared_from_the_shell(run: Any, raw: Path) -> None:
    upload(run, raw, "raw", "d")
    as_json(run("--format", "json", "volume", "create", "--image", "d"))
    [entry] = as_json(run("--format", "json", "image", "cache", "list"))
    assert (entry["backend"], entry["status"], entry["in_use"]) == ("local", "ready", 0)
    assert as_json(run("--format", "json", "volume", "list"))[0]["id"] != entry["id"]

    cleared = run("image", "cache", "clear")

    assert cleared.stdout == "evicted 1 entries\n"
    assert as_json(run("--format", "json", "image", "cache", "list")) == []
    assert run("image", "delete", "d").exit_code == 0
    assert as_json(run("--format", "json", "image", "list")) == []


def test_a_hostile_upload_prints_one_line_and_exits_1(run: Any, tmp_path: Path) -> None:
    hostile = test_images.with_backing_file(tmp_path / "evil.qcow2")

    result = run("image", "create", "--file", str(hostile), "--disk-format", "qcow2", "evil")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Image ")
    assert result.stderr.endswith("was rejected as unsafe: it has a backing file.\n")
    assert as_json(run("--format", "json", "image", "list")) == []


def test_an_image_needs_exactly_one_of_file_and_url(run: Any) -> None:
    result = run("image", "create", "--disk-format", "raw", "nothing")

    assert result.exit_code == 2
    assert "exactly one of --file or --url" in result.output
