"""``qemu-img`` dies with the process that started it: a volume manager killed mid-conversion
leaves no conversion running (found by the crash harness, ``tests/crash``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import os, signal, sys, threading, time
from hearth.image import qemu
qemu.QEMU_IMG = "sleep"  # stands for a long qemu-img convert
threading.Thread(target=qemu.run, args=(["300"],), kwargs={"image_id": "i"}).start()
time.sleep(1.0)
tasks = f"/proc/{os.getpid()}/task"
children = [c for t in os.listdir(tasks) for c in open(f"{tasks}/{t}/children").read().split()]
print(" ".join(children), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_callers_qemu_img_is_killed_with_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    [pid] = [int(child) for child in done.stdout.split()]
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
