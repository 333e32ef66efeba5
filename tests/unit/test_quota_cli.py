"""``hearth quota show | set | check`` on a data directory."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from hearth.db import models
from hearth.service.facade import Hearth
from tests.cli_runner import as_json, runner_for


def test_quota_set_show_and_check_on_a_data_directory(tmp_path: Path) -> None:
    invoke = runner_for(tmp_path / "data")
    assert invoke("volume", "create", "--size", "2", "--name", "first").exit_code == 0
    limits = as_json(invoke("-f", "json", "quota", "set", "admin", "--limit", "volumes=5"))
    assert {"resource": "volumes", "limit": 5} in limits
    shown = {row["resource"]: row for row in as_json(invoke("-f", "json", "quota", "show"))}
    assert shown["volumes"] == {"resource": "volumes", "limit": 5, "in_use": 1, "reserved": 0}
    assert shown["gigabytes"]["in_use"] == 2
    assert as_json(invoke("-f", "json", "quota", "check")) == []

    with (
        Hearth.open(tmp_path / "data", serve=False) as hearth,
        hearth.services.db.transaction() as session,
    ):
        session.execute(sa.update(models.QuotaUsage).values(in_use=0))
    drifted = invoke("quota", "check")
    assert drifted.exit_code == 1 and "gigabytes" in drifted.output
    assert invoke("quota", "check", "--sync").exit_code == 0
    assert invoke("quota", "check").exit_code == 0


def test_quota_set_refuses_a_bad_limit_naming_it(tmp_path: Path) -> None:
    invoke = runner_for(tmp_path / "data")
    bad = invoke("quota", "set", "admin", "--limit", "volumes=lots")
    assert bad.exit_code != 0 and "volumes" in bad.output
    unknown = invoke("quota", "set", "admin", "--limit", "apples=1")
    assert unknown.exit_code != 0 and "apples" in unknown.output
    malformed = invoke("quota", "set", "admin", "--limit", "volumes")
    assert malformed.exit_code != 0 and "RESOURCE=N" in malformed.output
