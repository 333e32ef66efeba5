"""The CLI says what it waits for, and gives up in time: ``hearth`` commands beside a
deployment on RabbitMQ whose scheduler and volume manager are not running."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kombu.connection import Connection

from hearth import config
from hearth.db import backends, models
from hearth.service.facade import Hearth
from tests.brokers import broker_problem
from tests.cli_runner import runner_for
from tests.conftest import require

BROKER = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace of its own on the broker, its queues deleted afterwards."""
    problem = broker_problem(BROKER)
    require(problem is None, problem or "")
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    with Connection(BROKER) as connection:
        channel = connection.channel()
        for queue in (f"{name}.scheduler", f"{name}.volume.local"):
            channel.queue_delete(queue)
        channel.exchange_delete(name)


@pytest.fixture
def data_dir(tmp_path: Path, namespace: str) -> Path:
    """A data directory whose config points at the broker; the CLI serves nothing there."""
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "hearth.toml").write_text(
        f'[bus]\nurl = "{BROKER}"\nnamespace = "{namespace}"\n'
        "[scheduler]\nbackend_down_after = 30.0\n"
        "[service]\nwait_timeout_seconds = 6.0\n"
        '[notifications]\ndrivers = ["memory"]\n'
    )
    return directory


def test_a_create_nobody_places_says_it_waits_for_the_scheduler_then_gives_up(
    data_dir: Path,
) -> None:
    result = runner_for(data_dir)("volume", "create", "--size", "1", "--name", "stuck")

    assert result.exit_code == 1
    told, failed = result.stderr.splitlines()  # told once, not at every look
    assert told == "waiting for the scheduler"
    assert re.fullmatch(
        r"Error: Gave up after 6 s waiting for volume \S+, still 'creating' \(waiting for the "
        r"scheduler\); the work goes on: show the volume later\.",
        failed,
    ), result.stderr


def test_a_delete_on_a_stopped_backend_names_it_and_when_it_was_last_seen(
    data_dir: Path,
) -> None:
    settings = config.load(data_dir=data_dir, environ={})
    served = Hearth.open(settings=settings, serve=True)  # a scheduler and manager, then none
    try:
        volume = served.create_volume(size=1)
    finally:
        served.close()
    with served.services.db.transaction() as session:
        backends.get(session, "local").reported_at = models.utcnow() - timedelta(seconds=40)

    result = runner_for(data_dir)("volume", "delete", volume.id)

    assert result.exit_code == 1
    told, failed = result.stderr.splitlines()
    assert re.fullmatch(r"waiting for backend local, last seen 4\d s ago", told), told
    assert failed.startswith(f"Error: Gave up after 6 s waiting for volume {volume.id}, still ")
    assert "'deleting' (waiting for backend local, last seen 4" in failed


def test_the_progress_bar_shows_what_the_create_waits_for(data_dir: Path) -> None:
    result = runner_for(data_dir)("volume", "create", "--size", "1", "--wait")

    assert result.exit_code == 1
    assert "] waiting for the scheduler" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: Gave up after 6 s waiting for")
