"""``hearth volume attach | detach | attachment list/show`` on the real file backend, with a
``local`` connection (no target configured)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import as_json, runner_for


@pytest.fixture
def run(tmp_path: Path) -> Any:
    return runner_for(tmp_path / "data")


def test_attach_prints_a_local_connection_and_detach_makes_the_volume_available(run: Any) -> None:
    volume = as_json(run("-f", "json", "volume", "create", "--size", "1", "--name", "v1"))

    attached = as_json(run("-f", "json", "volume", "attach", "v1", "--local"))

    assert attached["status"] == "attached"
    assert attached["driver_volume_type"] == "local"
    device = Path(attached["connection_info"]["device_path"])
    assert device == Path(run("volume", "path", "v1").stdout.strip())
    assert as_json(run("-f", "json", "volume", "show", "v1"))["status"] == "in-use"
    [listed] = as_json(run("-f", "json", "volume", "attachment", "list", "--volume", "v1"))
    assert listed["id"] == attached["id"]
    shown = as_json(run("-f", "json", "volume", "attachment", "show", attached["id"]))
    assert shown["connection_info"] == attached["connection_info"]
    table = run("volume", "attachment", "list")
    assert attached["id"] in table.stdout and "local" in table.stdout

    refused = run("volume", "delete", "v1")
    assert refused.exit_code == 1
    assert "in-use" in refused.stderr

    assert run("volume", "detach", attached["id"]).exit_code == 0
    assert as_json(run("-f", "json", "volume", "show", volume["id"]))["status"] == "available"
    assert as_json(run("-f", "json", "volume", "attachment", "list")) == []


def test_detaching_an_unknown_attachment_is_one_line_and_exit_1(run: Any) -> None:
    result = run("volume", "detach", "no-such-attachment")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: Attachment no-such-attachment could not be found."
