"""What a waiting command shows on stderr: the ``--wait`` progress bar of ``hearth volume
create``, and what every wait is waiting for when nothing moves its work.

The commands that change volumes and snapshots wait for the work to end (the facade's
``wait=True``, bounded by ``[service] wait_timeout_seconds``). While they wait, a thread
polls the row: with ``--wait`` it redraws the bar from the row's ``progress`` (written by the
create flow at most every 0.5 s); when the row is stuck -- not placed ("waiting for the
scheduler") or on a backend that stopped reporting ("waiting for backend bulk, last seen
40 s ago", ``Hearth.waiting_for``) -- it says so: in the bar's place, else on a line of its
own, redrawn in place on a terminal and written again only when it names something else.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from hearth.cli import output
from hearth.db import models, statuses
from hearth.service import watch
from hearth.service.facade import Hearth

GRACE = 3.0
"""Seconds a row may wait for the scheduler or a silent backend before a command says so
(placing takes milliseconds while the scheduler runs; a loaded machine may take a second)."""

Follow = Callable[[watch.Kind, str], None]
"""``follow(kind, row_id)``: show what this row's work waits for, from now to the end."""


@contextmanager
def waiting(
    hearth: Hearth, *, bar: bool = False, interval: float | None = None, grace: float = GRACE
) -> Iterator[Follow]:
    """Yields ``follow``; once called, a thread shows on stderr, until the block ends, the
    progress bar of the followed volume when ``bar``, and what its work waits for when
    nothing moves it for ``grace`` seconds. It looks every ``interval`` seconds (default
    0.2 with the bar, else 0.5)."""
    every = interval if interval is not None else 0.2 if bar else 0.5
    done = threading.Event()
    threads: list[threading.Thread] = []

    def follow(kind: watch.Kind, row_id: str) -> None:
        screen = _Screen(hearth, kind, row_id, bar=bar, grace=grace)
        threads.append(threading.Thread(target=screen.run, args=(done, every), daemon=True))
        threads[-1].start()

    try:
        yield follow
    finally:
        done.set()
        for thread in threads:
            thread.join()


def on_created(follow: Follow) -> Callable[[models.Volume], None]:
    """The facade's ``on_created`` callback that follows the new volume."""
    return lambda volume: follow("volume", volume.id)


class _Screen:
    """What one waiting command draws on stderr for one row."""

    def __init__(
        self, hearth: Hearth, kind: watch.Kind, row_id: str, *, bar: bool, grace: float
    ) -> None:
        self._hearth = hearth
        self._kind = kind
        self._row_id = row_id
        self._bar = bar
        self._since = time.monotonic() + grace
        self._told: watch.Blocker | None = None
        self._on_line = False  # the cursor is after a line drawn with \r

    def run(self, done: threading.Event, interval: float) -> None:
        while not done.wait(interval):
            self._draw()
        if self._bar:
            _draw_bar(self._hearth.get_volume(self._row_id), None)  # how it ended
        if self._on_line or self._bar:
            click.echo(err=True)

    def _draw(self) -> None:
        blocker = None
        if time.monotonic() >= self._since:
            blocker = self._hearth.waiting_for(self._kind, self._row_id)
        if self._bar:
            _draw_bar(self._hearth.get_volume(self._row_id), blocker)
        elif blocker is not None:
            self._tell(blocker)

    def _tell(self, blocker: watch.Blocker) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{blocker!s:<60}", nl=False, err=True)
            self._on_line = True
        elif self._told is None or self._told.backend != blocker.backend:
            click.echo(str(blocker), err=True)
        self._told = blocker


def _draw_bar(volume: models.Volume, blocker: watch.Blocker | None, width: int = 30) -> None:
    progress = volume.progress or {}
    total = int(progress.get("total") or 0)
    filled = width * int(progress.get("done", 0)) // total if total else 0
    if volume.status == statuses.VolumeStatus.AVAILABLE:
        filled = width
    bar = "#" * filled + "." * (width - filled)
    text = str(blocker) if blocker else output.progress_text(volume.progress) or volume.status
    click.echo(f"\r[{bar}] {text:<40}", nl=False, err=True)
