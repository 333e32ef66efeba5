"""A backup service that can be told to die: the process the backup crash test SIGKILLs.

``python -m tests.crash.backup_launcher SETTINGS PLAN`` serves the backup role
(``wiring.build(settings, roles={"backup"})``), as ``hearth serve --role backup`` does,
after wrapping a few functions of Hearth from the outside (test code; Hearth has no hook).
While the file PLAN holds a plan (JSON), the first wrapper whose point matches deletes the
file and SIGKILLs this process:

- ``{"at": "chunk", "after": N}``: once the backup stored N chunks (the temporary snapshot
  exists, no manifest yet);
- ``{"at": "manifest"}``: once the manifest is stored (the backup is complete), before its
  row says so;
- ``{"at": "restore", "after": N}``: once a restore wrote N chunks into its temporary file;
- ``{"at": "publish"}``: once a restore replaced the volume's file, before the rows say so;
- ``{"at": "delete"}``: once a delete removed the manifest, before the chunks are swept.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from hearth import config
from hearth.backup import chunks
from hearth.backup.drivers import posix
from hearth.backup_service import files
from hearth.service import wiring


class Plan:
    """The armed kill point, read from its file at each wrapped call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._lock = threading.Lock()

    def armed(self, at: str) -> dict[str, Any] | None:
        try:
            plan: dict[str, Any] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return plan if plan.get("at") == at else None

    def tick(self, at: str) -> None:
        """Count one event of point ``at``; die once the plan's ``after`` is reached."""
        plan = self.armed(at)
        if plan is None:
            return
        with self._lock:
            self.count += 1
            if self.count >= int(plan.get("after", 1)):
                self.path.unlink(missing_ok=True)
                sys.stderr.write(f"backup launcher: SIGKILL at {at} {self.count}\n")
                sys.stderr.flush()
                os.kill(os.getpid(), signal.SIGKILL)


def install(plan: Plan) -> None:
    real_put, real_delete = posix.PosixRepository.put, posix.PosixRepository.delete
    real_write, real_publish = chunks.write_sparse, files.publish

    def put(self: posix.PosixRepository, kind: Any, key: str, data: bytes) -> bool:
        stored = real_put(self, kind, key, data)
        plan.tick("chunk" if kind == "chunk" else "manifest")
        return stored

    def delete(self: posix.PosixRepository, kind: Any, key: str) -> None:
        real_delete(self, kind, key)
        if kind == "manifest":
            plan.tick("delete")

    def write_sparse(fd: int, data: bytes, offset: int) -> int:
        written = real_write(fd, data, offset)
        plan.tick("restore")
        return written

    def publish(temporary: Path, volume_file: Path, size_bytes: int) -> None:
        real_publish(temporary, volume_file, size_bytes)
        plan.tick("publish")

    posix.PosixRepository.put = put  # type: ignore[method-assign]
    posix.PosixRepository.delete = delete  # type: ignore[method-assign]
    chunks.write_sparse = write_sparse
    files.publish = publish


def main(argv: list[str]) -> None:
    settings_file, plan_file = Path(argv[0]), Path(argv[1])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
    )
    install(Plan(plan_file))
    values = json.loads(settings_file.read_text())
    settings = config.load(data_dir=values["data_dir"], overrides=values, environ={})
    services = wiring.build(settings, roles={"backup"})
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    services.start()
    sys.stderr.write("backup launcher: serving\n")
    sys.stderr.flush()
    try:
        stopping.wait()
    finally:
        services.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
