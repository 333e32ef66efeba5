"""Cost of an iSCSI attachment through tgtd, each figure against a baseline of this run.

Opens Hearth on a temporary data directory whose file backend exports through a tgtd it
supervises (free portal port on 127.0.0.1, its own control port; needs root and Debian
``tgt`` and ``qemu-block-extra``), makes a 1 GiB volume, attaches it with an initiator
name and completes the attachment. Then prints:

1. sequential 1 MiB writes, then reads, of ``--mib`` MiB with ``qemu-img bench`` (depth 8)
   through the iSCSI export (QEMU's user-space initiator, as a compute host would
   connect) against the same on the volume's raw file, cache=writeback (tgtd's ``rdwr``
   backing store goes through the page cache too) and cache=none (the disk itself);
2. attach+detach cycles per second (export with CHAP and ACL, connection_info, os-complete,
   unexport) against the same with a ``local`` connection (no target).

Seconds are min/median/max over ``--repeat`` runs; ratios compare medians.

    python benchmarks/attach.py [--mib 512] [--repeat 3] [--cycles 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hearth import config
from hearth.service.facade import Hearth

INITIATOR = "iqn.1993-08.org.debian:01:hearth-bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def timed(run: Callable[[], None], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def bench(target: list[str], count: int, write: bool) -> Callable[[], None]:
    """``qemu-img bench`` of ``count`` sequential 1 MiB requests on ``target``."""
    command = ["qemu-img", "bench", "-c", str(count), "-s", "1M", "-d", "8", *target]
    if write:
        command.insert(2, "-w")

    def run() -> None:
        subprocess.run(command, check=True, capture_output=True)

    return run


def image_opts(info: dict[str, Any]) -> list[str]:
    data = info["data"]
    opts = ",".join(
        [
            "driver=iscsi",
            "transport=tcp",
            f"portal={data['target_portal']}",
            f"target={data['target_iqn']}",
            f"lun={data['target_lun']}",
            f"user={data['auth_username']}",
            f"password={data['auth_password']}",
            f"initiator-name={INITIATOR}",
        ]
    )
    return ["--image-opts", opts]


def line(label: str, seconds: list[float], mib: int, baseline: float | None = None) -> float:
    median = statistics.median(seconds)
    rate = mib / median
    ratio = f"  x{median / baseline:.2f} of baseline" if baseline else ""
    print(
        f"  {label:<34} min {min(seconds):.3f} s  median {median:.3f} s  "
        f"max {max(seconds):.3f} s  ({rate:.0f} MiB/s){ratio}"
    )
    return median


def cycles(hearth: Hearth, volume_id: str, connector: dict[str, Any], count: int) -> float:
    """Attach+detach cycles per second."""
    start = time.perf_counter()
    for _ in range(count):
        made = hearth.create_attachment(volume_id, connector=connector)
        hearth.complete_attachment(made.id)
        hearth.delete_attachment(made.id)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="MiB per bench run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hearth-attach-bench-") as tmp:
        backend = {
            "target_helper": "tgtadm",
            "target_port": free_port(),
            "target_control_port": 20000 + os.getpid() % 10000,
            "target_supervise": True,
        }
        settings = config.load(
            data_dir=tmp,
            overrides={"backends": {"local": backend}, "notifications": {"drivers": []}},
            environ={},
        )
        with Hearth.open(settings=settings) as hearth:
            volume = hearth.create_volume(size=1, name="bench")
            path = str(hearth.volume_path(volume.id))
            made = hearth.create_attachment(
                volume.id, connector={"initiator": INITIATOR, "host": socket.gethostname()}
            )
            hearth.complete_attachment(made.id)
            assert made.connection_info is not None
            iscsi = image_opts(dict(made.connection_info))
            print(f"sequential 1 MiB requests, {args.mib} MiB per run, {args.repeat} runs")
            for write in (True, False):
                print("writes" if write else "reads")
                raw = ["-f", "raw", "-t", "writeback", path]
                direct = ["-f", "raw", "-t", "none", path]
                base = line(
                    "raw file, cache=writeback",
                    timed(bench(raw, args.mib, write), args.repeat),
                    args.mib,
                )
                line(
                    "raw file, cache=none",
                    timed(bench(direct, args.mib, write), args.repeat),
                    args.mib,
                    base,
                )
                line(
                    "iSCSI via tgtd (qemu initiator)",
                    timed(bench(iscsi, args.mib, write), args.repeat),
                    args.mib,
                    base,
                )
            hearth.delete_attachment(made.id)
            local = cycles(hearth, volume.id, {"host": socket.gethostname()}, args.cycles)
            over_iscsi = cycles(
                hearth, volume.id, {"initiator": INITIATOR, "host": "bench"}, args.cycles
            )
            print(f"attach+detach cycles ({args.cycles} each)")
            print(f"  local connection                  {local:.1f} cycles/s")
            print(
                f"  iSCSI export (tgtadm, CHAP, ACL)  {over_iscsi:.1f} cycles/s  "
                f"(a cycle takes x{local / over_iscsi:.2f} the time of a local one)"
            )
            hearth.delete_volume(volume.id)


if __name__ == "__main__":
    main()
