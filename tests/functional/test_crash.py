"""Crash safety under real SIGKILLs (issue 6): the fault-injection harness of ``tests/crash``.

A volume manager runs in a subprocess and is killed at task boundaries of the create flow
and at random points inside its data copies (sparse copy, ``qemu-img convert``, image cache
population); after each kill it restarts, and within 30 s every volume must be
``available`` with the right bytes or ``error`` with a message, with no orphan file, no
temporary file, no capacity drift and a clean audit. The CI form makes 20 kills; the slow
form (``pytest -m slow``, and ``benchmarks/crash.py``) 200. The seed is in the failure.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.brokers import broker_problem
from tests.conftest import require
from tests.crash import harness


def run_kills(tmp_path: Path, kills: int) -> harness.Report:
    problem = broker_problem(harness.DEFAULT_BUS)
    require(problem is None, problem or "")
    require(shutil.which("qemu-img") is not None, "qemu-img (qemu-utils) is not installed")
    run = harness.Harness(tmp_path, seed=random.randrange(1 << 32), bus_url=harness.DEFAULT_BUS)
    try:
        run.open()
        return run.run(kills)
    finally:
        run.close()


def test_twenty_kills_leave_every_volume_available_with_its_bytes_or_in_error(
    tmp_path: Path,
) -> None:
    report = run_kills(tmp_path, 20)
    assert report.violations == [], "\n".join(report.lines())
    assert report.kills >= 20
    assert report.stuck == report.orphans == 0


@pytest.mark.slow
def test_two_hundred_kills_leave_every_volume_available_with_its_bytes_or_in_error(
    tmp_path: Path,
) -> None:
    report = run_kills(tmp_path, 200)
    assert report.violations == [], "\n".join(report.lines())
    assert report.kills >= 200


def test_a_kill_between_any_two_transactions_of_a_create_is_recovered(tmp_path: Path) -> None:
    """A raw create commits three times (journal ``started`` with ``create.start``,
    ``made``, ``available`` with ``create.end``), each inside one task: a kill at every
    task state change (RUNNING before, SUCCESS after each task) falls between each pair of
    them, and before the first and after the last."""
    problem = broker_problem(harness.DEFAULT_BUS)
    require(problem is None, problem or "")
    require(shutil.which("qemu-img") is not None, "qemu-img (qemu-utils) is not installed")
    run = harness.Harness(
        tmp_path, seed=random.randrange(1 << 32), bus_url=harness.DEFAULT_BUS, chain=0.0
    )
    try:
        run.open()
        killed = [
            n
            for n in range(1, harness.TASK_TRANSITIONS + 1)
            if run.round_at(["raw"], {"at": "task", "n": n})
        ]
        report = run.report
    finally:
        run.close()
    assert report.violations == [], "\n".join(report.lines())
    # the last change (the finish's SUCCESS) may come after the harness saw the volume
    # settle and disarmed: every earlier one must have killed
    assert set(range(1, harness.TASK_TRANSITIONS)) <= set(killed)
    assert report.available == len(killed)  # every killed create recovered to available
