"""The backend audit on a file backend seeded with every kind of disagreement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hearth import cli
from hearth.db import backends, models, volumes
from hearth.service.facade import Hearth
from tests.conftest import make_settings, open_hearth


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def hearth(data_dir: Path) -> Iterator[Hearth]:
    opened = open_hearth(make_settings(data_dir))
    yield opened
    opened.close()


def backend_dir(hearth: Hearth) -> Path:
    return hearth.services.settings.backend_directory("local")


def seed(hearth: Hearth) -> dict[str, str]:
    """Volumes and files that disagree with each other in every way the audit knows."""
    kept = hearth.create_volume(size=1, name="kept")
    hearth.create_snapshot(kept.id)
    lost = hearth.create_volume(size=2, name="lost")
    hearth.volume_path(lost.id).unlink()  # the disk lost it
    deleting = hearth.create_volume(size=1, name="half-deleted")
    stuck = hearth.create_volume(size=1, name="stuck")
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, deleting.id, "deleting")
        volumes.set_status(session, stuck.id, "extending")
        volumes.get(session, stuck.id).updated_at = models.utcnow() - timedelta(hours=1)
        backends.claim(session, "local", 7)  # claims drifted
    hearth.volume_path(deleting.id).unlink()  # the delete removed the data, then crashed
    orphan = str(uuid.uuid4())
    (backend_dir(hearth) / "volumes" / f"volume-{orphan}").write_bytes(b"x" * 4096)
    orphan_snap = str(uuid.uuid4())
    (backend_dir(hearth) / "snapshots" / f"snapshot-{orphan_snap}").write_bytes(b"y")
    return {
        "kept": kept.id,
        "lost": lost.id,
        "deleting": deleting.id,
        "stuck": stuck.id,
        "orphan": orphan,
        "orphan_snap": orphan_snap,
    }


def kinds(findings: list) -> set[tuple[str, str | None]]:  # type: ignore[type-arg]
    return {(f.kind, f.resource_id) for f in findings}


def test_the_audit_reports_every_disagreement_and_changes_nothing(hearth: Hearth) -> None:
    ids = seed(hearth)

    found = hearth.audit()

    assert kinds(found) == {
        ("orphan volume", ids["orphan"]),
        ("orphan snapshot", ids["orphan_snap"]),
        ("missing volume data", ids["lost"]),
        ("missing volume data", ids["deleting"]),
        ("unfinished", ids["stuck"]),
        ("capacity drift", None),
    }
    assert not any(f.fixed for f in found)
    drift = next(f for f in found if f.kind == "capacity drift")
    assert drift.detail == "12 GiB claimed, its volumes hold 5 GiB"
    assert (backend_dir(hearth) / "volumes" / f"volume-{ids['orphan']}").exists()
    assert hearth.get_volume(ids["lost"]).status == "available"


def test_audit_fix_repairs_them_and_a_second_audit_finds_nothing(
    hearth: Hearth, data_dir: Path
) -> None:
    ids = seed(hearth)
    hearth.close()  # the stuck extend is reconciled by its backend's manager on start
    hearth = open_hearth(make_settings(data_dir))
    try:
        fixed = hearth.audit(fix=True)

        assert all(f.fixed for f in fixed)
        assert hearth.audit() == []
        assert not (backend_dir(hearth) / "volumes" / f"volume-{ids['orphan']}").exists()
        assert not (backend_dir(hearth) / "snapshots" / f"snapshot-{ids['orphan_snap']}").exists()
        lost = hearth.get_volume(ids["lost"])
        assert (lost.status, lost.host) == ("error", None)
        [message] = hearth.list_messages(resource_id=ids["lost"])
        assert message.message == (
            "Failed to keep the data: The storage backend no longer holds the data of "
            f"volume {ids['lost']}."
        )
        assert [v.id for v in hearth.list_volumes() if v.id == ids["deleting"]] == []
        assert hearth.get_volume(ids["stuck"]).status == "available"
        with hearth.services.db.read() as session:
            assert backends.get(session, "local").allocated_capacity_gb == 2  # kept + stuck
    finally:
        hearth.close()


def test_the_audit_command_exits_1_while_findings_remain(hearth: Hearth, data_dir: Path) -> None:
    seed(hearth)
    hearth.close()
    runner = CliRunner()

    report = runner.invoke(cli.cli, ["--data-dir", str(data_dir), "backend", "audit"])
    repair = runner.invoke(cli.cli, ["--data-dir", str(data_dir), "backend", "audit", "--fix"])
    again = runner.invoke(cli.cli, ["--data-dir", str(data_dir), "backend", "audit"])

    assert report.exit_code == 1
    assert "orphan volume" in report.stdout
    assert repair.exit_code == 0, repair.output
    assert again.exit_code == 0, again.output


def test_image_cache_entries_are_not_orphans(hearth: Hearth, tmp_path: Path) -> None:
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"boot sector".ljust(1 << 20, b"\0"))
    image = hearth.create_image("disk", disk_format="raw", file=raw)
    volume = hearth.create_volume(size=1, image_id=image.id)
    assert volume.status == "available"
    assert len(hearth.list_image_cache()) == 1

    assert hearth.audit(fix=True) == []

    assert len(hearth.list_image_cache()) == 1
    assert hearth.create_volume(size=1, image_id=image.id).status == "available"
