"""The progress bar of ``hearth volume create --wait``, drawn on stderr.

A thread polls the volume's row (its ``progress``, written by the create flow at most every
0.5 s) and redraws the bar until the create ends; rewire it to the bus later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from hearth.cli import output
from hearth.db import models, statuses
from hearth.service.facade import Hearth


@contextmanager
def progress_bar(
    hearth: Hearth, *, enabled: bool, interval: float = 0.2
) -> Iterator[Callable[[models.Volume], None] | None]:
    """Yields a callback for the created row; while the block runs, a thread redraws a bar
    on stderr from the row's ``progress``. Yields None when not ``enabled``."""
    if not enabled:
        yield None
        return
    done = threading.Event()
    watcher: list[threading.Thread] = []

    def draw(volume_id: str) -> None:
        while not done.wait(interval):
            _draw_bar(hearth.get_volume(volume_id))
        _draw_bar(hearth.get_volume(volume_id))  # how it ended
        click.echo(err=True)

    def watch(volume: models.Volume) -> None:
        watcher.append(threading.Thread(target=draw, args=(volume.id,), daemon=True))
        watcher[0].start()

    try:
        yield watch
    finally:
        done.set()
        for thread in watcher:
            thread.join()


def _draw_bar(volume: models.Volume, width: int = 30) -> None:
    progress = volume.progress or {}
    total = int(progress.get("total") or 0)
    filled = width * int(progress.get("done", 0)) // total if total else 0
    if volume.status == statuses.VolumeStatus.AVAILABLE:
        filled = width
    bar = "#" * filled + "." * (width - filled)
    text = output.progress_text(volume.progress) or volume.status
    click.echo(f"\r[{bar}] {text:<40}", nl=False, err=True)
