"""A volume manager that can be told to die: the process the crash harness SIGKILLs.

``python -m tests.crash.launcher SETTINGS PLAN`` (SETTINGS: a JSON file of settings) serves
the volume role of every configured backend (``wiring.build(settings, roles={"volume"})``),
as ``hearth serve --role volume`` does, after wrapping a few functions of Hearth from the
outside. Hearth itself has no fault-injection hook: this module is test code.

The wrappers do nothing while the file PLAN is absent. When it holds a plan (JSON, written
by ``tests.crash.harness``), the first wrapper whose point matches deletes the file and
sends SIGKILL to this process -- no graceful shutdown, no ``finally`` blocks, no flush:

- ``{"at": "task", "n": N}``: the Nth state change of a create flow's tasks (TaskFlow's
  atom notifier: RUNNING before ``execute``, SUCCESS after it; also the reverts);
- ``{"at": "copy", "after": B}``: inside the sparse copy of a clone (or of a migration to
  another backend), once B bytes are copied;
- ``{"at": "reflink", "before": bool}``: just before or after a reflink clone;
- ``{"at": "convert", "percent": P}``: while ``qemu-img convert`` runs, once it reports P%
  (P = 100: after it ended, before the file is fsynced and published);
- ``{"at": "cache_filled"}``: after an image-volume cache entry was filled, before it is
  marked ready;
- ``{"at": "restore", "after": K}``: in a restore from a backup, once K chunks were
  written into the new volume's file.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hearth import config, copying
from hearth.backup import chunks
from hearth.image import cache, convert, qemu
from hearth.service import wiring
from hearth.volume.flows import engine

LOG = logging.getLogger("tests.crash.launcher")


class Plan:
    """The kill point the harness armed, read from a file each time a wrapper asks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._token: str | None = None
        self.transitions = 0
        self.copied = 0
        self.chunks = 0

    def current(self, at: str) -> dict[str, Any] | None:
        """The armed plan if it is for point ``at``; counting restarts with each plan."""
        try:
            plan: dict[str, Any] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        with self._lock:
            if plan.get("token") != self._token:
                self._token = plan.get("token")
                self.transitions = self.copied = self.chunks = 0
        return plan if plan.get("at") == at else None

    def die(self, where: str) -> None:
        """Disarm (so the restarted manager runs clean), then die at once."""
        with self._lock:
            self.path.unlink(missing_ok=True)
            sys.stderr.write(f"crash launcher: SIGKILL at {where}\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def count_transition(self) -> int:
        with self._lock:
            self.transitions += 1
            return self.transitions


def install(plan: Plan) -> None:
    """Wrap Hearth's functions at the kill points (see the module docstring)."""
    _wrap_engine(plan)
    _wrap_copies(plan)
    _wrap_conversion(plan)
    _wrap_cache(plan)
    _wrap_restore(plan)


def _wrap_engine(plan: Plan) -> None:
    real_load = engine.load

    def load(flow: Any, store: dict[str, Any]) -> Any:
        loaded = real_load(flow, store)

        def on_task(state: str, details: dict[str, Any]) -> None:
            armed = plan.current("task")
            if armed is not None and plan.count_transition() >= int(armed["n"]):
                plan.die(f"task {details.get('task_name')} {state}")

        loaded.atom_notifier.register("*", on_task)
        return loaded

    engine.load = load


def _wrap_copies(plan: Plan) -> None:
    real_range = copying._copy_range
    real_reflink = copying.reflink

    def copy_range(src_fd: int, dst_fd: int, start: int, end: int) -> int:
        armed = plan.current("copy")
        if armed is None:
            return real_range(src_fd, dst_fd, start, end)
        left = max(0, int(armed["after"]) - plan.copied)
        if left < end - start:
            if left:
                real_range(src_fd, dst_fd, start, start + left)
            plan.die(f"copy after {plan.copied + left} bytes")
        plan.copied += end - start
        return real_range(src_fd, dst_fd, start, end)

    def reflink(src_fd: int, dst_fd: int) -> None:
        armed = plan.current("reflink")
        if armed is not None and armed.get("before"):
            plan.die("reflink, before")
        real_reflink(src_fd, dst_fd)
        if armed is not None:
            plan.die("reflink, after")

    copying._copy_range = copy_range
    copying.reflink = reflink


def _wrap_conversion(plan: Plan) -> None:
    real_run = qemu.run
    real_flush = convert._flush

    def run(args: Any, *, on_output: Callable[[str], None] | None = None, **kwargs: Any) -> str:
        armed = plan.current("convert") if args and args[0] == "convert" else None
        if armed is None or armed["percent"] >= 100:
            return real_run(args, on_output=on_output, **kwargs)
        parse = convert._PERCENT

        def watch(text: str) -> None:
            match = parse.search(text)
            if match and float(match.group(1)) >= float(armed["percent"]):
                plan.die(f"qemu-img convert at {match.group(1)}%")
            if on_output is not None:
                on_output(text)

        return real_run(args, on_output=watch, **kwargs)

    def flush(target: Path) -> None:
        armed = plan.current("convert")
        if armed is not None and armed["percent"] >= 100:
            plan.die("qemu-img convert done, before fsync")
        real_flush(target)

    qemu.run = run
    convert._flush = flush


def _wrap_cache(plan: Plan) -> None:
    real_populate = cache.ImageVolumeCache._populate

    def populate(self: cache.ImageVolumeCache, image: Any, fill: cache.Fill) -> cache.EntryRef:
        def filled(entry: cache.EntryRef) -> None:
            fill(entry)
            if plan.current("cache_filled") is not None:
                plan.die("image cache entry filled, not ready")

        return real_populate(self, image, filled)

    cache.ImageVolumeCache._populate = populate  # type: ignore[method-assign]


def _wrap_restore(plan: Plan) -> None:
    real_write = chunks.write_sparse

    def write_sparse(fd: int, data: bytes, offset: int) -> int:
        armed = plan.current("restore")
        if armed is not None:
            with plan._lock:
                plan.chunks += 1
                written = plan.chunks
            if written > int(armed["after"]):
                plan.die(f"restore after {written - 1} chunks")
        return real_write(fd, data, offset)

    chunks.write_sparse = write_sparse


def main(argv: list[str]) -> None:
    settings_file, plan_file = Path(argv[0]), Path(argv[1])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
    )
    install(Plan(plan_file))
    values = json.loads(settings_file.read_text())
    settings = config.load(data_dir=values["data_dir"], overrides=values, environ={})
    services = wiring.build(settings, roles={"volume"})
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    services.start()
    sys.stderr.write("crash launcher: serving\n")
    sys.stderr.flush()
    try:
        stopping.wait()
    finally:
        services.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
