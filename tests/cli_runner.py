"""Running the ``hearth`` CLI in-process on a test's data directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from hearth import cli


def runner_for(data_dir: Path) -> Callable[..., Result]:
    """``invoke(*args)``: ``hearth --data-dir DATA_DIR *args``, its result. The directory
    is made first, so no command says it is creating a new one (``test_cli_habits`` tests
    that line on a directory that does not exist)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli.cli, ["--data-dir", str(data_dir), *args])

    return invoke


def as_json(result: Result) -> Any:
    """The JSON a successful ``--format json`` command printed."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
