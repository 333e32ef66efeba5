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
